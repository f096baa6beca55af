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

package kubefedcluster_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/utils/ptr"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry"
	"github.com/fedhub/fedhub/registry/core/kubefedcluster"
	"github.com/fedhub/fedhub/registry/registrytest"
)

func newStorage(t *testing.T) (*registry.REST, *registry.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := kubefedcluster.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

func validNewCluster() *core.KubeFedCluster {
	return &core.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "member-1",
			Namespace: metav1.NamespaceDefault,
		},
		Spec: core.KubeFedClusterSpec{
			APIEndpoint:            "https://member-1.example.com:6443",
			SecretRef:              core.LocalSecretReference{Name: "member-1-token"},
			DisabledTLSValidations: []core.TLSValidation{core.TLSSubjectName},
			ProxyURL:               "socks5://proxy.example.com:1080",
		},
	}
}

// readyStatus is what a health probe writes; times are whole seconds because
// that is all the JSON stored in etcd keeps.
func readyStatus() core.KubeFedClusterStatus {
	probed := metav1.NewTime(time.Date(2026, time.March, 4, 5, 6, 7, 0, time.UTC))
	return core.KubeFedClusterStatus{
		Conditions: []core.ClusterCondition{
			{Type: core.ClusterOffline, Status: corev1.ConditionFalse, LastProbeTime: probed},
			{Type: core.ClusterReady, Status: corev1.ConditionTrue, LastProbeTime: probed, LastTransitionTime: &probed,
				Reason: ptr.To("ClusterReady"), Message: ptr.To("/healthz responded with ok")},
		},
		KubernetesVersion: "v1.33.2",
		Zones:             []string{"eu-west-1a", "eu-west-1b"},
		Region:            ptr.To("eu-west-1"),
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	cluster := validNewCluster()
	cluster.ObjectMeta = metav1.ObjectMeta{}

	badEndpoint := validNewCluster()
	badEndpoint.Namespace = test.TestNamespace()
	badEndpoint.Spec.APIEndpoint = "ftp://x"
	noSecret := validNewCluster()
	noSecret.Namespace = test.TestNamespace()
	noSecret.Spec.SecretRef.Name = ""
	badTLS := validNewCluster()
	badTLS.Namespace = test.TestNamespace()
	badTLS.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSAll, core.TLSValidityPeriod}

	test.TestCreate(
		// valid
		cluster,
		// invalid
		badEndpoint,
		noSecret,
		badTLS,
	)
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestUpdate(
		// valid
		validNewCluster(),
		// updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedCluster)
			object.Spec.APIEndpoint = "https://member-1.example.org"
			object.Spec.ProxyURL = ""
			return object
		},
		// invalid updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedCluster)
			object.Spec.APIEndpoint = "ftp://x"
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedCluster)
			object.Spec.ProxyURL = "ftp://proxy.example.com"
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestDelete(validNewCluster())
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestGet(validNewCluster())
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestList(validNewCluster())
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	cluster := validNewCluster()
	cluster.Namespace = test.TestNamespace()
	cluster.Labels = map[string]string{"region": "eu-west-1"}
	test.TestWatch(
		cluster,
		// matching labels
		[]labels.Set{
			{},
			{"region": "eu-west-1"},
		},
		// not matching labels
		[]labels.Set{
			{"region": "us-east-1"},
			{"foo": "bar"},
		},
		// matching fields
		[]fields.Set{
			{"metadata.name": "member-1"},
			{"metadata.name": "member-1", "metadata.namespace": test.TestNamespace()},
		},
		// not matching fields
		[]fields.Set{
			{"metadata.name": "member-2"},
			{"metadata.namespace": "elsewhere"},
			{"spec.apiEndpoint": "https://member-1.example.com:6443"},
		},
	)
}

