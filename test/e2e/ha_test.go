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
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/fedhub/fedhub/test/framework"
)

// ha is fedhub as the HA layout runs it: two replicas on a three-member etcd
// of their own, with a short election lease so that failover is quick to see.
var ha = &lazyFederation{dirPattern: "fedhub-e2e-ha-", options: framework.FederationOptions{
	Members: 2, MembersAPIOnly: true, FedhubEtcdMembers: 3, FedhubReplicas: 2,
	FedhubArgs: []string{"--leader-elect-lease-duration=" + haLease.String()},
}}

const (
	haLease     = 3 * time.Second
	haNamespace = "ha-e2e"
	// haDeadline bounds failover and convergence after each fault.
	haDeadline = 2 * time.Minute
)

// federatedConfigMaps is the resource the HA and load tests write.
var federatedConfigMaps = schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedconfigmaps"}

// TestHighAvailability kills the leading replica in a create wave, stops an
// etcd member and stops a member cluster in a create wave, and checks after
// each that nothing acknowledged is lost and the members converge.
func TestHighAvailability(t *testing.T) {
	ctx := context.Background()
	f := ha.get(t)
	host := ha.kubeconfig("host")
	waitDiscovers(t, host, "federatednamespaces", "federatedconfigmaps")
	mustKubectlAs(t, host, "create", "namespace", haNamespace)
	h := &haCluster{t: t, f: f}
	for _, replica := range f.FedhubReplicas {
		config := replica.AdminConfig(f.Host)
		config.QPS, config.Burst = 200, 400
		client, err := dynamic.NewForConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		h.clients = append(h.clients, client.Resource(federatedConfigMaps).Namespace(haNamespace))
		h.namespaces = client.Resource(federatedConfigMaps.GroupVersion().WithResource("federatednamespaces")).Namespace(haNamespace)
	}
	namespaceObject := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": haNamespace, "namespace": haNamespace},
		"spec":     map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}},
	}}
	if _, err := h.namespaces.Create(ctx, namespaceObject, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("killing the leader in a create wave loses nothing", func(t *testing.T) {
		h.t = t
		leader := h.waitForOneLeader(-1)
		standby := 1 - leader
		var killedAt atomic.Int64
		acknowledged := h.createWave("kill", 200, func(created int) {
			if created == 60 && killedAt.Load() == 0 {
				f.FedhubReplicas[leader].Kill()
				killedAt.Store(time.Now().UnixNano())
			}
		})
		if killedAt.Load() == 0 {
			t.Fatal("the wave ended before the leader was killed")
		}
		took := time.Since(time.Unix(0, killedAt.Load()))
		h.waitForOneLeader(leader)
		if elapsed := time.Since(time.Unix(0, killedAt.Load())); elapsed > took {
			took = elapsed
		}
		t.Logf("HA: %d of 200 creates acknowledged; replica %d took over within %s of SIGKILL (lease %s)", len(acknowledged), standby, took.Round(10*time.Millisecond), haLease)
		h.checkStored(standby, acknowledged)
		h.waitMembersConverge(standby)
		h.checkNoMemberUpdates(standby)

		// The killed replica comes back as a standby.
		if err := f.FedhubReplicas[leader].Restart(ctx, f.Host); err != nil {
			t.Fatal(err)
		}
		if now := h.waitForOneLeader(-1); now != standby {
			t.Errorf("replica %d took the lead back after restarting", leader)
		}
	})

	t.Run("a leader stopped with SIGTERM hands over without waiting for its lease", func(t *testing.T) {
		h.t = t
		leader := h.waitForOneLeader(-1)
		stopping := f.FedhubReplicas[leader]
		identity := fmt.Sprintf("_%d", stopping.PID())
		if !slices.ContainsFunc(h.candidates(), func(c string) bool { return strings.HasSuffix(c, identity) }) {
			t.Fatalf("the leader's candidacy (%s) is not in etcd: %v", identity, h.candidates())
		}
		stopping.Stop()
		if _, err := stopping.Exited(); err != nil {
			t.Errorf("the leader did not exit cleanly on SIGTERM: %v", err)
		}
		// Resigning revokes the lease before the process exits; a leader
		// that just vanished would leave its candidacy for up to the lease.
		if candidates := h.candidates(); slices.ContainsFunc(candidates, func(c string) bool { return strings.HasSuffix(c, identity) }) {
			t.Errorf("the stopped leader's candidacy is still in etcd after it exited: %v", candidates)
		}
		// Shutting down stops the reconcilers itself; it must not fall back
		// to giving up on them, which delays the handover and the exit.
		if log, err := os.ReadFile(stopping.LogPath); err != nil {
			t.Error(err)
		} else if strings.Contains(string(log), "did not stop in time") {
			t.Errorf("the leader gave up waiting for its reconcilers on SIGTERM (see %s)", stopping.LogPath)
		}
		h.waitForOneLeader(leader)
		if err := stopping.Restart(ctx, f.Host); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one etcd member down: fedhub keeps serving", func(t *testing.T) {
		h.t = t
		f.FedhubEtcd.Members[0].Kill()
		defer func() {
			if err := f.FedhubEtcd.Members[0].Restart(ctx); err != nil {
				t.Error(err)
			}
		}()
		// When the member was etcd's leader, the others elect a new one
		// first (etcd's election timeout, 1 s here); writes in that moment
		// time out. From the first write that succeeds on, every one must.
		stopped := time.Now()
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, haDeadline, true, func(ctx context.Context) (bool, error) {
			// A create that timed out may still have been stored.
			_, err := h.clients[0].Create(ctx, haConfigMap("etcd-down-first"), metav1.CreateOptions{})
			return err == nil || apierrors.IsAlreadyExists(err), nil
		})
		if err != nil {
			t.Fatalf("no write succeeded within %s of stopping an etcd member", haDeadline)
		}
		t.Logf("HA: the first write after stopping an etcd member succeeded %s later", time.Since(stopped).Round(10*time.Millisecond))
		for i, client := range h.clients {
			for n := range 5 {
				name := fmt.Sprintf("etcd-down-%d-%d", i, n)
				if _, err := client.Create(ctx, haConfigMap(name), metav1.CreateOptions{}); err != nil {
					t.Fatalf("creating %s through replica %d with an etcd member down: %v", name, i, err)
				}
			}
			list, err := client.List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("listing through replica %d with an etcd member down: %v", i, err)
			}
			if !slices.ContainsFunc(list.Items, func(u unstructured.Unstructured) bool { return u.GetName() == fmt.Sprintf("etcd-down-%d-4", i) }) {
				t.Errorf("replica %d does not list what it just created", i)
			}
		}
		h.waitMembersConverge(0)
	})

	t.Run("a member cluster down in a create wave converges when back", func(t *testing.T) {
		h.t = t
		member := f.Members[1]
		memberDown := false
		defer func() {
			if memberDown {
				if err := member.StartAPIServer(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
		acknowledged := h.createWave("member-down", 60, func(created int) {
			if created == 10 && !memberDown {
				member.StopAPIServer()
				memberDown = true
			}
		})
		if len(acknowledged) != 60 {
			t.Errorf("%d of 60 creates acknowledged with only a member cluster down", len(acknowledged))
		}
		if err := member.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		memberDown = false
		h.checkStored(0, acknowledged)
		h.waitMembersConverge(0)
	})
}

// haCluster drives the replicas of the ha federation.
type haCluster struct {
	t          *testing.T
	f          *framework.Federation
	clients    []dynamic.ResourceInterface
	namespaces dynamic.ResourceInterface
}

// waitForOneLeader waits until exactly one replica other than gone (-1 for
// none) reports leading, and returns it; gone is not asked.
func (h *haCluster) waitForOneLeader(gone int) int {
	h.t.Helper()
	leader := -1
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, haDeadline, true, func(ctx context.Context) (bool, error) {
		leaders := 0
		for i, replica := range h.f.FedhubReplicas {
			if i == gone {
				continue
			}
			value, found, err := replica.Metric(ctx, h.f.Host, "fedhub_reconciler_leader")
			if err != nil || !found {
				return false, nil
			}
			if value == 1 {
				leaders++
				leader = i
			}
		}
		return leaders == 1, nil
	})
	if err != nil {
		h.t.Fatalf("no single leader among the replicas within %s", haDeadline)
	}
	return leader
}

// candidates are the identities (host name_pid) campaigning in the
// reconcilers' election, read from fedhub's etcd.
func (h *haCluster) candidates() []string {
	h.t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: h.f.FedhubEtcd.ClientURLs(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	response, err := client.Get(ctx, "/registry/fedhub/leader-election/reconcilers/", clientv3.WithPrefix())
	if err != nil {
		h.t.Fatalf("reading the election from etcd: %v", err)
	}
	var identities []string
	for _, kv := range response.Kvs {
		identities = append(identities, string(kv.Value))
	}
	return identities
}

// createWave creates n FederatedConfigMaps named <prefix>-<i> from 10
// goroutines, alternating between the replicas, and calls after with the
// running count of acknowledged creates. It returns the acknowledged names;
// a create that fails (its replica was killed) is not retried.
func (h *haCluster) createWave(prefix string, n int, after func(created int)) []string {
	var mu sync.Mutex
	var acknowledged []string
	next := make(chan int)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("%s-%03d", prefix, i)
				_, err := h.clients[i%len(h.clients)].Create(context.Background(), haConfigMap(name), metav1.CreateOptions{})
				mu.Lock()
				if err == nil {
					acknowledged = append(acknowledged, name)
				}
				count := len(acknowledged)
				mu.Unlock()
				if err == nil {
					after(count)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(acknowledged)
	return acknowledged
}

// haConfigMap is placed on every member, with its name as its data.
func haConfigMap(name string) *unstructured.Unstructured {
	object := federatedConfigMapObject(name, map[string]any{"name": name}, map[string]any{"clusterSelector": map[string]any{}})
	object.SetNamespace(haNamespace)
	return object
}

// federatedConfigMapObject is a FederatedConfigMap with the given template
// data and placement, in no namespace (the client's, when created).
func federatedConfigMapObject(name string, data, placement map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"template": map[string]any{"data": data}, "placement": placement},
	}}
}

