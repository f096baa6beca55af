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
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestBookkeepingIsFreed creates 2,000 federated objects, removes a
// cluster, then deletes every object, half through fedhub's finalizer and
// half with the finalizer stripped by a user (the delete is only seen as
// the object leaving the cache). What the controller and the cluster set
// remember per object and per cluster must shrink back each time.
func TestBookkeepingIsFreed(t *testing.T) {
	const objects = 2000
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	fx := newPropagationFixture(t, configMaps, 0)
	c := fx.controller
	defer c.queue.ShutDown()
	ctx := context.Background()
	// As when the controller starts: every member is known, each with a client.
	c.forgetClusters(map[string]bool{"member-1": true, "member-2": true, "member-3": true})
	for _, name := range []string{"member-1", "member-2", "member-3"} {
		c.clusters.clients[name] = memberClient{fingerprint: name}
	}
	records, memberEntries := c.bookkeeping()
	if records != 0 || memberEntries != 0 {
		t.Fatalf("a new controller remembers %d objects, %d member objects", records, memberEntries)
	}

	key := func(i int) string { return fmt.Sprintf("demo/cm-%d", i) }
	for i := range objects {
		fed := fx.federated(map[string]any{"spec": map[string]any{"template": map[string]any{"data": map[string]any{"i": fmt.Sprint(i)}},
			"placement": map[string]any{"clusterSelector": map[string]any{}}}}, withFinalizer, "")
		fed.SetName(fmt.Sprintf("cm-%d", i))
		fed.SetUID(types.UID(fmt.Sprintf("uid-%d", i)))
		fx.add(t, fed)
		c.processNext(ctx, key(i))
	}
	// member-1 and member-2 are ready and got each object; member-3 is not.
	if records, memberEntries := c.bookkeeping(); records != objects || memberEntries != 2*objects {
		t.Fatalf("after the creates: %d objects, %d member objects remembered; want %d, %d", records, memberEntries, objects, 2*objects)
	}

	// member-2 leaves the federation.
	if err := fx.clusterCache.Delete(&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-2", Namespace: c.clusters.namespace}}); err != nil {
		t.Fatal(err)
	}
	c.syncMembers(ctx)
	if records, memberEntries := c.bookkeeping(); records != objects || memberEntries != objects {
		t.Errorf("after member-2 left: %d objects, %d member objects remembered; want %d, %d", records, memberEntries, objects, objects)
	}
	c.clusters.Clusters()
	c.clusters.mu.Lock()
	if _, ok := c.clusters.clients["member-2"]; ok || len(c.clusters.clients) != 2 {
		t.Errorf("the cluster set still holds clients %v", c.clusters.clients)
	}
	c.clusters.mu.Unlock()

	for i := range objects {
		obj, _, _ := fx.fedCache.GetByKey(key(i))
		fed := obj.(*unstructured.Unstructured)
		if i%2 == 0 {
			// Deleted with fedhub's finalizer (long enough ago not to wait for member-3).
			deleting := fed.DeepCopy()
			deleting.SetDeletionTimestamp(&metav1.Time{Time: time.Now().Add(-2 * UnreadyDeletionTimeout)})
			if err := fx.fedCache.Update(deleting); err != nil {
				t.Fatal(err)
			}
			c.processNext(ctx, key(i))
		}
		// Gone from the cache: released above, or deleted by a user who
		// stripped the finalizer first.
		if err := fx.fedCache.Delete(fed); err != nil {
			t.Fatal(err)
		}
		c.processNext(ctx, key(i))
		if c.queue.NumRequeues(key(i)) != 0 {
			t.Fatalf("the queue still counts retries of %s", key(i))
		}
	}
	if records, memberEntries := c.bookkeeping(); records != 0 || memberEntries != 0 {
		t.Errorf("after every object was deleted: %d objects, %d member objects remembered; want none", records, memberEntries)
	}
	if c.queue.Len() != 0 {
		t.Errorf("%d keys are still queued", c.queue.Len())
	}
}

// bookkeeping counts the objects and the member objects the controller remembers.
func (c *TypeController) bookkeeping() (records, memberEntries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.records {
		memberEntries += len(r.members)
	}
	return len(c.records) + len(c.waiting), memberEntries
}
