/*
Copyright The fedhub Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/test/framework"
)

const (
	loadNamespace = "load-e2e"
	loadClients   = 50
	loadDuration  = 20 * time.Second
	// loadLivePerClient bounds the objects one client keeps, so that what
	// the members must converge to stays bounded on a slow machine.
	loadLivePerClient = 10
	// loadConflictRetries bounds the Get-and-retry rounds of one update.
	loadConflictRetries = 5
	// loadSettleDeadline bounds each wait after the load: for deleted
	// objects to go from fedhub, then for the members to match.
	loadSettleDeadline = 3 * time.Minute
)

// outcome classifies the answer to one request.
type outcome int

const (
	succeeded    outcome = iota
	conflicted           // 409
	refused              // any other 4xx
	serverFailed         // 5xx
	unanswered           // no HTTP answer: a transport error
	outcomeCount
)

// loadClient is one of the concurrent clients: its own connection, its own
// objects, and what it believes about them from the answers it got.
type loadClient struct {
	id        int
	resource  dynamic.ResourceInterface
	placement []any
	created   int
	// live holds the objects the client created and has not deleted, as the
	// last answer returned them, with the data last written.
	live map[string]*liveObject
	// uncertain names objects a request left in an unknown state (5xx or no answer).
	uncertain []string
	loadCounts
	// problems are the first few answers that should not have come.
	problems []string
}

// loadCounts count requests by verb and by outcome.
type loadCounts struct {
	creates, updates, deletes, gets int
	outcomes                        [outcomeCount]int
}

func (c *loadCounts) add(other loadCounts) {
	c.creates += other.creates
	c.updates += other.updates
	c.deletes += other.deletes
	c.gets += other.gets
	for o, n := range other.outcomes {
		c.outcomes[o] += n
	}
}

func (c loadCounts) requests() int {
	return c.creates + c.updates + c.deletes + c.gets
}

type liveObject struct {
	object *unstructured.Unstructured
	data   map[string]string
}

// TestConcurrentClientsLoseNothing runs 50 clients through the host's
// aggregated path for a bounded time, each creating, updating and deleting
// its own FederatedConfigMaps placed on every member. No request may fail on
// the server's side, fedhub must then hold exactly what the clients were told
// it holds, and the members must converge to exactly that.
func TestConcurrentClientsLoseNothing(t *testing.T) {
	f := sharedFederation(t)
	host := hostKubeconfig()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps")
	mustKubectlAs(t, host, "create", "namespace", loadNamespace)
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", loadNamespace, "--wait=false") })
	var placement []any
	var clusterEntries []string
	for _, member := range f.Members {
		placement = append(placement, map[string]any{"name": member.Name})
		clusterEntries = append(clusterEntries, "{name: "+member.Name+"}")
	}
	mustApplyAs(t, nil, federatedNamespace(loadNamespace, "clusters: ["+strings.Join(clusterEntries, ", ")+"]"))
	ctx := context.Background()
	for _, member := range f.Members {
		eventually(t, member.Name+" has the namespace", func() (string, bool) {
			_, err := member.Client.CoreV1().Namespaces().Get(ctx, loadNamespace, metav1.GetOptions{})
			return fmt.Sprint(err), err == nil
		}, "")
	}

	clients := make([]*loadClient, loadClients)
	for i := range clients {
		clients[i] = newLoadClient(t, host, i, placement)
	}
	started := time.Now()
	until := started.Add(loadDuration)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(ctx, until) })
	}
	wg.Wait()
	elapsed := time.Since(started)

	var total loadCounts
	var problems []string
	// believed maps every object the clients were told exists to its data.
	believed := map[string]map[string]string{}
	uncertain := map[string]bool{}
	for _, c := range clients {
		total.add(c.loadCounts)
		problems = append(problems, c.problems...)
		for name, live := range c.live {
			believed[name] = live.data
		}
		for _, name := range c.uncertain {
			uncertain[name] = true
		}
	}
	requests := total.requests()
	t.Logf("load: %d clients, %s, %d requests at %.0f/s (%d creates, %d updates, %d deletes, %d gets after conflicts): "+
		"%d ok, %d 409 conflicts, %d other 4xx, %d 5xx, %d transport errors; %d objects remain",
		loadClients, elapsed.Round(time.Second), requests, float64(requests)/elapsed.Seconds(),
		total.creates, total.updates, total.deletes, total.gets,
		total.outcomes[succeeded], total.outcomes[conflicted], total.outcomes[refused], total.outcomes[serverFailed], total.outcomes[unanswered],
		len(believed))
	if total.outcomes[serverFailed] != 0 || total.outcomes[unanswered] != 0 {
		t.Errorf("%d requests failed on the server's side and %d got no answer", total.outcomes[serverFailed], total.outcomes[unanswered])
	}
	// With its own names and the administrator's rights, a client has no
	// reason to be refused: a 404 would mean an object was lost.
	if total.outcomes[refused] != 0 {
		t.Errorf("%d requests were refused", total.outcomes[refused])
	}
	for _, problem := range problems {
		t.Error(problem)
	}
	if len(believed) == 0 || total.updates == 0 || total.deletes == 0 {
		t.Fatalf("the load did not exercise every verb: %d objects remain, %d updates, %d deletes", len(believed), total.updates, total.deletes)
	}

	admin, err := dynamic.NewForConfig(f.Host.AdminConfig)
	if err != nil {
		t.Fatal(err)
	}
	configMaps := admin.Resource(federatedConfigMaps).Namespace(loadNamespace)
	t.Run("fedhub holds what the clients were told", func(t *testing.T) {
		// A deleted object stays until the propagation controller has
		// removed it from the members and released its finalizer.
		settling := time.Now()
		_, terminating := fedhubDifferences(ctx, t, configMaps, believed, uncertain)
		eventuallyWithin(t, loadSettleDeadline, "fedhub lets go of the deleted objects", func() (string, bool) {
			_, terminating := fedhubDifferences(ctx, t, configMaps, believed, uncertain)
			return fmt.Sprintf("%d being deleted", len(terminating)), len(terminating) == 0
		}, "")
		t.Logf("%d deleted objects were being finalized when the load stopped, gone after %s", len(terminating), time.Since(settling).Round(time.Second))
		differences, _ := fedhubDifferences(ctx, t, configMaps, believed, uncertain)
		for _, difference := range firstOf(differences, 20) {
			t.Error(difference)
		}
		if len(differences) > 20 {
			t.Errorf("and %d more differences", len(differences)-20)
		}
	})

	t.Run("every member converges to exactly those ConfigMaps", func(t *testing.T) {
		converging := time.Now()
		for _, member := range f.Members {
			var last []string
			err := wait.PollUntilContextTimeout(ctx, time.Second, loadSettleDeadline, true, func(ctx context.Context) (bool, error) {
				last = memberDifferences(ctx, member, believed, uncertain)
				return len(last) == 0, nil
			})
			if err != nil {
				t.Errorf("%s did not converge within %s; %d differences, first: %v", member.Name, loadSettleDeadline, len(last), firstOf(last, 10))
			}
		}
		t.Logf("the members matched %s after fedhub had settled", time.Since(converging).Round(time.Second))
	})
}

// newLoadClient gives each client its own connection, as separate programs
// would have: client-go shares one transport between configs that differ in
// nothing, unless each has its own dialer.
func newLoadClient(t *testing.T, kubeconfig string, id int, placement []any) *loadClient {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	config.QPS, config.Burst = 50, 100
	config.Timeout = time.Minute
	config.UserAgent = fmt.Sprintf("fedhub-e2e-load/c%02d", id)
	config.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return &loadClient{id: id, resource: client.Resource(federatedConfigMaps).Namespace(loadNamespace),
		placement: placement, live: map[string]*liveObject{}}
}

// run creates, updates and deletes until the deadline, keeping between one
// and loadLivePerClient objects alive.
func (c *loadClient) run(ctx context.Context, until time.Time) {
	for time.Now().Before(until) {
		roll := rand.IntN(10)
		switch live := len(c.live); {
		case live == 0 || live < loadLivePerClient && roll < 4:
			c.create(ctx)
		case roll < 8:
			c.update(ctx, c.pick())
		default:
			c.delete(ctx, c.pick())
		}
	}
}

func (c *loadClient) pick() string {
	names := slices.Sorted(maps.Keys(c.live))
	return names[rand.IntN(len(names))]
}

func (c *loadClient) create(ctx context.Context) {
	name := fmt.Sprintf("c%02d-%04d", c.id, c.created)
	c.created++
	data := map[string]string{"client": strconv.Itoa(c.id), "version": "0", "value": strconv.FormatUint(rand.Uint64(), 36)}
	templateData := map[string]any{}
	for key, value := range data {
		templateData[key] = value
	}
	object := federatedConfigMapObject(name, templateData, map[string]any{"clusters": c.placement})
	created, err := c.resource.Create(ctx, object, metav1.CreateOptions{})
	c.creates++
	switch c.record("create "+name, err) {
	case succeeded:
		c.live[name] = &liveObject{object: created, data: data}
	case conflicted:
		// Names are never reused: an AlreadyExists means a create was
		// applied twice, e.g. retried after an answer that got lost.
		c.problem("create %s: %v", name, err)
		c.uncertain = append(c.uncertain, name)
	case serverFailed, unanswered:
		c.uncertain = append(c.uncertain, name)
	}
}

// update writes new data with the resourceVersion of the last answer; on a
// conflict it reads the object and tries again.
func (c *loadClient) update(ctx context.Context, name string) {
	live := c.live[name]
	version, _ := strconv.Atoi(live.data["version"])
	data := map[string]string{"client": strconv.Itoa(c.id), "version": strconv.Itoa(version + 1), "value": strconv.FormatUint(rand.Uint64(), 36)}
	for attempt := 0; ; attempt++ {
		object := live.object.DeepCopy()
		if err := unstructured.SetNestedStringMap(object.Object, data, "spec", "template", "data"); err != nil {
			panic(err)
		}
		updated, err := c.resource.Update(ctx, object, metav1.UpdateOptions{})
		c.updates++
		switch c.record("update "+name, err) {
		case succeeded:
			c.live[name] = &liveObject{object: updated, data: data}
			return
		case conflicted:
			if attempt == loadConflictRetries {
				c.problem("update %s: still conflicting after %d reads", name, attempt)
				return
			}
			current, err := c.resource.Get(ctx, name, metav1.GetOptions{})
			c.gets++
			if c.record("get "+name, err) != succeeded {
				c.forget(name)
				return
			}
			// Only this client writes the object's spec: anything else
			// wrote only its status or metadata.
			if stored, _, _ := unstructured.NestedStringMap(current.Object, "spec", "template", "data"); !maps.Equal(stored, live.data) {
				c.problem("update %s: after a conflict the data read %v, last written %v", name, stored, live.data)
			}
			live.object = current
		case serverFailed, unanswered:
			c.forget(name)
			return
		default:
			return
		}
	}
}

func (c *loadClient) delete(ctx context.Context, name string) {
	err := c.resource.Delete(ctx, name, metav1.DeleteOptions{})
	c.deletes++
	switch c.record("delete "+name, err) {
	case succeeded:
		delete(c.live, name)
	case serverFailed, unanswered:
		c.forget(name)
	}
}

// forget drops an object whose state a request left unknown.
func (c *loadClient) forget(name string) {
	delete(c.live, name)
	c.uncertain = append(c.uncertain, name)
}

// record counts the outcome of a request and keeps the first unexpected errors.
func (c *loadClient) record(request string, err error) outcome {
	o := classify(err)
	c.outcomes[o]++
	if o != succeeded && o != conflicted {
		c.problem("%s: %v", request, err)
	}
	return o
}

func (c *loadClient) problem(format string, args ...any) {
	if len(c.problems) < 3 {
		c.problems = append(c.problems, fmt.Sprintf("client %02d: ", c.id)+fmt.Sprintf(format, args...))
	}
}

func classify(err error) outcome {
	if err == nil {
		return succeeded
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return unanswered
	}
	switch code := status.Status().Code; {
	case code == 409:
		return conflicted
	case code >= 500:
		return serverFailed
	case code >= 400:
		return refused
	}
	return unanswered
}

// fedhubDifferences compares fedhub's FederatedConfigMaps with what the
// clients believe: lost, extra or stale objects, and separately the deleted
// ones still being finalized. Objects in an unknown state are left out.
func fedhubDifferences(ctx context.Context, t *testing.T, configMaps dynamic.ResourceInterface, believed map[string]map[string]string, uncertain map[string]bool) (differences, terminating []string) {
	t.Helper()
	listed, err := configMaps.List(ctx, metav1.ListOptions{})
	if err != nil {
		return []string{"listing: " + err.Error()}, nil
	}
	seen := map[string]bool{}
	for _, item := range listed.Items {
		name := item.GetName()
		seen[name] = true
		want, believedToExist := believed[name]
		switch {
		case uncertain[name]:
		case !believedToExist && item.GetDeletionTimestamp() != nil:
			terminating = append(terminating, name)
		case !believedToExist:
			differences = append(differences, "fedhub holds "+name+", which no client created or which was deleted")
		case item.GetDeletionTimestamp() != nil:
			differences = append(differences, "fedhub is deleting "+name+", which no client deleted")
		default:
			if data, _, _ := unstructured.NestedStringMap(item.Object, "spec", "template", "data"); !maps.Equal(data, want) {
				differences = append(differences, fmt.Sprintf("fedhub holds %s with data %v, last written %v", name, data, want))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(believed)) {
		if !seen[name] && !uncertain[name] {
			differences = append(differences, "fedhub lost "+name)
		}
	}
	return differences, terminating
}

// memberDifferences compares a member's managed ConfigMaps in the load's
// namespace with the objects the clients believe exist.
func memberDifferences(ctx context.Context, member *framework.Cluster, believed map[string]map[string]string, uncertain map[string]bool) []string {
	listed, err := member.Client.CoreV1().ConfigMaps(loadNamespace).List(ctx, metav1.ListOptions{LabelSelector: join.ManagedLabel + "=true"})
	if err != nil {
		return []string{"listing: " + err.Error()}
	}
	var differences []string
	seen := map[string]bool{}
	for _, configMap := range listed.Items {
		seen[configMap.Name] = true
		want, ok := believed[configMap.Name]
		switch {
		case uncertain[configMap.Name]:
		case !ok:
			differences = append(differences, "extra "+configMap.Name)
		case !maps.Equal(configMap.Data, want):
			differences = append(differences, fmt.Sprintf("%s has %v, want %v", configMap.Name, configMap.Data, want))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(believed)) {
		if !seen[name] && !uncertain[name] {
			differences = append(differences, "missing "+name)
		}
	}
	return differences
}

func firstOf(values []string, n int) []string {
	return values[:min(n, len(values))]
}
