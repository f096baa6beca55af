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

package federatedtypeconfig_test

import (
	"context"
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
	"github.com/fedhub/fedhub/registry/core/federatedtypeconfig"
	"github.com/fedhub/fedhub/registry/registrytest"
)

func newStorage(t *testing.T) (*registry.REST, *registry.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := federatedtypeconfig.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

// newTester returns the generic storage tester. It names objects foo1, foo2
// and so on, while a type config must be named after its target type; so the
// tester creates through a store that first defaults the target type from
// the name, as decoding a v1beta1 request does in fedhub-apiserver, and the
// template leaves the target's plural name and group to that defaulting.
func newTester(t *testing.T, storage *registry.REST) *genericregistrytest.Tester {
	return genericregistrytest.New(t, registrytest.WithDecodingDefaults(t, storage.Store, v1beta1.SchemeGroupVersion)).
		// A generated name is not known when the request is decoded, so the
		// target type cannot be defaulted from it and create fails: see
		// TestCreateWithGenerateName.
		GeneratesName()
}

// validNewTypeConfig is a complete type config as KubeFed ships it.
func validNewTypeConfig() *core.FederatedTypeConfig {
	return &core.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "deployments.apps",
			Namespace: metav1.NamespaceDefault,
		},
		Spec: core.FederatedTypeConfigSpec{
			TargetType: core.APIResource{
				Group: "apps", Version: "v1", Kind: "Deployment", PluralName: "deployments", Scope: core.NamespaceScoped,
			},
			Propagation: core.PropagationEnabled,
			FederatedType: core.APIResource{
				Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment",
				PluralName: "federateddeployments", Scope: core.NamespaceScoped,
			},
			StatusCollection: ptr.To(core.StatusCollectionDisabled),
		},
	}
}

// templateTypeConfig is a type config for the generic tester: a core-group
// target whose plural name is defaulted from whatever name the tester gives.
func templateTypeConfig() *core.FederatedTypeConfig {
	config := validNewTypeConfig()
	config.Spec.TargetType = core.APIResource{Version: "v1", Kind: "ConfigMap", Scope: core.NamespaceScoped}
	config.Spec.FederatedType.Kind = "FederatedConfigMap"
	config.Spec.FederatedType.PluralName = "federatedconfigmaps"
	return config
}

func runningStatus() core.FederatedTypeConfigStatus {
	return core.FederatedTypeConfigStatus{
		ObservedGeneration:    1,
		PropagationController: core.ControllerStatusRunning,
		StatusController:      ptr.To(core.ControllerStatusNotRunning),
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	config := templateTypeConfig()
	config.ObjectMeta = metav1.ObjectMeta{}

	misnamed := validNewTypeConfig()
	misnamed.Namespace = test.TestNamespace()
	misnamed.Name = "deployments.extensions"
	coreMisnamed := validNewTypeConfig()
	coreMisnamed.Namespace = test.TestNamespace()
	coreMisnamed.Name = "deployments"
	noKind := validNewTypeConfig()
	noKind.Namespace = test.TestNamespace()
	noKind.Spec.TargetType.Kind = ""
	undottedFederatedGroup := validNewTypeConfig()
	undottedFederatedGroup.Namespace = test.TestNamespace()
	undottedFederatedGroup.Spec.FederatedType.Group = "types"
	badPropagation := validNewTypeConfig()
	badPropagation.Namespace = test.TestNamespace()
	badPropagation.Spec.Propagation = "Sometimes"

	test.TestCreate(
		// valid
		config,
		// invalid
		misnamed,
		coreMisnamed,
		noKind,
		undottedFederatedGroup,
		badPropagation,
	)
}

// TestCreateNamedAfterTarget checks KubeFed's naming rule on the real store,
// which sees objects only after decoding has defaulted them.
func TestCreateNamedAfterTarget(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	coreTarget := validNewTypeConfig()
	coreTarget.Name = "configmaps"
	coreTarget.Spec.TargetType = core.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: core.NamespaceScoped}
	for _, config := range []*core.FederatedTypeConfig{validNewTypeConfig(), coreTarget} {
		if _, err := storage.Create(ctx, config, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Errorf("creating %s: unexpected error: %v", config.Name, err)
		}
	}

	// The same target under another name is refused: the controllers find a
	// type's config by the name alone.
	renamed := validNewTypeConfig()
	renamed.Name = "deployments.apps.v2"
	if _, err := storage.Create(ctx, renamed, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); !errors.IsInvalid(err) {
		t.Errorf("creating %s: got %v, want an Invalid error", renamed.Name, err)
	}
}

