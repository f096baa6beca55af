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

package federatedhelmrelease_test

import (
	"context"
	"slices"
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

	"github.com/fedhub/fedhub/apis/apps"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry"
	"github.com/fedhub/fedhub/registry/apps/federatedhelmrelease"
	"github.com/fedhub/fedhub/registry/registrytest"
)

// newStorage returns the stores with finalizer added to new releases ("" for none).
func newStorage(t *testing.T, finalizer string) (*registry.REST, *registry.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := federatedhelmrelease.NewREST(apiserver.Scheme, optsGetter, finalizer)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

// validNewRelease is a release as stored, its release name defaulted.
func validNewRelease() *apps.FederatedHelmRelease {
	return &apps.FederatedHelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: metav1.NamespaceDefault},
		Spec: apps.FederatedHelmReleaseSpec{
			Chart:       apps.HelmChartSource{Repository: "https://charts.example.com", Name: "podinfo", Version: "6.5.0"},
			ReleaseName: "podinfo",
			Values:      &typesv1beta1.JSON{Raw: []byte(`{"replicaCount":2}`)},
			Placement:   typesv1beta1.Placement{Clusters: []typesv1beta1.PlacementCluster{{Name: "member-1"}}},
		},
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	release := validNewRelease()
	release.ObjectMeta = metav1.ObjectMeta{}
	release.Spec.ReleaseName = "" // the test names the object itself

	fileRepository := validNewRelease()
	fileRepository.Namespace = test.TestNamespace()
	fileRepository.Spec.Chart.Repository = "file:///etc"
	noChart := validNewRelease()
	noChart.Namespace = test.TestNamespace()
	noChart.Spec.Chart.Name = ""
	arrayValues := validNewRelease()
	arrayValues.Namespace = test.TestNamespace()
	arrayValues.Spec.Values = &typesv1beta1.JSON{Raw: []byte(`[]`)}

	test.TestCreate(
		// valid
		release,
		// invalid
		fileRepository,
		noChart,
		arrayValues,
	)
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestUpdate(
		// valid
		validNewRelease(),
		// updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*apps.FederatedHelmRelease)
			object.Spec.Chart.Version = "~6.6.0"
			object.Spec.Overrides = []apps.HelmValuesOverride{{ClusterName: "member-1", Values: &typesv1beta1.JSON{Raw: []byte(`{"replicaCount":1}`)}}}
			return object
		},
		// invalid updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*apps.FederatedHelmRelease)
			object.Spec.ReleaseName = "renamed"
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*apps.FederatedHelmRelease)
			object.Spec.Chart.Repository = "file:///var/run/secrets"
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestDelete(validNewRelease())
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestGet(validNewRelease())
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestList(validNewRelease())
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	release := validNewRelease()
	release.Namespace = test.TestNamespace()
	release.Labels = map[string]string{"app": "podinfo"}
	test.TestWatch(
		release,
		// matching labels
		[]labels.Set{{}, {"app": "podinfo"}},
		// not matching labels
		[]labels.Set{{"app": "web"}},
		// matching fields
		[]fields.Set{{"metadata.name": "podinfo"}, {"metadata.name": "podinfo", "metadata.namespace": test.TestNamespace()}},
		// not matching fields
		[]fields.Set{{"metadata.name": "web"}, {"metadata.namespace": "elsewhere"}},
	)
}

// TestCreateDefaults checks what a new release gets besides what it was sent:
// its release name, the finalizer, generation 1 and no status.
func TestCreateDefaults(t *testing.T) {
	tests := []struct {
		name            string
		finalizer       string
		releaseName     string
		finalizers      []string
		wantReleaseName string
		wantFinalizers  []string
	}{
		{name: "no finalizer", releaseName: "podinfo", wantReleaseName: "podinfo"},
		{name: "release name from metadata.name", releaseName: "", wantReleaseName: "podinfo"},
		{name: "finalizer", finalizer: appsv1alpha1.HelmReleaseCleanupFinalizer, wantReleaseName: "podinfo",
			wantFinalizers: []string{appsv1alpha1.HelmReleaseCleanupFinalizer}},
		{name: "finalizer sent already", finalizer: appsv1alpha1.HelmReleaseCleanupFinalizer,
			finalizers: []string{"example.com/keep", appsv1alpha1.HelmReleaseCleanupFinalizer}, wantReleaseName: "podinfo",
			wantFinalizers: []string{"example.com/keep", appsv1alpha1.HelmReleaseCleanupFinalizer}},
		{name: "own release name", releaseName: "web", wantReleaseName: "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storage, _, server := newStorage(t, tt.finalizer)
			defer server.Terminate(t)
			defer storage.Store.DestroyFunc()
			ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
			release := validNewRelease()
			release.Spec.ReleaseName = tt.releaseName
			release.Finalizers = tt.finalizers
			release.Status.Clusters = []apps.HelmReleaseClusterStatus{{Name: "member-1", Status: "deployed"}}
			obj, err := storage.Create(ctx, release, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			created := obj.(*apps.FederatedHelmRelease)
			if created.Spec.ReleaseName != tt.wantReleaseName {
				t.Errorf("releaseName = %q, want %q", created.Spec.ReleaseName, tt.wantReleaseName)
			}
			if !slices.Equal(created.Finalizers, tt.wantFinalizers) {
				t.Errorf("finalizers = %v, want %v", created.Finalizers, tt.wantFinalizers)
			}
			if created.Generation != 1 || len(created.Status.Clusters) != 0 {
				t.Errorf("generation %d and status %#v, want 1 and no status", created.Generation, created.Status)
			}
		})
	}
}

