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

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/test/framework"
)

const (
	// namespace holds the federated objects and their member objects.
	namespace = "bench"
	// directNamespace holds the baseline's objects in each member.
	directNamespace = "bench-direct"
	// deadline bounds every wait for convergence.
	deadline = 10 * time.Minute
	// clientQPS is high enough that the benchmark's own clients never throttle.
	clientQPS = 100000
)

type bench struct {
	f       *framework.Federation
	kind    targetKind
	o       options
	fedhub  dynamic.Interface
	members []dynamic.Interface
	// memberMetadata watch the members' objects' metadata only.
	memberMetadata []metadata.Interface
	// concurrency is how many writes fedhub's propagation may have in
	// flight: workers per type, each writing to every member at once.
	concurrency int

	names     []string // the burst's objects
	paced     []string // the paced scenario's objects
	latencies []time.Duration
	rssBefore int64
	// idle is fedhub's memory once it serves the default types, before any object.
	idle *memoryUse
}

func newBench(ctx context.Context, f *framework.Federation, kind targetKind, o options) (*bench, error) {
	b := &bench{f: f, kind: kind, o: o, fedhub: unthrottled(f.Fedhub.AdminConfig(f.Host)), concurrency: o.workers * len(f.Members)}
	for _, m := range f.Members {
		b.members = append(b.members, unthrottled(m.AdminConfig))
		config := rest.CopyConfig(m.AdminConfig)
		config.QPS, config.Burst = clientQPS, clientQPS
		b.memberMetadata = append(b.memberMetadata, metadata.NewForConfigOrDie(config))
	}
	for i := range o.objects {
		b.names = append(b.names, fmt.Sprintf("burst-%05d", i))
	}
	// The federated namespace, placed everywhere, exists before anything is timed.
	if _, err := f.Host.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	federatedNamespace := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
		"metadata": map[string]any{"name": namespace, "namespace": namespace},
		"spec":     map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}},
	}}
	namespaces := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatednamespaces"}
	if err := retry(ctx, func() error {
		_, err := b.fedhub.Resource(namespaces).Namespace(namespace).Create(ctx, federatedNamespace, metav1.CreateOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	for i, m := range f.Members {
		if err := retry(ctx, func() error {
			_, err := m.Client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
			return err
		}); err != nil {
			return nil, fmt.Errorf("member %d never got the namespace: %w", i+1, err)
		}
		if _, err := m.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: directNamespace}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	b.idle = b.memoryNow(ctx)
	return b, nil
}

func unthrottled(config *rest.Config) dynamic.Interface {
	config = rest.CopyConfig(config)
	config.QPS, config.Burst = clientQPS, clientQPS
	return dynamic.NewForConfigOrDie(config)
}

// retry retries fn for a minute: fedhub serves a kind a moment after the
// federation reports ready, and a member gets its namespace a moment later.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if err = fn(); err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
	}
	return err
}

func (b *bench) scenario(name string) func(context.Context, *Results) error {
	run := map[string]func(context.Context, *Results) error{
		"baseline": b.baseline, "burst": b.burst, "paced": b.pacedLatency, "update": b.updateWave,
		"steady": b.steadyState, "restart": b.restart, "delete": b.deleteWave, "ceiling": b.ceiling,
		"apipath": b.apiPath,
	}[name]
	return func(ctx context.Context, r *Results) error {
		if r.MemoryIdle == nil {
			r.MemoryIdle = b.idle
		}
		return run(ctx, r)
	}
}

