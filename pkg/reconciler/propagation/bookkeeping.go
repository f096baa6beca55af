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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// objectRecord is what a TypeController remembers of one federated object
// between reconciles. All of it is kept under the object's key, the key
// of the queue and the cache, so that forgetting the object is one delete:
// the key is all that is left of an object whose delete was observed
// without fedhub's finalizer (a user stripped it, or it never had it).
type objectRecord struct {
	// statusVersion is the resourceVersion of the status fedhub last wrote.
	statusVersion string
	// members is, per cluster, the member object as fedhub last wrote or
	// found it in sync.
	members map[string]appliedVersion
}

// appliedVersion is a member object's resourceVersion that fedhub wrote or
// found in sync, for one generation of one federated object (by UID, so a
// federated object deleted and created again is not taken for the old one).
type appliedVersion struct {
	uid             types.UID
	generation      int64
	resourceVersion string
}

// fedKey is the key of a federated object in the queue and the cache.
func fedKey(fed *unstructured.Unstructured) string {
	return objectName(fed.GetNamespace(), fed.GetName())
}

// record returns the record of key, made when missing; c.mu is held.
func (c *TypeController) record(key string) *objectRecord {
	if c.records == nil {
		c.records = map[string]*objectRecord{}
	}
	r, ok := c.records[key]
	if !ok {
		r = &objectRecord{}
		c.records[key] = r
	}
	return r
}

// applied remembers the member object's resourceVersion as fedhub's own
// doing for this generation of the federated object.
func (c *TypeController) applied(cluster string, fed, member *unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.knownClusters != nil && !c.knownClusters[cluster] {
		return // removed while this reconcile ran; nothing will ask
	}
	r := c.record(fedKey(fed))
	if r.members == nil {
		r.members = map[string]appliedVersion{}
	}
	r.members[cluster] = appliedVersion{uid: fed.GetUID(), generation: fed.GetGeneration(), resourceVersion: member.GetResourceVersion()}
}

// ownWrite tells whether a member object is exactly as fedhub last wrote or
// found it: its watch event then brings nothing to reconcile.
func (c *TypeController) ownWrite(cluster string, member metav1.Object) bool {
	key, ok := c.memberKey(member)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[key]
	if !ok {
		return false
	}
	last, ok := r.members[cluster]
	return ok && last.resourceVersion == member.GetResourceVersion()
}

// wasApplied says whether the member object differs although fedhub applied
// this generation to it: then someone changed it in the member.
func (c *TypeController) wasApplied(cluster string, fed, live *unstructured.Unstructured) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[fedKey(fed)]
	if !ok {
		return false
	}
	last, ok := r.members[cluster]
	return ok && last.uid == fed.GetUID() && last.generation == fed.GetGeneration() && last.resourceVersion != live.GetResourceVersion()
}

// statusStored remembers the resourceVersion of a status fedhub wrote.
func (c *TypeController) statusStored(stored *unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record(fedKey(stored)).statusVersion = stored.GetResourceVersion()
}

// ownStatus tells whether a federated object is the version fedhub's own
// status write made.
func (c *TypeController) ownStatus(fed *unstructured.Unstructured) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[fedKey(fed)]
	return ok && r.statusVersion != "" && r.statusVersion == fed.GetResourceVersion()
}

// forget drops what fedhub remembers of a federated object that is gone or
// no longer fedhub's to handle.
func (c *TypeController) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.records, key)
}

// forgetClusters drops what fedhub remembers of member objects in clusters
// that are no longer members; clusters holds the names of those that are.
// It walks every record only when a cluster went away since the last call.
func (c *TypeController) forgetClusters(clusters map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	removed := false
	for name := range c.knownClusters {
		removed = removed || !clusters[name]
	}
	c.knownClusters = clusters
	if !removed {
		return
	}
	for key, r := range c.records {
		for name := range r.members {
			if !clusters[name] {
				delete(r.members, name)
			}
		}
		if len(r.members) == 0 && r.statusVersion == "" {
			delete(c.records, key)
		}
	}
}