// TestUpdateStatus checks that the status subresource cannot change the spec
// or metadata and that the main resource cannot change the status.
func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t, appsv1alpha1.HelmReleaseCleanupFinalizer)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	obj, err := storage.Create(ctx, validNewRelease(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	created := obj.(*apps.FederatedHelmRelease)

	// A status write stores the status and keeps the spec and metadata, even an invalid spec it was sent.
	statusUpdate := created.DeepCopy()
	statusUpdate.Spec.Chart.Repository = "file:///etc"
	statusUpdate.Annotations = map[string]string{appsv1alpha1.AuthorAnnotation: `{"username":"mallory"}`}
	statusUpdate.Finalizers = nil
	statusUpdate.Status = apps.FederatedHelmReleaseStatus{ObservedGeneration: 1, Clusters: []apps.HelmReleaseClusterStatus{
		{Name: "member-1", Revision: 1, Status: "deployed", ChartVersion: "6.5.0", ObservedGeneration: 1},
	}}
	if _, _, err := statusStorage.Update(ctx, statusUpdate.Name, rest.DefaultUpdatedObjectInfo(statusUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterStatus := getRelease(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterStatus.Spec, created.Spec) || afterStatus.Generation != 1 {
		t.Errorf("spec after a status write = %#v (generation %d), want it unchanged: %#v", afterStatus.Spec, afterStatus.Generation, created.Spec)
	}
	if len(afterStatus.Annotations) != 0 || !slices.Equal(afterStatus.Finalizers, created.Finalizers) {
		t.Errorf("metadata after a status write: annotations %v, finalizers %v; want none and %v",
			afterStatus.Annotations, afterStatus.Finalizers, created.Finalizers)
	}
	if !apiequality.Semantic.DeepEqual(afterStatus.Status, statusUpdate.Status) {
		t.Errorf("status after a status write = %#v, want %#v", afterStatus.Status, statusUpdate.Status)
	}

	// A write to the main resource keeps the stored status; a spec change bumps the generation.
	specUpdate := afterStatus.DeepCopy()
	specUpdate.Spec.Chart.Version = "6.6.0"
	specUpdate.Status = apps.FederatedHelmReleaseStatus{}
	if _, _, err := storage.Update(ctx, specUpdate.Name, rest.DefaultUpdatedObjectInfo(specUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterSpec := getRelease(t, storage, ctx, created.Name)
	if afterSpec.Spec.Chart.Version != "6.6.0" || afterSpec.Generation != 2 {
		t.Errorf("after a spec write: version %q, generation %d; want 6.6.0 and 2", afterSpec.Spec.Chart.Version, afterSpec.Generation)
	}
	if !apiequality.Semantic.DeepEqual(afterSpec.Status, afterStatus.Status) {
		t.Errorf("status after a spec write = %#v, want it unchanged: %#v", afterSpec.Status, afterStatus.Status)
	}

	// An update that leaves the release name out keeps it, without a new generation.
	unnamed := afterSpec.DeepCopy()
	unnamed.Spec.ReleaseName = ""
	if _, _, err := storage.Update(ctx, unnamed.Name, rest.DefaultUpdatedObjectInfo(unnamed),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update without a release name: %v", err)
	}
	if afterUnnamed := getRelease(t, storage, ctx, created.Name); afterUnnamed.Spec.ReleaseName != "podinfo" || afterUnnamed.Generation != 2 {
		t.Errorf("after an update without a release name: %q, generation %d; want podinfo and 2",
			afterUnnamed.Spec.ReleaseName, afterUnnamed.Generation)
	}

	// A status write never creates a release, even when asked to.
	missing := validNewRelease()
	missing.Name = "missing"
	if _, _, err := statusStorage.Update(ctx, missing.Name, rest.DefaultUpdatedObjectInfo(missing),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, true, &metav1.UpdateOptions{}); !errors.IsNotFound(err) {
		t.Errorf("status write to a missing release: got %v, want NotFound", err)
	}
}

func getRelease(t *testing.T, storage *registry.REST, ctx context.Context, name string) *apps.FederatedHelmRelease {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return obj.(*apps.FederatedHelmRelease)
}

func TestKubectlNames(t *testing.T) {
	storage, _, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, []string{"fhr"}, []string{"federated"})
}

func TestTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t, "")
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()

	release := validNewRelease()
	release.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	latest := validNewRelease()
	latest.Name = "latest"
	latest.Spec.ReleaseName = "latest"
	latest.Spec.Chart.Version = ""
	deployed := validNewRelease()
	deployed.Name = "deployed"
	deployed.Spec.ReleaseName = "deployed"
	deployed.Generation = 3
	deployed.Status.Clusters = []apps.HelmReleaseClusterStatus{
		{Name: "member-1", Status: "deployed", ObservedGeneration: 3},
		{Name: "member-2", Status: "deployed", ObservedGeneration: 3},
		{Name: "member-3", Status: "failed", ObservedGeneration: 3},
		{Name: "member-4", Status: "deployed", ObservedGeneration: 2},
	}

	wantColumns := []string{"Name", "Chart", "Version", "Clusters", "Age", "Repository"}
	wantPriorities := []int32{0, 0, 0, 0, 0, 1}
	tests := []struct {
		name    string
		release *apps.FederatedHelmRelease
		want    []interface{}
	}{
		{name: "not yet reconciled", release: release,
			want: []interface{}{"podinfo", "podinfo", "6.5.0", "0/0", "10h", "https://charts.example.com"}},
		{name: "latest version", release: latest,
			want: []interface{}{"latest", "podinfo", "", "0/0", "<unknown>", "https://charts.example.com"}},
		{name: "deployed at the current generation only", release: deployed,
			want: []interface{}{"deployed", "podinfo", "6.5.0", "2/4", "<unknown>", "https://charts.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
				registrytest.AssertTable(t, name, convertor, tt.release, wantColumns, wantPriorities, tt.want)
			}
		})
	}
}