// parallel runs jobs 0..n-1 on workers goroutines and returns the first error.
func parallel(n, workers int, job func(i int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := job(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// baseline writes the same N×M objects straight into the members, with as
// many writes in flight as fedhub's propagation has: the physical limit.
// Then it updates them all, for the update wave's comparison, and updates
// and deletes some one at a time, for the paced updates' and deletes'.
func (b *bench) baseline(ctx context.Context, r *Results) error {
	m := len(b.members)
	total := len(b.names) * m
	write := func(v int, verb func(dynamic.ResourceInterface, *unstructured.Unstructured) error) (time.Duration, error) {
		start := time.Now()
		err := parallel(total, b.concurrency, func(i int) error {
			resources := b.members[i%m].Resource(b.kind.target).Namespace(directNamespace)
			return verb(resources, b.kind.memberObject(directNamespace, b.names[i/m], v))
		})
		return time.Since(start), err
	}
	cpuBefore := b.cpuNow()
	elapsed, err := write(1, func(r dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
		_, err := r.Create(ctx, obj, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	r.BaselineCPU = b.cpuNow().minus(cpuBefore)
	r.BaselineObjectsPerSecond = float64(total) / elapsed.Seconds()
	logf("  direct creates: %d objects in %s", total, elapsed.Round(time.Millisecond))
	elapsed, err = write(2, func(r dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
		current, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		obj.SetResourceVersion(current.GetResourceVersion())
		_, err = r.Update(ctx, obj, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	r.DirectUpdateObjectsPerSecond = float64(total) / elapsed.Seconds()
	logf("  direct updates: %d objects in %s", total, elapsed.Round(time.Millisecond))
	// Only when scenarios 4b or 7b run, for their direct column.
	if r.ran("update") || r.ran("delete") {
		if err := b.directPacedWrites(ctx, r); err != nil {
			return err
		}
	}
	// Clean up, untimed, so the members are as quiet for fedhub as they were
	// for the baseline; the paced deletes have deleted some already.
	_, err = write(0, func(r dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
		return ignoreNotFound(r.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}))
	})
	return err
}

// memberWatches follows the managed objects of the kind in every member.
func (b *bench) memberWatches(ctx context.Context) ([]*objectWatch, error) {
	var watches []*objectWatch
	for _, member := range b.memberMetadata {
		w, err := watchObjects(ctx, member, b.kind.target, namespace, managedSelector)
		if err != nil {
			for _, w := range watches {
				w.stop()
			}
			return nil, err
		}
		watches = append(watches, w)
	}
	return watches, nil
}

func stopAll(watches []*objectWatch) {
	for _, w := range watches {
		w.stop()
	}
}

func writes(watches []*objectWatch) int {
	n := 0
	for _, w := range watches {
		n += w.writeCount()
	}
	return n
}

// propagated tells whether a federated object's status says its generation is propagated.
func propagated(obj *unstructured.Unstructured) bool {
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	if observed != obj.GetGeneration() {
		return false
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		condition, _ := c.(map[string]any)
		if condition["type"] == "Propagation" {
			return condition["status"] == "True"
		}
	}
	return false
}

// burst creates N federated objects at once and waits until every status
// says they are propagated and every member has every object. It watches
// fedhub only and lists the members once the statuses are done: watching
// the members too would cost them CPU that the baseline does not pay.
func (b *bench) burst(ctx context.Context, r *Results) error {
	statuses, err := watchPropagation(ctx, b.fedhub, b.kind.federated, namespace)
	if err != nil {
		return err
	}
	defer statuses.stop()
	b.rssBefore = rss(b.f.Fedhub.PID())
	if b.o.profile != "" {
		go b.profileFedhub(ctx, b.o.profile)
	}
	cpuBefore := b.cpuNow()
	start := time.Now()
	if err := parallel(len(b.names), burstClients, func(i int) error {
		_, err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).Create(ctx, b.kind.federatedObject(namespace, b.names[i], 1), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	created := time.Since(start)
	n := len(b.names)
	if err := waitUntil(ctx, deadline, "burst: every status current", func() bool { return statuses.count() >= n }, statuses); err != nil {
		return err
	}
	statusesDone := time.Since(start)
	if err := waitUntil(ctx, deadline, "burst: every member object", func() bool { return b.membersHold(ctx, n) }); err != nil {
		return err
	}
	elapsed := time.Since(start)
	r.BurstCPU = b.cpuNow().minus(cpuBefore)
	r.BurstSeconds = elapsed.Seconds()
	r.BurstObjectsPerSecond = float64(n*len(b.members)) / elapsed.Seconds()
	logf("  %d federated objects created in %s; every status current in %s; %d member objects present in %s", n, created.Round(time.Millisecond),
		statusesDone.Round(time.Millisecond), n*len(b.members), elapsed.Round(time.Millisecond))
	// memoryNow reads the RSS first, then forces a GC for the heap profile.
	r.MemoryAfterBurst = b.memoryNow(ctx)
	r.RSSBytes = r.MemoryAfterBurst.RSSBytes
	r.RSSBytesPerObject = float64(r.RSSBytes-b.rssBefore) / float64(n)
	if b.o.heapProfile != "" {
		b.saveFedhubProfile(ctx, b.o.heapProfile, "/debug/pprof/heap", "gc", "1")
	}
	return nil
}

// membersHold tells whether every member holds at least n managed objects
// of the kind in the benchmark's namespace, by listing their metadata.
func (b *bench) membersHold(ctx context.Context, n int) bool {
	for _, member := range b.memberMetadata {
		list, err := member.Resource(b.kind.target).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: managedSelector})
		if err != nil || len(list.Items) < n {
			return false
		}
	}
	return true
}

// pacedLatency creates objects one at a time at a low rate and measures,
// per member, from the create response to the object's appearance there.
func (b *bench) pacedLatency(ctx context.Context, r *Results) error {
	perMember, err := b.pacedPerMember(ctx)
	if err != nil {
		return err
	}
	for _, latencies := range perMember {
		b.latencies = append(b.latencies, latencies...)
	}
	sort.Slice(b.latencies, func(i, j int) bool { return b.latencies[i] < b.latencies[j] })
	r.PacedP50Ms, r.PacedP90Ms = percentile(b.latencies, 50), percentile(b.latencies, 90)
	r.PacedP99Ms, r.PacedMaxMs = percentile(b.latencies, 99), percentile(b.latencies, 100)
	return nil
}

// pacedPerMember creates -paced-objects objects one at a time at
// -paced-rate and returns, per member, the sorted latencies from each
// create response at fedhub to the object's appearance in that member's watch.
func (b *bench) pacedPerMember(ctx context.Context) ([][]time.Duration, error) {
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return nil, err
	}
	defer stopAll(watches)
	interval := time.Duration(float64(time.Second) / b.o.pacedRate)
	created := map[string]time.Time{}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for i := range b.o.pacedCount {
		name := fmt.Sprintf("paced-%04d", i)
		if _, err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).Create(ctx, b.kind.federatedObject(namespace, name, 1), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		created[name] = time.Now()
		b.paced = append(b.paced, name)
		<-ticker.C
	}
	err = waitUntil(ctx, deadline, "paced objects in every member", func() bool {
		for _, w := range watches {
			for _, name := range b.paced {
				if _, ok := w.seenAt(name); !ok {
					return false
				}
			}
		}
		return true
	}, sources(watches)...)
	if err != nil {
		return nil, err
	}
	perMember := make([][]time.Duration, len(watches))
	for i, w := range watches {
		for _, name := range b.paced {
			seen, _ := w.seenAt(name)
			perMember[i] = append(perMember[i], seen.Sub(created[name]))
		}
		sort.Slice(perMember[i], func(a, c int) bool { return perMember[i][a] < perMember[i][c] })
	}
	return perMember, nil
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// updateWave changes every burst object's template once and waits until
// every member object holds the new version; then, with watches of their
// own, it updates some objects one at a time (pacedUpdates).
func (b *bench) updateWave(ctx context.Context, r *Results) error {
	if err := b.wave(ctx, r); err != nil {
		return err
	}
	return b.pacedUpdates(ctx, r)
}

func (b *bench) wave(ctx context.Context, r *Results) error {
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	start := time.Now()
	if err := parallel(len(b.names), 64, func(i int) error { return b.updateFederated(ctx, b.names[i], 2) }); err != nil {
		return err
	}
	n := len(b.names)
	err = waitUntil(ctx, deadline, "update wave", func() bool {
		for _, w := range watches {
			if w.count(func(obj *metav1.PartialObjectMetadata) bool { return versionOf(obj) == "2" }) < n {
				return false
			}
		}
		return true
	}, sources(watches)...)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	r.UpdateSeconds = elapsed.Seconds()
	r.UpdateObjectsPerSecond = float64(n*len(b.members)) / elapsed.Seconds()
	return nil
}

// steadyState watches a quiet window: fedhub must write nothing to members,
// and its CPU time shows what watching costs.
func (b *bench) steadyState(ctx context.Context, r *Results) error {
	if err := b.waitAllPropagated(ctx); err != nil {
		return err
	}
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	cpuBefore := cpuSeconds(b.f.Fedhub.PID())
	select { // the scenario is the quiet window itself
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.o.steady):
	}
	r.SteadyFedhubCPUSeconds = cpuSeconds(b.f.Fedhub.PID()) - cpuBefore
	r.SteadyMemberWrites = writes(watches)
	r.SteadySeconds = b.o.steady.Seconds()
	return nil
}

// waitAllPropagated waits until every federated object stored in the
// benchmark's namespace says its generation is propagated.
func (b *bench) waitAllPropagated(ctx context.Context) error {
	statuses, err := watchPropagation(ctx, b.fedhub, b.kind.federated, namespace)
	if err != nil {
		return err
	}
	defer statuses.stop()
	return waitUntil(ctx, deadline, "every status current", statuses.allPropagated, statuses)
}

// restart restarts fedhub on the same etcd and measures until every object
// has been reconciled again, counting member writes meanwhile.
func (b *bench) restart(ctx context.Context, r *Results) error {
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	// Every federated object the earlier scenarios left must be reconciled
	// again; without them (e.g. -scenarios restart) there are none.
	stored, err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	want := len(stored.Items)
	start := time.Now()
	if err := b.f.Fedhub.Restart(ctx, b.f.Host); err != nil {
		return err
	}
	b.fedhub = unthrottled(b.f.Fedhub.AdminConfig(b.f.Host))
	done := 0
	err = waitUntil(ctx, deadline, "every object reconciled after the restart", func() bool {
		done = b.reconciled(ctx)
		return done >= want
	})
	if err != nil {
		return fmt.Errorf("%d of %d objects reconciled: %w", done, want, err)
	}
	r.RestartSeconds = time.Since(start).Seconds()
	r.RestartMemberWrites = writes(watches)
	return nil
}

// reconciled reads fedhub's successful reconciles of the kind since it started.
func (b *bench) reconciled(ctx context.Context) int {
	value, _, _ := b.f.Fedhub.Metric(ctx, b.f.Host, `fedhub_propagation_reconciles_total{result="success",type="`+b.kind.federated.Resource+`"}`)
	return int(value)
}

// deleteWave deletes some federated objects one at a time (pacedDeletes),
// then every other at once, and waits until the members are clean.
func (b *bench) deleteWave(ctx context.Context, r *Results) error {
	deleted, err := b.pacedDeletes(ctx, r)
	if err != nil {
		return err
	}
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	var all []string
	for _, name := range append(append([]string{}, b.names...), b.paced...) {
		if !slices.Contains(deleted, name) {
			all = append(all, name)
		}
	}
	start := time.Now()
	if err := parallel(len(all), 64, func(i int) error {
		return b.fedhub.Resource(b.kind.federated).Namespace(namespace).Delete(ctx, all[i], metav1.DeleteOptions{})
	}); err != nil {
		return err
	}
	err = waitUntil(ctx, deadline, "members clean", func() bool {
		for _, w := range watches {
			if w.size() > 0 {
				return false
			}
		}
		return true
	}, sources(watches)...)
	if err != nil {
		return err
	}
	r.DeleteSeconds = time.Since(start).Seconds()
	r.DeleteObjectsPerSecond = float64(len(all)*len(b.members)) / r.DeleteSeconds
	return nil
}

// rss is a process's resident set size in bytes, from /proc.
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if value, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times on Linux.
const clockTicks = 100

// cpuSeconds is a process's user plus system CPU time, from /proc.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ")".
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	user, _ := strconv.ParseFloat(fields[11], 64)
	system, _ := strconv.ParseFloat(fields[12], 64)
	return (user + system) / clockTicks
}

// cpuNow reads the CPU seconds every component has used so far.
func (b *bench) cpuNow() cpuUse {
	use := cpuUse{Fedhub: cpuSeconds(b.f.Fedhub.PID()), Host: cpuSeconds(b.f.Host.APIServerPID()),
		Etcd: cpuSeconds(b.f.Etcd.PID()), Client: cpuSeconds(os.Getpid())}
	for _, m := range b.f.Members {
		use.Members += cpuSeconds(m.APIServerPID())
	}
	return use
}

// profileFedhub saves a 10-second CPU profile of fedhub, e.g. of the burst.
func (b *bench) profileFedhub(ctx context.Context, path string) {
	b.saveFedhubProfile(ctx, path, "/debug/pprof/profile", "seconds", "10")
}

// saveFedhubProfile saves what fedhub's pprof endpoint at endpoint answers,
// with one query parameter, to path.
func (b *bench) saveFedhubProfile(ctx context.Context, path, endpoint, param, value string) {
	client, err := kubernetes.NewForConfig(b.f.Fedhub.AdminConfig(b.f.Host))
	if err != nil {
		logf("  profile: %v", err)
		return
	}
	data, err := client.Discovery().RESTClient().Get().AbsPath(endpoint).Param(param, value).DoRaw(ctx)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		logf("  profile %s: %v", endpoint, err)
	}
}
