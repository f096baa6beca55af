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
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/test/objects"
)

// fixtureNamespace is the federation namespace of the fixture's clusters.
const fixtureNamespace = "kube-federation-system"

// schedulingFixture is the controller as NewController wires it, over a fake
// clientset and informers that never run: the fixture fills their caches.
type schedulingFixture struct {
	controller *Controller
	client     *fedfake.Clientset
	recorder   *record.FakeRecorder
	// preferences is the preferences' cache, which the fixture's informer never updates.
	preferences cache.Indexer
}

// newSchedulingFixture stores preferences and clusters in the fake clientset
// and in the informers' caches; fedhub serves the workloads.
func newSchedulingFixture(t testing.TB, fedhub dynamic.Interface, preferences []*schedulingv1alpha1.ReplicaSchedulingPreference,
	clusters []*corev1beta1.KubeFedCluster) *schedulingFixture {
	t.Helper()
	fx := &schedulingFixture{client: fedfake.NewSimpleClientset(), recorder: record.NewFakeRecorder(100)}
	factory := fedinformers.NewSharedInformerFactory(fx.client, 0)
	rsps := factory.Scheduling().V1alpha1().ReplicaSchedulingPreferences()
	kfcs := factory.Core().V1beta1().KubeFedClusters()
	add := func(informer cache.SharedIndexInformer, obj runtime.Object) {
		if err := fx.client.Tracker().Add(obj); err != nil {
			t.Fatal(err)
		}
		if err := informer.GetIndexer().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, rsp := range preferences {
		add(rsps.Informer(), rsp)
	}
	for _, kfc := range clusters {
		add(kfcs.Informer(), kfc)
	}
	c, err := NewController(fixtureNamespace, rsps, fx.client.SchedulingV1alpha1(), kfcs, factory.Core().V1beta1().FederatedTypeConfigs(), fedhub, fx.recorder)
	if err != nil {
		t.Fatal(err)
	}
	fx.controller, fx.preferences = c, rsps.Informer().GetIndexer()
	return fx
}

// serve has the controller follow the workloads of kind in indexer, as once
// an FTC federates it and its informer has synced.
func (fx *schedulingFixture) serve(kind string, indexer cache.Indexer) {
	fx.controller.workloads[kind] = &workloadInformer{lister: cache.NewGenericLister(indexer, targetKinds[kind].GroupResource()),
		synced: func() bool { return true }, cancel: func() {}}
}

// newServedFixture is the fixture for one preference whose FederatedDeployment,
// workload, fedhub stores and serves, with member-1 as the one ready cluster.
func newServedFixture(t testing.TB, rsp *schedulingv1alpha1.ReplicaSchedulingPreference, workload *unstructured.Unstructured) *schedulingFixture {
	t.Helper()
	resource := targetKinds["FederatedDeployment"]
	fedhub := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{resource: "FederatedDeploymentList"}, workload.DeepCopy())
	member := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: "member-1"},
		Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue}}}}
	fx := newSchedulingFixture(t, fedhub, []*schedulingv1alpha1.ReplicaSchedulingPreference{rsp}, []*corev1beta1.KubeFedCluster{member})
	workloads := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := workloads.Add(workload); err != nil {
		t.Fatal(err)
	}
	fx.serve("FederatedDeployment", workloads)
	return fx
}

// newCapacityFixture is the fixture of capacity tests: a preference for 6
// replicas of the FederatedDeployment shop/web weighted 2:1 over member-1
// and member-2, the workload asking for 4:2 and not ready, both clusters
// ready; pull lists the members joined in pull mode.
func newCapacityFixture(t testing.TB, pull ...string) (*schedulingFixture, *dynamicfake.FakeDynamicClient, []*corev1beta1.KubeFedCluster) {
	t.Helper()
	rsp := &schedulingv1alpha1.ReplicaSchedulingPreference{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: "FederatedDeployment", TotalReplicas: 6,
			Clusters: map[string]schedulingv1alpha1.ClusterPreferences{"member-1": {Weight: 2}, "member-2": {Weight: 1}}}}
	workload := objects.FromYAML(t, `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: shop, generation: 2}
spec:
  template: {spec: {replicas: 1}}
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides:
  - {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 4}]}
  - {clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}
status:
  conditions: [{type: Ready, status: "False", reason: ReplicasNotReady}]`)
	resource := targetKinds["FederatedDeployment"]
	fedhub := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{resource: "FederatedDeploymentList"}, workload.DeepCopy())
	var clusters []*corev1beta1.KubeFedCluster
	for _, name := range []string{"member-1", "member-2"} {
		cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: name},
			Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue}}}}
		if slices.Contains(pull, name) {
			cluster.Spec.Mode = corev1beta1.ClusterModePull
		}
		clusters = append(clusters, cluster)
	}
	fx := newSchedulingFixture(t, fedhub, []*schedulingv1alpha1.ReplicaSchedulingPreference{rsp}, clusters)
	workloads := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := workloads.Add(workload); err != nil {
		t.Fatal(err)
	}
	fx.serve("FederatedDeployment", workloads)
	return fx, fedhub, clusters
}