func TestCreateWithGenerateName(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	// Decoding a request with only a generateName cannot default the target
	// type, and a generated name never matches a target type given in full.
	unnamed := validNewTypeConfig()
	unnamed.Name = ""
	unnamed.GenerateName = "deployments.apps-"
	decodedUnnamed := unnamed.DeepCopy()
	decodedUnnamed.Spec.TargetType.Group = ""
	decodedUnnamed.Spec.TargetType.PluralName = ""
	for _, config := range []*core.FederatedTypeConfig{unnamed, decodedUnnamed} {
		if _, err := storage.Create(ctx, config, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); !errors.IsInvalid(err) {
			t.Errorf("creating with generateName and target %#v: got %v, want an Invalid error", config.Spec.TargetType, err)
		}
	}
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	test.TestUpdate(
		// valid
		templateTypeConfig(),
		// updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.FederatedTypeConfig)
			object.Spec.Propagation = core.PropagationDisabled
			object.Spec.StatusCollection = ptr.To(core.StatusCollectionEnabled)
			return object
		},
		// invalid updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.FederatedTypeConfig)
			object.Spec.TargetType.Kind = "Secret" // immutable
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.FederatedTypeConfig)
			object.Spec.FederatedType.Version = "v2" // immutable
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*core.FederatedTypeConfig)
			object.Spec.Propagation = "Sometimes"
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	test.TestDelete(templateTypeConfig())
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	test.TestGet(templateTypeConfig())
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	test.TestList(templateTypeConfig())
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := newTester(t, storage)
	config := validNewTypeConfig()
	config.Namespace = test.TestNamespace()
	config.Labels = map[string]string{"kubefed.io/managed": "true"}
	test.TestWatch(
		config,
		// matching labels
		[]labels.Set{
			{},
			{"kubefed.io/managed": "true"},
		},
		// not matching labels
		[]labels.Set{
			{"kubefed.io/managed": "false"},
			{"foo": "bar"},
		},
		// matching fields
		[]fields.Set{
			{"metadata.name": "deployments.apps"},
			{"metadata.name": "deployments.apps", "metadata.namespace": test.TestNamespace()},
		},
		// not matching fields
		[]fields.Set{
			{"metadata.name": "configmaps"},
			{"metadata.namespace": "elsewhere"},
			{"spec.propagation": "Enabled"},
		},
	)
}

