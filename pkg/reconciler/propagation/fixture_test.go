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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
)

// fixtureTargets are the kinds a propagationFixture propagates (the fuzz
// target picks one by a byte): kinds whose reconcile reads fields of their
// own (workloads' rollouts, a Service's and a ServiceAccount's allocated
// fields, a Secret's stringData, a Namespace's name), a cluster-scoped kind
// and a custom resource.
var fixtureTargets = []corev1beta1.APIResource{
	{Group: "apps", Version: "v1", Kind: "Deployment", PluralName: "deployments", Scope: corev1beta1.NamespaceScoped},
	{Group: "apps", Version: "v1", Kind: "DaemonSet", PluralName: "daemonsets", Scope: corev1beta1.NamespaceScoped},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet", PluralName: "replicasets", Scope: corev1beta1.NamespaceScoped},
	{Group: "batch", Version: "v1", Kind: "Job", PluralName: "jobs", Scope: corev1beta1.NamespaceScoped},
	{Version: "v1", Kind: "Service", PluralName: "services", Scope: corev1beta1.NamespaceScoped},
	{Version: "v1", Kind: "ServiceAccount", PluralName: "serviceaccounts", Scope: corev1beta1.NamespaceScoped},
	{Version: "v1", Kind: "Secret", PluralName: "secrets", Scope: corev1beta1.NamespaceScoped},
	{Version: "v1", Kind: "Namespace", PluralName: "namespaces", Scope: corev1beta1.ClusterScoped},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", PluralName: "clusterroles", Scope: corev1beta1.ClusterScoped},
	{Group: "example.com", Version: "v1alpha1", Kind: "Widget", PluralName: "widgets", Scope: corev1beta1.NamespaceScoped},
}

// The flags that shape a propagationFixture and its federated object.
const (
	withDeleting = 1 << iota
	withFinalizer
	withOrphan
	withStatusCollection
	withAdoption
	// withNamespaces and the bit after it pick how namespaces are federated.
	withNamespaces
	_
	// withUncachedMember puts member-1's object in the member only, labelled
	// managed=false, so that the create meets it.
	withUncachedMember
)

// propagationFixture is a TypeController over fake fedhub and member clients,
// with listers over indexers in place of its informers.
type propagationFixture struct {
	controller *TypeController
	fedhub     *dynamicfake.FakeDynamicClient
	fedCache   cache.Indexer
	// member is member-1's server and cache.
	member      *dynamicfake.FakeDynamicClient
	memberCache cache.Indexer
	// clusterCache holds the KubeFedClusters.
	clusterCache cache.Indexer
}

func newPropagationFixture(t *testing.T, target corev1beta1.APIResource, flags uint8) *propagationFixture {
	t.Helper()
	federatedScope := corev1beta1.NamespaceScoped
	if target.Scope == corev1beta1.ClusterScoped && target.Kind != "Namespace" {
		federatedScope = corev1beta1.ClusterScoped
	}
	tc := &corev1beta1.FederatedTypeConfig{ObjectMeta: metav1.ObjectMeta{Name: target.PluralName, Namespace: "kube-federation-system"},
		Spec: corev1beta1.FederatedTypeConfigSpec{TargetType: target, Propagation: corev1beta1.PropagationEnabled,
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "Federated" + target.Kind,
				PluralName: "federated" + target.PluralName, Scope: federatedScope}}}
	if flags&withStatusCollection != 0 {
		collect := corev1beta1.StatusCollectionEnabled
		tc.Spec.StatusCollection = &collect
	}

	clusters := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for i, name := range []string{"member-1", "member-2", "member-3"} {
		ready := corev1.ConditionTrue
		if i == 2 {
			ready = corev1.ConditionFalse
		}
		_ = clusters.Add(&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tc.Namespace, Labels: map[string]string{"tier": "gold"}},
			Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: ready}}}})
	}
	clusterSet := &ClusterSet{namespace: tc.Namespace, clusters: fedlisters.NewKubeFedClusterLister(clusters),
		clients: map[string]memberClient{}, listeners: map[int]func(){}}

	fx := &propagationFixture{fedCache: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		clusterCache: clusters}
	fx.fedhub = newFakeServer(tc.Spec.FederatedType)
	var namespaces NamespacePlacement
	switch (flags / withNamespaces) % 4 {
	case 1:
		namespaces = func(string) (*unstructured.Unstructured, bool, error) { return nil, true, nil }
	case 2:
		// The federated object, whatever its shape, as its namespace's placement.
		namespaces = func(string) (*unstructured.Unstructured, bool, error) {
			for _, obj := range fx.fedCache.List() {
				if u, ok := obj.(*unstructured.Unstructured); ok {
					return u, true, nil
				}
			}
			return nil, true, nil
		}
	case 3:
		namespaces = func(string) (*unstructured.Unstructured, bool, error) { return nil, true, context.DeadlineExceeded }
	}
	adopt := flags&withAdoption != 0
	c := NewTypeController(tc, fx.fedhub, clusterSet, namespaces, func() bool { return adopt }, &record.FakeRecorder{})
	c.fedLister = cache.NewGenericLister(fx.fedCache, c.federated.GroupResource())
	c.fedSynced = func() bool { return true }
	for _, name := range []string{"member-1", "member-2"} {
		client := newFakeServer(target)
		indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		c.members[name] = &memberInformer{started: time.Now(), client: client, store: indexer,
			synced: func() bool { return true }, cancel: func() {}}
		if name == "member-1" {
			fx.member, fx.memberCache = client, indexer
		}
	}
	fx.controller = c
	return fx
}

