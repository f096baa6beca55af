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

package integration

import (
	"context"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// TestHelmReleaseGroup serves apps.fedhub.io/v1alpha1 from a standalone
// server: discovery, defaulting, a 422 with field paths for a bad release,
// the immutable release name and /status, through the clientset. (A
// standalone server runs no admission: test/e2e checks the author recorded.)
func TestHelmReleaseGroup(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()

	discovery, err := kubernetes.NewForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := discovery.Discovery().ServerResourcesForGroupVersion(appsv1alpha1.SchemeGroupVersion.String())
	if err != nil {
		t.Fatalf("discovery of apps.fedhub.io/v1alpha1: %v", err)
	}
	served := map[string]metav1.APIResource{}
	for _, r := range resources.APIResources {
		served[r.Name] = r
	}
	if r, ok := served["federatedhelmreleases"]; !ok || !slices.Equal(r.ShortNames, []string{"fhr"}) || !r.Namespaced ||
		!slices.Equal(r.Categories, []string{"federated"}) || r.Kind != "FederatedHelmRelease" {
		t.Errorf("federatedhelmreleases in discovery: %+v (found %v), want kind FederatedHelmRelease, short name fhr, category federated, namespaced", r, ok)
	}
	if _, ok := served["federatedhelmreleases/status"]; !ok {
		t.Errorf("discovery lacks federatedhelmreleases/status: %v", served)
	}

	releases := server.client.AppsV1alpha1().FederatedHelmReleases("default")
	bad := &appsv1alpha1.FederatedHelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: appsv1alpha1.FederatedHelmReleaseSpec{
			Chart:  appsv1alpha1.HelmChartSource{Repository: "file:///etc", Version: "newest"},
			Values: &typesv1beta1.JSON{Raw: []byte(`[1]`)},
		},
	}
	_, err = releases.Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("creating a bad release: got %v, want 422 Invalid", err)
	}
	var fields []string
	for _, cause := range err.(apierrors.APIStatus).Status().Details.Causes {
		fields = append(fields, cause.Field)
	}
	if want := []string{"spec.chart.repository", "spec.chart.name", "spec.chart.version", "spec.values"}; !slices.Equal(fields, want) {
		t.Errorf("fields of the refusal: %v, want %v (%v)", fields, want, err)
	}

	good := &appsv1alpha1.FederatedHelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo"},
		Spec: appsv1alpha1.FederatedHelmReleaseSpec{
			Chart:     appsv1alpha1.HelmChartSource{Repository: "oci://registry.example.com/charts", Name: "podinfo", Version: "^6.0.0"},
			Values:    &typesv1beta1.JSON{Raw: []byte(`{"replicaCount":2}`)},
			Placement: typesv1beta1.Placement{Clusters: []typesv1beta1.PlacementCluster{{Name: "member-1"}}},
		},
	}
	created, err := releases.Create(ctx, good, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a release: %v", err)
	}
	if created.Spec.ReleaseName != "podinfo" || created.Generation != 1 {
		t.Errorf("created release name %q, generation %d; want podinfo and 1", created.Spec.ReleaseName, created.Generation)
	}
	renamed := created.DeepCopy()
	renamed.Spec.ReleaseName = "other"
	if _, err := releases.Update(ctx, renamed, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("renaming the release: got %v, want 422 Invalid", err)
	}

	created.Status = appsv1alpha1.FederatedHelmReleaseStatus{ObservedGeneration: 1, Clusters: []appsv1alpha1.HelmReleaseClusterStatus{
		{Name: "member-1", Revision: 1, Status: appsv1alpha1.ReleaseStatusDeployed, ChartVersion: "6.5.0", ObservedGeneration: 1},
	}}
	updated, err := releases.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("status of the release: %v", err)
	}
	if len(updated.Status.Clusters) != 1 || updated.Status.Clusters[0].Revision != 1 || updated.Generation != 1 {
		t.Errorf("after a status write: %+v, generation %d", updated.Status, updated.Generation)
	}
}
