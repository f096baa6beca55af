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

package work_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"

	"github.com/fedhub/fedhub/apis/agent"
	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry/agent/work"
	"github.com/fedhub/fedhub/registry/registrytest"
)

const namespace = "kube-federation-system"

func newStorage(t *testing.T) (*work.REST, *work.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := work.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

// withoutFinalizer is the store with the finalizer left out at create, for
// the generic tests, which delete what they create and expect it gone.
func withoutFinalizer(storage *work.REST) *genericregistry.Store {
	store := *storage.Store
	strategy, _ := work.NewStrategies(apiserver.Scheme)
	store.CreateStrategy = strategy.SpecStrategy
	return &store
}

func validNewWork(cluster string) *agent.Work {
	return &agent.Work{
		ObjectMeta: metav1.ObjectMeta{Name: cluster + "-0123456789abcdef", Namespace: metav1.NamespaceDefault},
		Spec: agent.WorkSpec{
			ClusterName: cluster,
			Source: agent.WorkSource{APIVersion: "types.kubefed.io/v1beta1", Kind: "FederatedConfigMap",
				Resource: "federatedconfigmaps", Namespace: "default", Name: "settings"},
			Resource: agent.WorkResource{Version: "v1", Resource: "configmaps", Namespaced: true},
			Manifest: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"},"data":{"a":"b"}}`)},
		},
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, withoutFinalizer(storage))
	valid := validNewWork("member-2")
	valid.ObjectMeta = metav1.ObjectMeta{}
	noCluster := validNewWork("")
	noCluster.Namespace = test.TestNamespace()
	badManifest := validNewWork("member-2")
	badManifest.Namespace = test.TestNamespace()
	badManifest.Spec.Manifest = runtime.RawExtension{Raw: []byte(`[]`)}
	test.TestCreate(valid, noCluster, badManifest)
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, withoutFinalizer(storage))
	test.TestUpdate(validNewWork("member-2"),
		func(obj runtime.Object) runtime.Object {
			object := obj.(*agent.Work)
			object.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"a":"c"}}`)}
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*agent.Work)
			object.Spec.ClusterName = "member-3"
			return object
		},
	)
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	genericregistrytest.New(t, withoutFinalizer(storage)).TestGet(validNewWork("member-2"))
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	genericregistrytest.New(t, withoutFinalizer(storage)).TestList(validNewWork("member-2"))
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, withoutFinalizer(storage))
	w := validNewWork("member-2")
	w.Namespace = test.TestNamespace()
	test.TestWatch(w,
		[]labels.Set{{}},
		[]labels.Set{{"a": "b"}},
		[]fields.Set{{"spec.clusterName": "member-2"}, {"metadata.name": w.Name, "spec.clusterName": "member-2"}},
		[]fields.Set{{"spec.clusterName": "member-3"}, {"metadata.name": "other"}},
	)
}

func TestFieldLabelConversion(t *testing.T) {
	gvk := agentv1alpha1.SchemeGroupVersion.WithKind("Work")
	if _, _, err := apiserver.Scheme.ConvertFieldLabel(gvk, "spec.clusterName", "member-2"); err != nil {
		t.Errorf("spec.clusterName is not a field label of Works: %v", err)
	}
	if _, _, err := apiserver.Scheme.ConvertFieldLabel(gvk, "spec.source.name", "x"); err == nil {
		t.Error("spec.source.name was accepted as a field label")
	}
}

func TestCreateAddsTheFinalizer(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
	w := validNewWork("member-2")
	w.Finalizers = []string{"example.com/other"}
	obj, err := storage.Create(ctx, w, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got, want := obj.(*agent.Work).Finalizers, []string{"example.com/other", work.Finalizer}; !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("finalizers %v, want %v", got, want)
	}
	w = validNewWork("member-3")
	w.Finalizers = []string{work.Finalizer}
	obj, err = storage.Create(ctx, w, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := obj.(*agent.Work).Finalizers; len(got) != 1 {
		t.Errorf("finalizers %v, want the one it had", got)
	}
	if work.Finalizer != "agent.fedhub.io/member-cleanup" {
		t.Errorf("Finalizer = %q", work.Finalizer)
	}
}

func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
	sent := validNewWork("member-2")
	sent.Status.Result = "CreationFailed"
	obj, err := storage.Create(ctx, sent, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	created := obj.(*agent.Work)
	if created.Status.Result != "" || created.Generation != 1 {
		t.Errorf("created with status %+v generation %d, want no status and 1", created.Status, created.Generation)
	}
	report := created.DeepCopy()
	report.Status = agent.WorkStatus{ObservedGeneration: 1, Result: "UpdateFailed", Message: "denied"}
	report.Spec.ClusterName = "member-3"
	report.Finalizers = nil
	if _, _, err := statusStorage.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(report),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status update: %v", err)
	}
	after := getWork(t, storage, ctx, created.Name)
	if after.Spec.ClusterName != "member-2" || len(after.Finalizers) != 1 || after.Status.Result != "UpdateFailed" {
		t.Errorf("after a status write: cluster %q finalizers %v result %q; want member-2, the finalizer, UpdateFailed",
			after.Spec.ClusterName, after.Finalizers, after.Status.Result)
	}
	spec := after.DeepCopy()
	spec.Status = agent.WorkStatus{}
	spec.Spec.Orphan = true
	if _, _, err := storage.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(spec),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("spec update: %v", err)
	}
	after = getWork(t, storage, ctx, created.Name)
	if !after.Spec.Orphan || after.Generation != 2 || after.Status.Result != "UpdateFailed" {
		t.Errorf("after a spec write: orphan %v generation %d result %q; want true, 2, the status kept", after.Spec.Orphan, after.Generation, after.Status.Result)
	}
}

func getWork(t *testing.T, storage *work.REST, ctx context.Context, name string) *agent.Work {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return obj.(*agent.Work)
}

func asUser(name string) context.Context {
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
	return genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: name, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + agentidentity.AgentNamespace}})
}

func selector(s string) *metainternalversion.ListOptions {
	return &metainternalversion.ListOptions{FieldSelector: fields.ParseSelectorOrDie(s)}
}

func wantForbidden(t *testing.T, label string, err error, message string) {
	t.Helper()
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), message) {
		t.Errorf("%s: got %v, want Forbidden saying %q", label, err, message)
	}
}

// TestAgentScoping checks that an agent reaches only its own cluster's Works,
// only as docs/pull.md says, whatever RBAC lets through.
func TestAgentScoping(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	admin := asUser("admin")
	mine, theirs := validNewWork("member-2"), validNewWork("member-3")
	for _, w := range []*agent.Work{mine, theirs} {
		if _, err := storage.Create(admin, w, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	agentCtx := asUser(agentidentity.AgentUser("member-2"))

	// Reads.
	if _, err := storage.Get(agentCtx, mine.Name, &metav1.GetOptions{}); err != nil {
		t.Errorf("agent get of its Work: %v", err)
	}
	if _, err := statusStorage.Get(agentCtx, mine.Name, &metav1.GetOptions{}); err != nil {
		t.Errorf("agent get of its Work's status: %v", err)
	}
	_, err := storage.Get(agentCtx, theirs.Name, &metav1.GetOptions{})
	wantForbidden(t, "agent get of another cluster's Work", err, "may not access a Work of cluster member-3")
	_, err = statusStorage.Get(agentCtx, theirs.Name, &metav1.GetOptions{})
	wantForbidden(t, "agent get of another cluster's Work's status", err, "member-3")

	list, err := storage.List(agentCtx, selector("spec.clusterName=member-2"))
	if err != nil {
		t.Fatalf("agent list of its Works: %v", err)
	}
	if items := list.(*agent.WorkList).Items; len(items) != 1 || items[0].Name != mine.Name {
		t.Errorf("agent list returned %d Works, want its own only", len(items))
	}
	for _, s := range []string{"", "spec.clusterName=member-3", "spec.clusterName!=member-2", "metadata.name=" + mine.Name} {
		var options *metainternalversion.ListOptions
		if s != "" {
			options = selector(s)
		}
		_, err := storage.List(agentCtx, options)
		wantForbidden(t, "agent list with selector "+s, err, "only with the field selector spec.clusterName=member-2")
		_, err = storage.Watch(agentCtx, options)
		wantForbidden(t, "agent watch with selector "+s, err, "only with the field selector spec.clusterName=member-2")
	}
	watcher, err := storage.Watch(agentCtx, selector("spec.clusterName=member-2,metadata.name="+mine.Name))
	if err != nil {
		t.Errorf("agent watch of its Works: %v", err)
	} else {
		watcher.Stop()
	}

	// Status writes.
	report := getWork(t, storage, admin, mine.Name)
	report.Status = agent.WorkStatus{ObservedGeneration: 1}
	if _, _, err := statusStorage.Update(agentCtx, mine.Name, rest.DefaultUpdatedObjectInfo(report),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Errorf("agent status write of its Work: %v", err)
	}
	theirReport := getWork(t, storage, admin, theirs.Name)
	theirReport.Status = agent.WorkStatus{ObservedGeneration: 1}
	_, _, err = statusStorage.Update(agentCtx, theirs.Name, rest.DefaultUpdatedObjectInfo(theirReport),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	wantForbidden(t, "agent status write of another cluster's Work", err, "member-3")

	// Writes to the main resource: removing finalizers only.
	update := func(ctx context.Context, name string, change func(*agent.Work)) error {
		w := getWork(t, storage, admin, name)
		change(w)
		_, _, err := storage.Update(ctx, name, rest.DefaultUpdatedObjectInfo(w),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		return err
	}
	wantForbidden(t, "agent changes its Work's spec", update(agentCtx, mine.Name, func(w *agent.Work) { w.Spec.Orphan = true }),
		"may only remove finalizers from its Works; this update changes spec")
	wantForbidden(t, "agent labels its Work", update(agentCtx, mine.Name, func(w *agent.Work) { w.Labels = map[string]string{"a": "b"} }),
		"metadata.labels")
	wantForbidden(t, "agent adds a finalizer", update(agentCtx, mine.Name, func(w *agent.Work) { w.Finalizers = append(w.Finalizers, "x.io/y") }),
		"metadata.finalizers")
	wantForbidden(t, "agent removes another cluster's finalizer", update(agentCtx, theirs.Name, func(w *agent.Work) { w.Finalizers = nil }),
		"member-3")
	if err := update(agentCtx, mine.Name, func(w *agent.Work) {
		w.Status = agent.WorkStatus{Result: "ignored"} // a main write never changes status
		w.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{"kind": "ConfigMap", "data": {"a": "b"}, "apiVersion": "v1", "metadata": {"namespace": "default", "name": "settings"}}`)}
	}); err != nil {
		t.Errorf("agent update that changes nothing (the manifest re-encoded): %v", err)
	}
	if err := update(agentCtx, mine.Name, func(w *agent.Work) { w.Finalizers = nil }); err != nil {
		t.Errorf("agent removes its Work's finalizer: %v", err)
	}
	if got := getWork(t, storage, admin, mine.Name); len(got.Finalizers) != 0 || got.Status.Result == "ignored" {
		t.Errorf("after the agent's update: finalizers %v, result %q", got.Finalizers, got.Status.Result)
	}
	if err := update(admin, theirs.Name, func(w *agent.Work) { w.Spec.Orphan = true }); err != nil {
		t.Errorf("fedhub's update of a Work: %v", err)
	}

	// An agent never creates nor deletes Works.
	_, err = storage.Create(agentCtx, validNewWork("member-2"), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	wantForbidden(t, "agent create", err, "may not create works")
	_, _, err = storage.Delete(agentCtx, mine.Name, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{})
	wantForbidden(t, "agent delete", err, "may not delete works")
	_, err = storage.DeleteCollection(agentCtx, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{}, selector("spec.clusterName=member-2"))
	wantForbidden(t, "agent delete collection", err, "may not delete works")

	// Other identities of the agent namespace get nothing.
	for _, name := range []string{agentidentity.BootstrapUser("member-2"), "system:serviceaccount:fedhub-agents:default"} {
		other := asUser(name)
		_, err := storage.Get(other, mine.Name, &metav1.GetOptions{})
		wantForbidden(t, name+" get", err, "is not a cluster's agent")
		_, err = storage.List(other, selector("spec.clusterName=member-2"))
		wantForbidden(t, name+" list", err, "is not a cluster's agent")
		_, err = storage.Watch(other, selector("spec.clusterName=member-2"))
		wantForbidden(t, name+" watch", err, "is not a cluster's agent")
		wantForbidden(t, name+" update", update(other, mine.Name, func(*agent.Work) {}), "is not a cluster's agent")
		_, err = statusStorage.Get(other, mine.Name, &metav1.GetOptions{})
		wantForbidden(t, name+" status get", err, "is not a cluster's agent")
	}

	// Everyone else is left to RBAC.
	if _, err := storage.List(admin, nil); err != nil {
		t.Errorf("admin list: %v", err)
	}
	if _, _, err := storage.Delete(admin, theirs.Name, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{}); err != nil {
		t.Errorf("admin delete: %v", err)
	}
}

func TestConvertToTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	pending := validNewWork("member-2")
	pending.Generation = 2
	pending.Status.ObservedGeneration = 1
	pending.CreationTimestamp = metav1.NewTime(time.Now().Add(-2 * time.Minute))
	synced := validNewWork("member-2")
	synced.Generation = 1
	synced.Status.ObservedGeneration = 1
	failed := validNewWork("member-2")
	failed.Spec.Source.Namespace = ""
	failed.Spec.Source.Kind = "FederatedNamespace"
	failed.Spec.Source.UID = types.UID("u")
	failed.Generation = 1
	failed.Status = agent.WorkStatus{ObservedGeneration: 1, Result: "UpdateFailed"}
	columns := []string{"Name", "Cluster", "Source", "Result", "Age"}
	priorities := []int32{0, 0, 0, 0, 0}
	for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
		registrytest.AssertTable(t, name+" pending", convertor, pending, columns, priorities,
			[]interface{}{pending.Name, "member-2", "FederatedConfigMap/default/settings", "WaitingForAgent", "2m"})
		registrytest.AssertTable(t, name+" synced", convertor, synced, columns, priorities,
			[]interface{}{synced.Name, "member-2", "FederatedConfigMap/default/settings", "InSync", "<unknown>"})
		registrytest.AssertTable(t, name+" failed", convertor, failed, columns, priorities,
			[]interface{}{failed.Name, "member-2", "FederatedNamespace/settings", "UpdateFailed", "<unknown>"})
	}
}