func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	// A status sent with a new cluster is dropped: only probes may set it.
	withStatus := validNewCluster()
	withStatus.Status = readyStatus()
	obj, err := storage.Create(ctx, withStatus, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	created := obj.(*core.KubeFedCluster)
	if !apiequality.Semantic.DeepEqual(created.Status, core.KubeFedClusterStatus{}) {
		t.Errorf("create kept the status %#v, want it dropped", created.Status)
	}
	if created.Generation != 1 {
		t.Errorf("created generation = %d, want 1", created.Generation)
	}

	// A status write changes the status and nothing in the spec.
	statusUpdate := created.DeepCopy()
	statusUpdate.Status = readyStatus()
	statusUpdate.Spec.APIEndpoint = "https://elsewhere.example.com"
	statusUpdate.Spec.SecretRef.Name = "other-token"
	if _, _, err := statusStorage.Update(ctx, statusUpdate.Name, rest.DefaultUpdatedObjectInfo(statusUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterStatus := getCluster(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterStatus.Status, readyStatus()) {
		t.Errorf("status after a status write = %#v, want %#v", afterStatus.Status, readyStatus())
	}
	if !apiequality.Semantic.DeepEqual(afterStatus.Spec, created.Spec) {
		t.Errorf("spec after a status write = %#v, want it unchanged: %#v", afterStatus.Spec, created.Spec)
	}
	if afterStatus.Generation != 1 {
		t.Errorf("generation after a status write = %d, want 1", afterStatus.Generation)
	}

	// A write to the main resource changes the spec and keeps the stored status.
	specUpdate := afterStatus.DeepCopy()
	specUpdate.Spec.APIEndpoint = "https://elsewhere.example.com"
	specUpdate.Status = core.KubeFedClusterStatus{KubernetesVersion: "v0.0.1"}
	if _, _, err := storage.Update(ctx, specUpdate.Name, rest.DefaultUpdatedObjectInfo(specUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterSpec := getCluster(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterSpec.Status, readyStatus()) {
		t.Errorf("status after a spec write = %#v, want it unchanged: %#v", afterSpec.Status, readyStatus())
	}
	if afterSpec.Spec.APIEndpoint != "https://elsewhere.example.com" {
		t.Errorf("apiEndpoint after a spec write = %q, want the new one", afterSpec.Spec.APIEndpoint)
	}
	if afterSpec.Generation != 2 {
		t.Errorf("generation after a spec write = %d, want 2", afterSpec.Generation)
	}

	// A status write is validated, and the status it would have written is not stored.
	badStatus := afterSpec.DeepCopy()
	badStatus.Status.Conditions = append(badStatus.Status.Conditions, core.ClusterCondition{
		Type: "Exploded", Status: corev1.ConditionTrue, LastProbeTime: metav1.Now(),
	})
	if _, _, err := statusStorage.Update(ctx, badStatus.Name, rest.DefaultUpdatedObjectInfo(badStatus),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); !errors.IsInvalid(err) {
		t.Errorf("status write of an unknown condition type: got %v, want an Invalid error", err)
	}
	if got := getCluster(t, storage, ctx, created.Name); !apiequality.Semantic.DeepEqual(got.Status, readyStatus()) {
		t.Errorf("status after a rejected status write = %#v, want %#v", got.Status, readyStatus())
	}

	// A status write never creates a cluster, even when asked to.
	missing := validNewCluster()
	missing.Name = "missing"
	missing.Status = readyStatus()
	if _, _, err := statusStorage.Update(ctx, missing.Name, rest.DefaultUpdatedObjectInfo(missing),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, true, &metav1.UpdateOptions{}); !errors.IsNotFound(err) {
		t.Errorf("status write to a missing cluster: got %v, want NotFound", err)
	}
}

func getCluster(t *testing.T, storage *registry.REST, ctx context.Context, name string) *core.KubeFedCluster {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return obj.(*core.KubeFedCluster)
}

func TestKubectlNames(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, []string{"kfc"}, []string{"kubefed"})
}

func TestConvertToTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	ready := validNewCluster()
	ready.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	ready.Status = readyStatus()
	notReady := validNewCluster()
	notReady.Name = "member-2"
	notReady.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	notReady.Status = readyStatus()
	notReady.Status.Conditions[1].Status = corev1.ConditionFalse
	neverProbed := validNewCluster()
	neverProbed.Name = "member-3"

	pull := validNewCluster()
	pull.Name = "member-4"
	pull.Spec = core.KubeFedClusterSpec{Mode: core.ClusterModePull}

	wantColumns := []string{"Name", "Age", "Ready", "Mode", "Kubernetes-Version", "Region", "Zones", "API-Endpoint"}
	wantPriorities := []int32{0, 0, 0, 1, 1, 1, 1, 1}
	tests := []struct {
		name    string
		cluster *core.KubeFedCluster
		want    []interface{}
	}{
		{
			name:    "ready",
			cluster: ready,
			want: []interface{}{"member-1", "10h", "True", "Push", "v1.33.2", "eu-west-1", "eu-west-1a,eu-west-1b",
				"https://member-1.example.com:6443"},
		},
		{
			name:    "not ready",
			cluster: notReady,
			want: []interface{}{"member-2", "10h", "False", "Push", "v1.33.2", "eu-west-1", "eu-west-1a,eu-west-1b",
				"https://member-1.example.com:6443"},
		},
		{
			name:    "never probed",
			cluster: neverProbed,
			want:    []interface{}{"member-3", "<unknown>", "", "Push", "", "", "", "https://member-1.example.com:6443"},
		},
		{
			name:    "pull",
			cluster: pull,
			want:    []interface{}{"member-4", "<unknown>", "", "Pull", "", "", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
				registrytest.AssertTable(t, name, convertor, tt.cluster, wantColumns, wantPriorities, tt.want)
			}
		})
	}

	// A stored cluster prints the same way; a list prints a row per item.
	for _, cluster := range []*core.KubeFedCluster{ready, notReady} {
		if _, err := storage.Create(ctx, cluster.DeepCopy(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	list, err := storage.List(ctx, nil)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	table, err := storage.ConvertToTable(ctx, list, nil)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	var names []interface{}
	for _, row := range table.Rows {
		names = append(names, row.Cells[0])
		if row.Cells[1] == "<unknown>" {
			t.Errorf("stored cluster %v has no age", row.Cells[0])
		}
		if row.Cells[2] != "" {
			t.Errorf("stored cluster %v is %v before any probe, want an empty Ready cell", row.Cells[0], row.Cells[2])
		}
	}
	if want := []interface{}{"member-1", "member-2"}; !apiequality.Semantic.DeepEqual(names, want) {
		t.Errorf("list rows %v, want %v", names, want)
	}
	if table.ResourceVersion == "" {
		t.Error("a list table carries no resourceVersion")
	}

	// kubectl get -w asks for headers with the first event only.
	withoutHeaders, err := storage.ConvertToTable(ctx, ready, &metav1.TableOptions{NoHeaders: true})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(withoutHeaders.ColumnDefinitions) != 0 || len(withoutHeaders.Rows) != 1 {
		t.Errorf("NoHeaders table has %d columns and %d rows, want 0 and 1", len(withoutHeaders.ColumnDefinitions), len(withoutHeaders.Rows))
	}
}