// stored lists the FederatedConfigMaps through replica, by name.
func (h *haCluster) stored(replica int) []string {
	h.t.Helper()
	list, err := h.clients[replica].List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatalf("listing through replica %d: %v", replica, err)
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	slices.Sort(names)
	return names
}

// checkStored checks that every acknowledged create is stored.
func (h *haCluster) checkStored(replica int, acknowledged []string) {
	h.t.Helper()
	stored := h.stored(replica)
	var lost []string
	for _, name := range acknowledged {
		if _, found := slices.BinarySearch(stored, name); !found {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 {
		h.t.Errorf("%d acknowledged creates are not stored: %v", len(lost), lost)
	}
}

// waitMembersConverge waits until every member holds exactly the ConfigMaps
// stored in fedhub, each with its data.
func (h *haCluster) waitMembersConverge(replica int) {
	h.t.Helper()
	want := h.stored(replica)
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, haDeadline, true, func(ctx context.Context) (bool, error) {
		for _, member := range h.f.Members {
			list, err := member.Client.CoreV1().ConfigMaps(haNamespace).List(ctx, metav1.ListOptions{LabelSelector: "kubefed.io/managed=true"})
			if err != nil {
				last = fmt.Sprintf("%s: %v", member.Name, err)
				return false, nil
			}
			var names []string
			for _, cm := range list.Items {
				if cm.Data["name"] != cm.Name {
					last = fmt.Sprintf("%s: %s has data %v", member.Name, cm.Name, cm.Data)
					return false, nil
				}
				names = append(names, cm.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				last = fmt.Sprintf("%s has %d ConfigMaps, fedhub %d", member.Name, len(names), len(want))
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		h.t.Fatalf("the members did not converge on the %d stored objects within %s: %s", len(want), haDeadline, last)
	}
}

// checkNoMemberUpdates checks that the replica leading now found the member
// objects its predecessor wrote as they should be: it updated none of them,
// so no two writers fought over an object.
func (h *haCluster) checkNoMemberUpdates(replica int) {
	h.t.Helper()
	for _, member := range h.f.Members {
		for _, result := range []string{"success", "error"} {
			series := fmt.Sprintf(`fedhub_propagation_member_operations_total{cluster=%q,result=%q,type="configmaps",verb="update"}`, member.Name, result)
			value, _, err := h.f.FedhubReplicas[replica].Metric(context.Background(), h.f.Host, series)
			if err != nil {
				h.t.Fatal(err)
			}
			if value != 0 {
				h.t.Errorf("the new leader updated ConfigMaps in %s %v times (%s)", member.Name, value, result)
			}
		}
	}
}
