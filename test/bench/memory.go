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
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// memoryUse is fedhub's resident memory at one moment, broken down: what
// /proc says is file-backed (the binary's text, mostly) and anonymous, what
// the Go runtime says it holds, and the live heap after a GC, attributed to
// fedhub's components by the stacks of the heap profile.
type memoryUse struct {
	RSSBytes int64 `json:"rss_bytes"`
	// From /proc/PID/status (RssFile, RssAnon, RssShmem) and
	// /proc/PID/smaps_rollup (Pss_File), read with RSSBytes.
	FileBytes    int64 `json:"rss_file_bytes"`
	AnonBytes    int64 `json:"rss_anon_bytes"`
	ShmemBytes   int64 `json:"rss_shmem_bytes"`
	PssFileBytes int64 `json:"pss_file_bytes"`
	// From runtime.MemStats right after RSSBytes, before any forced GC.
	HeapInuseBytes    int64 `json:"heap_inuse_bytes"`
	HeapIdleBytes     int64 `json:"heap_idle_bytes"`
	HeapReleasedBytes int64 `json:"heap_released_bytes"`
	StackBytes        int64 `json:"stack_bytes"`
	// RuntimeOtherBytes is the runtime's own metadata: spans, mcaches, GC
	// metadata, profiling buckets and the rest (MemStats' *Sys but heap and stacks).
	RuntimeOtherBytes int64 `json:"runtime_other_bytes"`
	// After a forced GC: the live heap (HeapAlloc), the heap profile's
	// estimate of it (the sum of its inuse_space), and the heap goal (NextGC).
	LiveHeapBytes         int64            `json:"live_heap_bytes"`
	ProfiledLiveHeapBytes int64            `json:"profiled_live_heap_bytes"`
	HeapGoalBytes         int64            `json:"heap_goal_bytes"`
	LiveHeapByComponent   []componentBytes `json:"live_heap_by_component"`
}

// componentBytes is the live heap one component holds.
type componentBytes struct {
	Component string `json:"component"`
	Bytes     int64  `json:"bytes"`
}

// unattributed is the component of heap samples whose stacks match no other.
const unattributed = "unattributed"

// heapComponents attribute a heap sample by its stack: the first component
// in this order with a frame in the stack wins, so that e.g. the schemas
// that fedhub builds when an informer tells it of a FederatedTypeConfig count
// as the federated types', and the API watch cache's store, which is a
// client-go cache, as the watch cache.
var heapComponents = []struct{ name, frame string }{
	{"federated types' schemas and OpenAPI", "github.com/fedhub/fedhub/registry/types"},
	{"federated types' schemas and OpenAPI", "github.com/fedhub/fedhub/pkg/typeconfig"},
	{"federated types' schemas and OpenAPI", "github.com/fedhub/fedhub/pkg/apiserver.followTypeConfigs"},
	{"API watch cache", "k8s.io/apiserver/pkg/storage/cacher"},
	{"API watch cache", "k8s.io/apiserver/pkg/storage/etcd3.(*watchChan)"},
	{"embedded etcd", "go.etcd.io/etcd/server"},
	{"embedded etcd", "go.etcd.io/raft"},
	{"embedded etcd", "go.etcd.io/bbolt"},
	{"informers", "k8s.io/client-go/tools/cache"},
	{"informers", "k8s.io/client-go/rest/watch"},
	{"informers", "k8s.io/apimachinery/pkg/watch.(*StreamWatcher)"},
	{"reconciler (beyond its informers)", "github.com/fedhub/fedhub/pkg/reconciler"},
	{"built-in API's OpenAPI, discovery and routes", "github.com/fedhub/fedhub/generated/openapi"},
	{"built-in API's OpenAPI, discovery and routes", "k8s.io/kube-openapi"},
	{"built-in API's OpenAPI, discovery and routes", "k8s.io/apiserver/pkg/server/routes"},
	{"built-in API's OpenAPI, discovery and routes", "k8s.io/apiserver/pkg/endpoints"},
	{"etcd and gRPC clients", "go.etcd.io/etcd/client"},
	{"etcd and gRPC clients", "google.golang.org/grpc"},
	{"etcd and gRPC clients", "k8s.io/apiserver/pkg/storage"},
	{"package initialization", "runtime.doInit"},
	{"server setup and requests in flight", "main.main"},
	{"server setup and requests in flight", "k8s.io/apiserver"},
	{"server setup and requests in flight", "net/http"},
}

