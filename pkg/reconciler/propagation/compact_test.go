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
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
)

func TestCompactMemberObject(t *testing.T) {
	member := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "a", "namespace": "ns", "resourceVersion": "42",
			"labels":        map[string]any{ManagedLabel: "true"},
			"managedFields": []any{map[string]any{"manager": "fedhub", "operation": "Update"}}},
		"data": map[string]any{"key": "value", "n": int64(3)},
	}}
	want := member.DeepCopy()
	unstructured.RemoveNestedField(want.Object, "metadata", "managedFields")

	transformed, err := compactMemberObject(member)
	if err != nil {
		t.Fatal(err)
	}
	compact, ok := transformed.(*compactMember)
	if !ok {
		t.Fatalf("transformed into %T", transformed)
	}
	// The store keys it, and the handlers read its version, as the object's.
	if key, err := cache.MetaNamespaceKeyFunc(compact); err != nil || key != "ns/a" {
		t.Errorf("store key %q, %v", key, err)
	}
	if compact.GetResourceVersion() != "42" {
		t.Errorf("resourceVersion %q", compact.GetResourceVersion())
	}
	// Transforming again (client-go may) changes nothing.
	if again, _ := compactMemberObject(compact); again != compact {
		t.Error("a compact object was transformed again")
	}
	// A reconcile gets the object back, without managedFields, its own to change.
	for range 2 {
		got, err := compact.object()
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(got.Object, want.Object) {
			t.Fatalf("decoded %v, want %v", got.Object, want.Object)
		}
		got.Object["data"] = map[string]any{}
		got.SetName("changed")
	}
	// A copy of the cached object shares nothing it could change.
	copied := compact.DeepCopyObject().(*compactMember)
	copied.Labels = map[string]string{"x": "y"}
	if compact.Labels != nil {
		t.Error("the copy's metadata is the original's")
	}
	var _ metav1.Object = compact
}

// TestCachedThroughARealMemberInformer reads a member object as a reconcile
// does, through the informer startMemberInformer runs (its transform and
// store), not a fixture's.
func TestCachedThroughARealMemberInformer(t *testing.T) {
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	fx := newPropagationFixture(t, configMaps, 0)
	member := newFakeServer(configMaps)
	live := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "web", "namespace": "demo", "resourceVersion": "7", "labels": map[string]any{ManagedLabel: "true"}},
		"data":     map[string]any{"color": "blue"}}}
	if err := member.Tracker().Add(live.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fx.controller.startMemberInformer(ctx, Cluster{KubeFedCluster: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-9"}}, Client: member})
	defer m.cancel()
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return m.synced(), nil
	}); err != nil {
		t.Fatal("the member informer did not sync")
	}
	got, err := fx.controller.cached(m, "demo", "web")
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || !equality.Semantic.DeepEqual(got.Object, live.Object) {
		t.Fatalf("cached %v, want %v", got, live.Object)
	}
	if missing, err := fx.controller.cached(m, "demo", "gone"); missing != nil || err != nil {
		t.Errorf("a missing object: %v, %v", missing, err)
	}
}
