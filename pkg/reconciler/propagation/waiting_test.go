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

package propagation

import (
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

func TestReconcilesWaitForMemberCaches(t *testing.T) {
	synced := func() bool { return true }
	filling := func() bool { return false }
	now := time.Now()
	tests := []struct {
		name string
		// member is the one member's cache.
		member *memberInformer
		// lookupFails and syncing are whether looking the member up fails,
		// and fails because its cache is filling.
		lookupFails, syncing bool
		// queuedAtOnce is whether a waiting reconcile is queued again without
		// waiting for the cache.
		queuedAtOnce bool
	}{
		{"a cache still filling holds the reconcile", &memberInformer{started: now, synced: filling}, true, true, false},
		{"a filled cache lets it through", &memberInformer{started: now, synced: synced}, false, false, true},
		{"a cache past its grace is reported, not waited for", &memberInformer{started: now.Add(-2 * memberSyncGrace), synced: filling}, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &TypeController{members: map[string]*memberInformer{"member-1": tt.member},
				queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
			defer c.queue.ShutDown()
			if _, err := c.member("member-1"); (err != nil) != tt.lookupFails || errors.Is(err, errMemberSyncing) != tt.syncing {
				t.Fatalf("member() = %v; want failing %t, because the cache fills %t", err, tt.lookupFails, tt.syncing)
			}
			c.wait("demo/web")
			if got := c.queue.Len() == 1; got != tt.queuedAtOnce {
				t.Fatalf("queued at once = %t, want %t", got, tt.queuedAtOnce)
			}
			// The cache filling (or its grace ending) queues whatever waits.
			c.enqueueWaiting()
			if c.queue.Len() != 1 {
				t.Errorf("after the cache filled, %d keys are queued, want 1", c.queue.Len())
			}
			if len(c.waiting) != 0 {
				t.Errorf("still waiting after being queued: %v", c.waiting)
			}
		})
	}
}
