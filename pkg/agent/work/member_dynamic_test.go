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

package work

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func newFakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{deploymentRef.Resource: "DeploymentList"}, objs...)
}

// TestDynamicMember: reads come from the managed-object cache once it has
// filled, else from a GET; an object not there is nil; orphaning removes
// the label; a delete says whether the object is gone.
func TestDynamicMember(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	managedObj := liveDeployment(3, managedLabels())
	other := liveDeployment(1, map[string]string{"team": "a"}, func(o *unstructured.Unstructured) { o.SetName("theirs") })
	client := newFakeDynamic(managedObj, other)
	synced := make(chan schema.GroupVersionResource, 1)
	m := NewDynamicMember(ctx, client, nil, func(r schema.GroupVersionResource) { synced <- r })
	m.Watch(deploymentRef.Resource)
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("the member informer did not fill")
	}
	client.ClearActions()

	got, err := m.Get(ctx, deploymentRef)
	if err != nil || got == nil || got.GetName() != "web" {
		t.Fatalf("Get managed: %v, %v", got, err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("a managed object in the cache was read with %d requests", n)
	}
	theirs := Ref{Resource: deploymentRef.Resource, Namespace: "shop", Name: "theirs"}
	if got, err := m.Get(ctx, theirs); err != nil || got == nil {
		t.Errorf("Get unmanaged: %v, %v; want it read with a GET", got, err)
	}
	if got, err := m.Get(ctx, Ref{Resource: deploymentRef.Resource, Namespace: "shop", Name: "none"}); err != nil || got != nil {
		t.Errorf("Get missing: %v, %v; want nil, nil", got, err)
	}

	if err := m.Unmanage(ctx, deploymentRef); err != nil {
		t.Fatal(err)
	}
	stored, err := client.Resource(deploymentRef.Resource).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.GetLabels()[managedLabel]; ok {
		t.Errorf("labels after Unmanage: %v", stored.GetLabels())
	}

	gone, err := m.Delete(ctx, theirs, "", metav1.DeleteOptions{})
	if err != nil || !gone {
		t.Errorf("Delete: gone %v, %v; want gone", gone, err)
	}
	gone, err = m.Delete(ctx, theirs, "", metav1.DeleteOptions{})
	if err != nil || !gone {
		t.Errorf("Delete of a missing object: gone %v, %v; want gone", gone, err)
	}
}

// TestDynamicMemberFresher: the object an apply returned stands in for the
// cached version it replaced, and only for that one.
func TestDynamicMemberFresher(t *testing.T) {
	m := NewUncachedMember(newFakeDynamic())
	cached := liveDeployment(3, managedLabels())
	applied := liveDeployment(5, managedLabels(), func(o *unstructured.Unstructured) { o.SetResourceVersion("101") })
	m.written[deploymentRef] = writtenObject{replaced: "100", obj: applied}
	if got := m.fresher(deploymentRef, cached); got != applied {
		t.Errorf("the cache still at the replaced version: got version %s, want the applied object", got.GetResourceVersion())
	}
	newer := liveDeployment(5, managedLabels(), func(o *unstructured.Unstructured) { o.SetResourceVersion("102") })
	if got := m.fresher(deploymentRef, newer); got != newer {
		t.Errorf("the cache moved on: got version %s, want the cached object", got.GetResourceVersion())
	}
	if _, ok := m.written[deploymentRef]; ok {
		t.Errorf("the applied object is still remembered once the cache moved on")
	}
}
