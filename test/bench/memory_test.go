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

import "testing"

// heapProfileText is the shape of /debug/pprof/heap?debug=1, shortened.
const heapProfileText = `heap profile: 3: 3145728 [10: 20000000] @ heap/1048576
1: 1048576 [1: 1048576] @ 0x1 0x2 0x3
#	0x1	k8s.io/client-go/tools/cache.(*threadSafeMap).Add+0x10	/x/thread_safe_store.go:1
#	0x2	k8s.io/apiserver/pkg/storage/cacher.(*watchCache).processEvent+0x20	/x/watch_cache.go:2
#	0x3	k8s.io/apiserver/pkg/storage/cacher.(*Cacher).startCaching+0x30	/x/cacher.go:3

1: 1048576 [1: 1048576] @ 0x4 0x5
#	0x4	k8s.io/apiextensions-apiserver/pkg/apiserver/schema.NewStructural+0x10	/x/structural.go:1
#	0x5	github.com/fedhub/fedhub/registry/types.newServingInfo+0x20	/x/serving.go:2
#	0x6	k8s.io/client-go/tools/cache.(*processorListener).run+0x30	/x/shared_informer.go:3

1: 1048576 [1: 1048576] @ 0x7
#	0x7	encoding/json.(*decodeState).object+0x10	/x/decode.go:1


# runtime.MemStats
# Alloc = 3000000
# HeapAlloc = 3000000
# Sys = 100000000
# HeapSys = 80000000
# HeapIdle = 5000000
# HeapInuse = 4000000
# HeapReleased = 1000000
# Stack = 600000 / 700000
# NextGC = 6000000
`

func TestParseHeapText(t *testing.T) {
	h, err := parseHeapText(heapProfileText)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.samples) != 3 {
		t.Fatalf("got %d samples, want 3", len(h.samples))
	}
	// A 1 MiB allocation sampled at 512 KiB stands for 1 MiB / (1 - e^-2).
	if got := h.samples[0].bytes; got < 1212000 || got > 1214000 {
		t.Errorf("scaled sample: got %d bytes, want about 1213250", got)
	}
	for name, want := range map[string]int64{"HeapAlloc": 3000000, "HeapInuse": 4000000, "Stack": 600000, "StackSys": 700000, "NextGC": 6000000} {
		if got := h.stats[name]; got != want {
			t.Errorf("%s: got %d, want %d", name, got, want)
		}
	}
	for i, want := range []string{"API watch cache", "federated types' schemas and OpenAPI", unattributed} {
		if got := componentOf(h.samples[i].stack); got != want {
			t.Errorf("sample %d: got component %q, want %q", i, got, want)
		}
	}
}
