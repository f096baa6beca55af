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

package kubefedconfig_test

import (
	"testing"
	"time"

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
	"github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry"
	"github.com/fedhub/fedhub/registry/core/kubefedconfig"
	"github.com/fedhub/fedhub/registry/registrytest"
)

func newStorage(t *testing.T) (*registry.REST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, err := kubefedconfig.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, server
}

// validNewConfig returns a config as the API server hands it to the store: a
// v1beta1 object that sets only its scope, with every other setting defaulted
// by decoding.
func validNewConfig(t *testing.T) *core.KubeFedConfig {
	t.Helper()
	versioned := &v1beta1.KubeFedConfig{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "kubefed",
			Namespace: metav1.NamespaceDefault,
		},
		Spec: v1beta1.KubeFedConfigSpec{Scope: v1beta1.NamespaceScoped},
	}
	config := registrytest.ToInternal(t, versioned, &core.KubeFedConfig{})
	// Defaulting has filled every section validation insists on; check it so a
	// failure below is not mistaken for a store bug.
	if config.Spec.SyncController == nil || config.Spec.SyncController.AdoptResources == nil || config.Spec.LeaderElect == nil {
		t.Fatalf("defaulting left sections unset: %#v", config.Spec)
	}
	return config
}

func TestCreate(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	config := validNewConfig(t)
	config.ObjectMeta = metav1.ObjectMeta{}

	bogusScope := validNewConfig(t)
	bogusScope.Namespace = test.TestNamespace()
	bogusScope.Spec.Scope = "Bogus"
	shortLease := validNewConfig(t)
	shortLease.Namespace = test.TestNamespace()
	shortLease.Spec.LeaderElect.LeaseDuration = &metav1.Duration{Duration: 5 * time.Second}
	notDefaulted := validNewConfig(t)
	notDefaulted.Namespace = test.TestNamespace()
	notDefaulted.Spec.SyncController = nil
	unknownGate := validNewConfig(t)
	unknownGate.Namespace = test.TestNamespace()
	unknownGate.Spec.FeatureGates = append(unknownGate.Spec.FeatureGates,
		core.FeatureGatesConfig{Name: "Teleportation", Configuration: core.ConfigurationEnabled})

	test.TestCreate(
		// valid
		config,
		// invalid
		bogusScope,
		shortLease,
		notDefaulted,
		unknownGate,
	)
}

func TestUpdate(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestUpdate(
		// valid
		validNewConfig(t),
		// updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedConfig)
			object.Spec.SyncController.AdoptResources = ptr.To(core.AdoptResourcesDisabled)
			object.Spec.ClusterHealthCheck.Period = &metav1.Duration{Duration: 30 * time.Second}
			return object
		},
		// invalid updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedConfig)
			object.Spec.Scope = core.ClusterScoped // immutable
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedConfig)
			object.Spec.Scope = "Bogus"
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.KubeFedConfig)
			object.Spec.ClusterHealthCheck.FailureThreshold = ptr.To[int64](-1)
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestDelete(validNewConfig(t))
}

func TestGet(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestGet(validNewConfig(t))
}

func TestList(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestList(validNewConfig(t))
}

func TestWatch(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	config := validNewConfig(t)
	config.Namespace = test.TestNamespace()
	config.Labels = map[string]string{"control-plane": "kubefed"}
	test.TestWatch(
		config,
		// matching labels
		[]labels.Set{
			{},
			{"control-plane": "kubefed"},
		},
		// not matching labels
		[]labels.Set{
			{"control-plane": "other"},
			{"foo": "bar"},
		},
		// matching fields
		[]fields.Set{
			{"metadata.name": "kubefed"},
			{"metadata.name": "kubefed", "metadata.namespace": test.TestNamespace()},
		},
		// not matching fields
		[]fields.Set{
			{"metadata.name": "other"},
			{"metadata.namespace": "elsewhere"},
			{"spec.scope": "Namespaced"},
		},
	)
}