// componentOf is the component a heap sample's stack belongs to.
func componentOf(stack []string) string {
	for _, c := range heapComponents {
		for _, frame := range stack {
			if strings.HasPrefix(frame, c.frame) {
				return c.name
			}
		}
	}
	return unattributed
}

// memoryNow reads fedhub's memory use: /proc first, then the runtime's
// statistics, then a heap profile after a forced GC.
func (b *bench) memoryNow(ctx context.Context) *memoryUse {
	pid := b.f.Fedhub.PID()
	m := &memoryUse{}
	status := procFields(fmt.Sprintf("/proc/%d/status", pid))
	m.RSSBytes, m.FileBytes, m.AnonBytes, m.ShmemBytes = status["VmRSS"], status["RssFile"], status["RssAnon"], status["RssShmem"]
	m.PssFileBytes = procFields(fmt.Sprintf("/proc/%d/smaps_rollup", pid))["Pss_File"]
	client, err := kubernetes.NewForConfig(b.f.Fedhub.AdminConfig(b.f.Host))
	if err != nil {
		logf("  memory: %v", err)
		return m
	}
	heap := func(gc bool) (*heapText, error) {
		request := client.Discovery().RESTClient().Get().AbsPath("/debug/pprof/heap").Param("debug", "1")
		if gc {
			request = request.Param("gc", "1")
		}
		data, err := request.DoRaw(ctx)
		if err != nil {
			return nil, err
		}
		return parseHeapText(string(data))
	}
	before, err := heap(false)
	if err != nil {
		logf("  memory: the runtime's statistics: %v", err)
		return m
	}
	s := before.stats
	m.HeapInuseBytes, m.HeapIdleBytes, m.HeapReleasedBytes, m.StackBytes = s["HeapInuse"], s["HeapIdle"], s["HeapReleased"], s["Stack"]
	m.RuntimeOtherBytes = s["Sys"] - s["HeapSys"] - s["StackSys"]
	after, err := heap(true)
	if err != nil {
		logf("  memory: the heap profile: %v", err)
		return m
	}
	m.LiveHeapBytes, m.HeapGoalBytes = after.stats["HeapAlloc"], after.stats["NextGC"]
	byComponent := map[string]int64{}
	for _, sample := range after.samples {
		m.ProfiledLiveHeapBytes += sample.bytes
		byComponent[componentOf(sample.stack)] += sample.bytes
	}
	for name, bytes := range byComponent {
		m.LiveHeapByComponent = append(m.LiveHeapByComponent, componentBytes{Component: name, Bytes: bytes})
	}
	// Largest first, the unattributed share last.
	slices.SortFunc(m.LiveHeapByComponent, func(a, c componentBytes) int {
		if (a.Component == unattributed) != (c.Component == unattributed) {
			if a.Component == unattributed {
				return 1
			}
			return -1
		}
		if a.Bytes != c.Bytes {
			if a.Bytes > c.Bytes {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Component, c.Component)
	})
	return m
}

// procFields reads a /proc file of "Name: value kB" lines, in bytes.
func procFields(path string) map[string]int64 {
	fields := map[string]int64{}
	data, err := os.ReadFile(path)
	if err != nil {
		return fields
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if kb, ok := strings.CutSuffix(value, " kB"); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(kb), 10, 64); err == nil {
				fields[name] = n * 1024
			}
		}
	}
	return fields
}

// heapText is what /debug/pprof/heap?debug=1 says: the in-use samples of the
// heap profile, scaled to estimates of the whole heap, each with its stack
// (function names, leaf first), and the runtime.MemStats lines.
type heapText struct {
	samples []heapSample
	stats   map[string]int64
}