func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	// A status sent with a new type config is dropped: only the reconciler may set it.
	withStatus := validNewTypeConfig()
	withStatus.Status = runningStatus()
	obj, err := storage.Create(ctx, withStatus, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	created := obj.(*core.FederatedTypeConfig)
	if !apiequality.Semantic.DeepEqual(created.Status, core.FederatedTypeConfigStatus{}) {
		t.Errorf("create kept the status %#v, want it dropped", created.Status)
	}
	if created.Generation != 1 {
		t.Errorf("created generation = %d, want 1", created.Generation)
	}

	// A status write changes the status and nothing in the spec.
	statusUpdate := created.DeepCopy()
	statusUpdate.Status = runningStatus()
	statusUpdate.Spec.Propagation = core.PropagationDisabled
	statusUpdate.Spec.TargetType.Kind = "StatefulSet"
	if _, _, err := statusStorage.Update(ctx, statusUpdate.Name, rest.DefaultUpdatedObjectInfo(statusUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterStatus := getTypeConfig(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterStatus.Status, runningStatus()) {
		t.Errorf("status after a status write = %#v, want %#v", afterStatus.Status, runningStatus())
	}
	if !apiequality.Semantic.DeepEqual(afterStatus.Spec, created.Spec) {
		t.Errorf("spec after a status write = %#v, want it unchanged: %#v", afterStatus.Spec, created.Spec)
	}
	if afterStatus.Generation != 1 {
		t.Errorf("generation after a status write = %d, want 1", afterStatus.Generation)
	}

	// A write to the main resource changes the spec and keeps the stored status.
	specUpdate := afterStatus.DeepCopy()
	specUpdate.Spec.Propagation = core.PropagationDisabled
	specUpdate.Status = core.FederatedTypeConfigStatus{ObservedGeneration: 7, PropagationController: core.ControllerStatusNotRunning}
	if _, _, err := storage.Update(ctx, specUpdate.Name, rest.DefaultUpdatedObjectInfo(specUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterSpec := getTypeConfig(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterSpec.Status, runningStatus()) {
		t.Errorf("status after a spec write = %#v, want it unchanged: %#v", afterSpec.Status, runningStatus())
	}
	if afterSpec.Spec.Propagation != core.PropagationDisabled {
		t.Errorf("propagation after a spec write = %q, want %q", afterSpec.Spec.Propagation, core.PropagationDisabled)
	}
	if afterSpec.Generation != 2 {
		t.Errorf("generation after a spec write = %d, want 2", afterSpec.Generation)
	}

	// A status write is validated, and the status it would have written is not stored.
	for _, bad := range []core.FederatedTypeConfigStatus{
		{ObservedGeneration: -1},
		{PropagationController: "Crashed"},
		{StatusController: ptr.To[core.ControllerStatus]("Crashed")},
	} {
		badStatus := afterSpec.DeepCopy()
		badStatus.Status = bad
		if _, _, err := statusStorage.Update(ctx, badStatus.Name, rest.DefaultUpdatedObjectInfo(badStatus),
			rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); !errors.IsInvalid(err) {
			t.Errorf("status write of %#v: got %v, want an Invalid error", bad, err)
		}
	}
	if got := getTypeConfig(t, storage, ctx, created.Name); !apiequality.Semantic.DeepEqual(got.Status, runningStatus()) {
		t.Errorf("status after rejected status writes = %#v, want %#v", got.Status, runningStatus())
	}

	// A status write never creates a type config, even when asked to.
	missing := validNewTypeConfig()
	missing.Name = "statefulsets.apps"
	missing.Spec.TargetType.Kind = "StatefulSet"
	missing.Spec.TargetType.PluralName = "statefulsets"
	missing.Status = runningStatus()
	if _, _, err := statusStorage.Update(ctx, missing.Name, rest.DefaultUpdatedObjectInfo(missing),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, true, &metav1.UpdateOptions{}); !errors.IsNotFound(err) {
		t.Errorf("status write to a missing type config: got %v, want NotFound", err)
	}
}

func getTypeConfig(t *testing.T, storage *registry.REST, ctx context.Context, name string) *core.FederatedTypeConfig {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return obj.(*core.FederatedTypeConfig)
}

func TestKubectlNames(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, []string{"ftc"}, []string{"kubefed"})
}

func TestConvertToTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	deployments := validNewTypeConfig()
	deployments.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	deployments.Status = runningStatus()
	configMaps := validNewTypeConfig()
	configMaps.Name = "configmaps"
	configMaps.Spec.TargetType = core.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: core.NamespaceScoped}
	configMaps.Spec.FederatedType.Kind = "FederatedConfigMap"
	configMaps.Spec.FederatedType.PluralName = "federatedconfigmaps"
	configMaps.Spec.Propagation = core.PropagationDisabled

	wantColumns := []string{"Name", "Age", "Target", "Propagation", "Federated-Type", "Controller"}
	wantPriorities := []int32{0, 0, 0, 0, 1, 1}
	tests := []struct {
		name   string
		config *core.FederatedTypeConfig
		want   []interface{}
	}{
		{
			name:   "named group",
			config: deployments,
			want: []interface{}{"deployments.apps", "10h", "apps/v1/Deployment", "Enabled",
				"types.kubefed.io/v1beta1/FederatedDeployment", "Running"},
		},
		{
			name:   "core group",
			config: configMaps,
			want: []interface{}{"configmaps", "<unknown>", "v1/ConfigMap", "Disabled",
				"types.kubefed.io/v1beta1/FederatedConfigMap", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
				registrytest.AssertTable(t, name, convertor, tt.config, wantColumns, wantPriorities, tt.want)
			}
		})
	}

	// A stored type config prints the same way; a list prints a row per item.
	for _, config := range []*core.FederatedTypeConfig{deployments, configMaps} {
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
			t.Errorf("stored type config %v has no age", row.Cells[0])
		}
		rows = append(rows, []interface{}{row.Cells[0], row.Cells[2], row.Cells[3], row.Cells[5]})
	}
	// The status is dropped on create, so no controller is reported yet.
	want := [][]interface{}{
		{"configmaps", "v1/ConfigMap", "Disabled", ""},
		{"deployments.apps", "apps/v1/Deployment", "Enabled", ""},
	}
	if !apiequality.Semantic.DeepEqual(rows, want) {
		t.Errorf("list rows %v, want %v", rows, want)
	}
}