// TestUpdateGeneration checks that the generation counts changes of the settings only.
func TestUpdateGeneration(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	obj, err := storage.Create(ctx, validNewConfig(t), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	created := obj.(*core.KubeFedConfig)
	if created.Generation != 1 {
		t.Errorf("created generation = %d, want 1", created.Generation)
	}

	labelled := created.DeepCopy()
	labelled.Labels = map[string]string{"control-plane": "kubefed"}
	obj, _, err = storage.Update(ctx, labelled.Name, rest.DefaultUpdatedObjectInfo(labelled),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if got := obj.(*core.KubeFedConfig); got.Generation != 1 {
		t.Errorf("generation after a metadata change = %d, want 1", got.Generation)
	}

	tuned := obj.(*core.KubeFedConfig).DeepCopy()
	tuned.Spec.SyncController.MaxConcurrentReconciles = ptr.To[int64](4)
	obj, _, err = storage.Update(ctx, tuned.Name, rest.DefaultUpdatedObjectInfo(tuned),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	got, err := storage.Get(ctx, tuned.Name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !apiequality.Semantic.DeepEqual(obj, got) {
		t.Errorf("update returned %#v, but the store holds %#v", obj, got)
	}
	if got := got.(*core.KubeFedConfig); got.Generation != 2 || *got.Spec.SyncController.MaxConcurrentReconciles != 4 {
		t.Errorf("after a settings change: generation %d, maxConcurrentReconciles %d; want 2 and 4",
			got.Generation, *got.Spec.SyncController.MaxConcurrentReconciles)
	}

	// The scope cannot change: the stored config keeps its own.
	rescoped := got.(*core.KubeFedConfig).DeepCopy()
	rescoped.Spec.Scope = core.ClusterScoped
	if _, _, err := storage.Update(ctx, rescoped.Name, rest.DefaultUpdatedObjectInfo(rescoped),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); !errors.IsInvalid(err) {
		t.Errorf("changing the scope: got %v, want an Invalid error", err)
	}
}

func TestKubectlNames(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, nil, []string{"kubefed"})
}

func TestConvertToTable(t *testing.T) {
	storage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	namespaced := validNewConfig(t)
	namespaced.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	cluster := validNewConfig(t)
	cluster.Name = "cluster-wide"
	cluster.Spec.Scope = core.ClusterScoped
	cluster.Spec.SyncController.AdoptResources = ptr.To(core.AdoptResourcesDisabled)
	bare := &core.KubeFedConfig{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: metav1.NamespaceDefault}}

	wantColumns := []string{"Name", "Age", "Scope", "Adopt-Resources"}
	wantPriorities := []int32{0, 0, 0, 1}
	tests := []struct {
		name   string
		config *core.KubeFedConfig
		want   []interface{}
	}{
		{
			name:   "namespaced",
			config: namespaced,
			want:   []interface{}{"kubefed", "10h", "Namespaced", "Enabled"},
		},
		{
			name:   "cluster",
			config: cluster,
			want:   []interface{}{"cluster-wide", "<unknown>", "Cluster", "Disabled"},
		},
		{
			name:   "no settings",
			config: bare,
			want:   []interface{}{"bare", "<unknown>", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registrytest.AssertTable(t, "main", storage, tt.config, wantColumns, wantPriorities, tt.want)
		})
	}

	// A stored config prints the same way; a list prints a row per item.
	for _, config := range []*core.KubeFedConfig{namespaced, cluster} {
		if _, err := storage.Create(ctx, config.DeepCopy(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
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
	var rows [][]interface{}
	for _, row := range table.Rows {
		if row.Cells[1] == "<unknown>" {
			t.Errorf("stored config %v has no age", row.Cells[0])
		}
		rows = append(rows, []interface{}{row.Cells[0], row.Cells[2], row.Cells[3]})
	}
	want := [][]interface{}{
		{"cluster-wide", "Cluster", "Disabled"},
		{"kubefed", "Namespaced", "Enabled"},
	}
	if !apiequality.Semantic.DeepEqual(rows, want) {
		t.Errorf("list rows %v, want %v", rows, want)
	}
}
