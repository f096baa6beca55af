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

package scheduling

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler/reconcilertest"
)

// The bits of FuzzSchedulingSync's cluster flags: bit i (0 to 2) makes
// member-(i+1) ready, bit 3+i gives it the label tier=gold.
const (
	fuzzServed         = 1 << 6 // the target kind is served and its cache synced
	fuzzAuthorRecorded = 1 << 7 // the workload carries its author's grant
)

// FuzzSchedulingSync plans a ReplicaSchedulingPreference whose typed fields
// are fuzzed (decoded from JSON: any targetKind, negative or huge numbers,
// nil, empty or "*" cluster maps, any status) for a workload of the same
// name whose content is fuzzed JSON (an object is the workload without its
// metadata, any other value its spec), over three clusters whose readiness
// and labels are fuzzed, with a fuzzed author grant. Neither planning, nor
// reporting a panic, nor clearing that report may panic, and a plan may
// change nothing in the workload but spec.placement and spec.overrides. The
// committed corpus holds the workload that once crashed fedhub (no spec) and
// its kin: spec null or a string, placement a number, clusters a map,
// overrides not a list or with null entries.
func FuzzSchedulingSync(f *testing.F) {
	f.Add([]byte(`{"spec":{"targetKind":"FederatedDeployment","totalReplicas":6,"clusters":{"member-1":{"weight":2},"member-2":{"weight":1}}}}`),
		[]byte(`{"spec":{"template":{"spec":{"replicas":1}},"placement":{"clusters":[{"name":"member-1"}]}}}`), uint8(fuzzServed|0b111), "")
	f.Fuzz(func(t *testing.T, preferenceJSON, workloadJSON []byte, clusterFlags uint8, authorClusters string) {
		rsp := &schedulingv1alpha1.ReplicaSchedulingPreference{}
		if err := json.Unmarshal(preferenceJSON, rsp); err != nil {
			return // not a preference at all: the API server refuses it
		}
		rsp.Namespace, rsp.Name = "shop", "web"

		kind := rsp.Spec.TargetKind
		if _, ok := targetKinds[kind]; !ok {
			kind = "FederatedDeployment"
		}
		resource := targetKinds[kind]
		workload := &unstructured.Unstructured{Object: reconcilertest.ObjectContent(workloadJSON)}
		delete(workload.Object, "metadata")
		workload.SetGroupVersionKind(resource.GroupVersion().WithKind(kind))
		workload.SetNamespace("shop")
		workload.SetName("web")
		workload.SetGeneration(4)
		workload.SetResourceVersion("9")
		if clusterFlags&fuzzAuthorRecorded != 0 {
			workload.SetAnnotations(map[string]string{typesv1beta1.AuthorClustersAnnotation: authorClusters})
		}
		fedhub := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{resource: kind + "List"})
		if err := fedhub.Tracker().Add(workload.DeepCopy()); err != nil {
			t.Fatal(err)
		}

		var clusters []*corev1beta1.KubeFedCluster
		for i, name := range []string{"member-1", "member-2", "member-3"} {
			ready := corev1.ConditionFalse
			if clusterFlags&(1<<i) != 0 {
				ready = corev1.ConditionTrue
			}
			var labels map[string]string
			if clusterFlags&(1<<(3+i)) != 0 {
				labels = map[string]string{"tier": "gold"}
			}
			clusters = append(clusters, &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fixtureNamespace, Labels: labels},
				Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: ready}}}})
		}
		fx := newSchedulingFixture(t, fedhub, []*schedulingv1alpha1.ReplicaSchedulingPreference{rsp}, clusters)
		if clusterFlags&fuzzServed != 0 {
			workloads := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			if err := workloads.Add(workload.DeepCopy()); err != nil {
				t.Fatal(err)
			}
			fx.serve(kind, workloads)
		}

		ctx := context.Background()
		_ = fx.controller.sync(ctx, "shop/web")
		_ = fx.controller.reportPanic(ctx, "shop/web", "planning panicked")
		_ = fx.controller.clearReconcileError(ctx, "shop/web")

		stored, err := fedhub.Resource(resource).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if before, after := withoutPlan(workload), withoutPlan(stored); before != after {
			t.Errorf("the plan changed more than placement and overrides:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// withoutPlan is the workload as JSON without what a plan writes.
func withoutPlan(workload *unstructured.Unstructured) string {
	w := workload.DeepCopy()
	unstructured.RemoveNestedField(w.Object, "spec", "placement")
	unstructured.RemoveNestedField(w.Object, "spec", "overrides")
	data, _ := json.Marshal(w.Object)
	return string(data)
}