// newFakeServer is a fake API server that serves resource.
func newFakeServer(resource corev1beta1.APIResource) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{resource.GroupVersionResource(): resource.Kind + "List"})
}

// federated makes content the federated object, with the metadata an API
// server would have given it and the flags ask for.
func (fx *propagationFixture) federated(content map[string]any, flags uint8, deleteOption string) *unstructured.Unstructured {
	c := fx.controller
	fed := &unstructured.Unstructured{Object: content}
	delete(content, "metadata")
	fed.SetGroupVersionKind(c.typeConfig.Spec.FederatedType.GroupVersionKind())
	fed.SetName("web")
	if c.typeConfig.Spec.FederatedType.Scope == corev1beta1.NamespaceScoped {
		fed.SetNamespace("demo")
	}
	if isNamespaceKind(c.targetKind) {
		fed.SetName("demo")
	}
	fed.SetUID("fed-uid")
	fed.SetResourceVersion("7")
	fed.SetGeneration(3)
	fed.SetCreationTimestamp(metav1.NewTime(time.Now().Add(-time.Hour)))
	if flags&withDeleting != 0 {
		// Past the wait for unready clusters, so that deletion goes all the way.
		fed.SetDeletionTimestamp(&metav1.Time{Time: time.Now().Add(-2 * UnreadyDeletionTimeout)})
	}
	if flags&withFinalizer != 0 {
		fed.SetFinalizers([]string{Finalizer})
	}
	annotations := map[string]string{}
	if flags&withOrphan != 0 {
		annotations[OrphanAnnotation] = "true"
	}
	if deleteOption != "" {
		annotations[DeleteOptionAnnotation] = deleteOption
	}
	fed.SetAnnotations(annotations)
	return fed
}

// memberObject puts content, as the propagated object, in member-1, and in
// its cache unless uncached.
func (fx *propagationFixture) memberObject(t *testing.T, content map[string]any, uncached bool) {
	t.Helper()
	c := fx.controller
	live := &unstructured.Unstructured{Object: content}
	delete(content, "metadata")
	live.SetGroupVersionKind(c.targetKind)
	namespace, name := "demo", "web"
	if isNamespaceKind(c.targetKind) {
		namespace, name = "", "demo"
	} else if !c.namespaced {
		namespace = ""
	}
	live.SetNamespace(namespace)
	live.SetName(name)
	live.SetResourceVersion("5")
	live.SetGeneration(2)
	live.SetLabels(map[string]string{ManagedLabel: "true"})
	if uncached {
		live.SetLabels(map[string]string{ManagedLabel: "false"})
	} else if err := fx.memberCache.Add(mustCompact(t, live)); err != nil {
		t.Fatal(err)
	}
	if err := fx.member.Tracker().Add(live); err != nil {
		t.Fatal(err)
	}
}

// add stores the federated object in fedhub and in the controller's cache.
func (fx *propagationFixture) add(t *testing.T, fed *unstructured.Unstructured) {
	t.Helper()
	if err := fx.fedhub.Tracker().Add(fed.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	if err := fx.fedCache.Add(fed); err != nil {
		t.Fatal(err)
	}
}

// addPullMember adds member-4, a ready pull member, whose Work of fed is in
// an in-memory store with memberJSON, whatever it holds, as the agent's
// excerpt of the member object (none for an empty input).
func (fx *propagationFixture) addPullMember(t *testing.T, fed *unstructured.Unstructured, memberJSON []byte) *memoryWorks {
	t.Helper()
	c := fx.controller
	_ = fx.clusterCache.Add(&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-4", Namespace: "kube-federation-system"},
		Spec:   corev1beta1.KubeFedClusterSpec{Mode: corev1beta1.ClusterModePull},
		Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue}}}})
	store := &memoryWorks{works: map[string]*agentv1alpha1.Work{}}
	c.pull = &pullDeliverer{works: store, federated: c.federated, target: c.target, namespaced: c.namespaced, adopt: c.settings, reportStatus: true}
	if len(memberJSON) > 0 {
		name := WorkName("member-4", c.federated.Resource, fed.GetNamespace(), fed.GetName())
		work := &agentv1alpha1.Work{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
			Spec:   agentv1alpha1.WorkSpec{ClusterName: "member-4", Manifest: runtime.RawExtension{Raw: memberJSON}},
			Status: agentv1alpha1.WorkStatus{ObservedGeneration: 1, Member: &runtime.RawExtension{Raw: memberJSON}}}
		store.works[name] = work
	}
	return store
}

// mustCompact is what a member informer stores of live (compactMemberObject).
func mustCompact(t *testing.T, live *unstructured.Unstructured) any {
	t.Helper()
	compact, err := compactMemberObject(live.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	return compact
}