type heapSample struct {
	bytes int64
	stack []string
}

// parseHeapText reads the legacy text format runtime/pprof writes for
// debug=1: a header "heap profile: ... @ heap/2*rate", then per sample
// "inuse_objects: inuse_bytes [allocs: bytes] @ addresses" and its frames
// "#\t0xPC\tfunction+0xoffset\tfile:line", then "# Name = value" lines.
func parseHeapText(text string) (*heapText, error) {
	h := &heapText{stats: map[string]int64{}}
	scanner := bufio.NewScanner(strings.NewReader(text))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	if !scanner.Scan() {
		return nil, fmt.Errorf("an empty heap profile")
	}
	header := scanner.Text()
	_, period, ok := strings.Cut(header, "@ heap/")
	if !ok {
		return nil, fmt.Errorf("not a heap profile: %q", header)
	}
	// The header gives twice the sampling rate, for old pprof tools.
	rate, err := strconv.ParseInt(strings.TrimSpace(period), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("heap profile header %q: %w", header, err)
	}
	rate /= 2
	var current *heapSample
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "#\t0x"):
			if current != nil {
				if fields := strings.Split(line, "\t"); len(fields) >= 3 {
					function, _, _ := strings.Cut(fields[2], "+0x")
					current.stack = append(current.stack, function)
				}
			}
		case strings.HasPrefix(line, "# "):
			name, value, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
			if !ok {
				continue
			}
			// "Stack = inuse / sys" and the like: the first is in use.
			inuse, sys, pair := strings.Cut(value, " / ")
			if n, err := strconv.ParseInt(strings.TrimSpace(inuse), 10, 64); err == nil {
				h.stats[name] = n
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(sys), 10, 64); pair && err == nil {
				h.stats[name+"Sys"] = n
			}
		case strings.Contains(line, " @ "):
			var objects, bytes int64
			if _, err := fmt.Sscanf(line, "%d: %d", &objects, &bytes); err != nil {
				current = nil
				continue
			}
			h.samples = append(h.samples, heapSample{bytes: scaleHeapSample(objects, bytes, rate)})
			current = &h.samples[len(h.samples)-1]
		default:
			current = nil
		}
	}
	return h, scanner.Err()
}

// scaleHeapSample estimates the bytes a heap sample stands for, as pprof
// does: an allocation of size s is sampled with probability 1-exp(-s/rate).
func scaleHeapSample(objects, bytes, rate int64) int64 {
	if objects == 0 || bytes == 0 {
		return 0
	}
	if rate <= 1 {
		return bytes
	}
	average := float64(bytes) / float64(objects)
	return int64(float64(bytes) / (1 - math.Exp(-average/float64(rate))))
}

// mib is bytes in MiB, for the report.
func mib(bytes int64) string { return fmt.Sprintf("%.0f", float64(bytes)/(1<<20)) }

// parts says what fedhub's RSS is made of, as the table's memory rows do.
func (m *memoryUse) parts() string {
	return fmt.Sprintf("%s MiB: file-backed %s, anonymous %s (Go heap in use %s, heap idle not yet returned %s, goroutine stacks %s, runtime metadata %s)",
		mib(m.RSSBytes), mib(m.FileBytes), mib(m.AnonBytes), mib(m.HeapInuseBytes), mib(m.HeapIdleBytes-m.HeapReleasedBytes),
		mib(m.StackBytes), mib(m.RuntimeOtherBytes))
}

// heap says how large the live heap is and what holds it.
func (m *memoryUse) heap() string {
	var parts []string
	for _, c := range m.LiveHeapByComponent {
		parts = append(parts, fmt.Sprintf("%s %s", c.Component, mib(c.Bytes)))
	}
	return fmt.Sprintf("live %s MiB (profile's estimate %s), goal %s MiB; %s", mib(m.LiveHeapBytes), mib(m.ProfiledLiveHeapBytes),
		mib(m.HeapGoalBytes), strings.Join(parts, ", "))
}
