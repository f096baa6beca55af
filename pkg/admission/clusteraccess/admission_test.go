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

package clusteraccess

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"sigs.k8s.io/yaml"

	"github.com/fedhub/fedhub/apis/apps"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	"github.com/fedhub/fedhub/apis/scheduling"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// grants is a stand-in for RBAC: the cluster names alice may propagate to;
// "" means all of them.
func grants(names ...string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() != "alice" || a.GetVerb() != "propagate" || a.GetAPIGroup() != "core.kubefed.io" ||
			a.GetResource() != "kubefedclusters" || a.GetNamespace() != "kube-federation-system" {
			return authorizer.DecisionNoOpinion, "", nil
		}
		for _, name := range names {
			if name == "" || name == a.GetName() {
				return authorizer.DecisionAllow, "", nil
			}
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func federated(t *testing.T, spec string) runtime.Object {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte("apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata: {name: web, namespace: team-a}\nspec: "+spec), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

// helmRelease is a FederatedHelmRelease placed on the clusters named, or by
// selector when selector is set; admission is handed the internal type.
func helmRelease(selector *metav1.LabelSelector, clusters ...string) *apps.FederatedHelmRelease {
	release := &apps.FederatedHelmRelease{Spec: apps.FederatedHelmReleaseSpec{
		Chart:     apps.HelmChartSource{Repository: "https://charts.example.com", Name: "podinfo"},
		Placement: typesv1beta1.Placement{ClusterSelector: selector},
	}}
	for _, c := range clusters {
		release.Spec.Placement.Clusters = append(release.Spec.Placement.Clusters, typesv1beta1.PlacementCluster{Name: c})
	}
	return release
}

var helmReleasesResource = appsv1alpha1.SchemeGroupVersion.WithResource("federatedhelmreleases")

func TestValidate(t *testing.T) {
	federatedConfigMaps := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedconfigmaps"}
	preferences := schedulingv1alpha1.SchemeGroupVersion.WithResource("replicaschedulingpreferences")
	// Admission is handed the internal type, as the server decodes it.
	preference := func(intersect bool, clusters ...string) runtime.Object {
		rsp := &scheduling.ReplicaSchedulingPreference{Spec: scheduling.ReplicaSchedulingPreferenceSpec{
			TargetKind: "FederatedDeployment", TotalReplicas: 3, IntersectWithClusterSelector: intersect,
			Clusters: map[string]scheduling.ClusterPreferences{}}}
		for _, c := range clusters {
			rsp.Spec.Clusters[c] = scheduling.ClusterPreferences{Weight: 1}
		}
		return rsp
	}
	tests := []struct {
		name        string
		granted     []string
		resource    schema.GroupVersionResource
		subresource string
		object      runtime.Object
		wantDenied  []string // substrings of the message; nil means admitted
	}{
		{name: "named cluster granted", granted: []string{"member-1"}, resource: federatedConfigMaps,
			object: federated(t, "{placement: {clusters: [{name: member-1}]}}")},
		{name: "one of two named clusters not granted", granted: []string{"member-1"}, resource: federatedConfigMaps,
			object:     federated(t, "{placement: {clusters: [{name: member-1}, {name: member-2}, {name: member-3}]}}"),
			wantDenied: []string{`"alice" may not propagate to cluster(s) member-2, member-3`}},
		{name: "selector needs every cluster", granted: []string{"member-1", "member-2"}, resource: federatedConfigMaps,
			object:     federated(t, "{placement: {clusterSelector: {matchLabels: {tier: gold}}}}"),
			wantDenied: []string{"may not propagate to every cluster", "clusterSelector"}},
		{name: "selector allowed with all clusters granted", granted: []string{""}, resource: federatedConfigMaps,
			object: federated(t, "{placement: {clusterSelector: {}}}")},
		{name: "explicit list wins over the selector", granted: []string{"member-1"}, resource: federatedConfigMaps,
			object: federated(t, "{placement: {clusters: [{name: member-1}], clusterSelector: {}}}")},
		{name: "empty list targets nothing", resource: federatedConfigMaps, object: federated(t, "{placement: {clusters: []}}")},
		{name: "no placement targets nothing", resource: federatedConfigMaps, object: federated(t, "{template: {data: {a: b}}}")},
		{name: "overrides outside the placement are allowed", granted: []string{"member-1"}, resource: federatedConfigMaps,
			object: federated(t, "{placement: {clusters: [{name: member-1}]}, overrides: [{clusterName: member-2, clusterOverrides: [{path: /data/a, value: c}]}]}")},
		{name: "status writes are not placements", resource: federatedConfigMaps, subresource: "status",
			object: federated(t, "{placement: {clusters: [{name: member-2}]}}")},
		{name: "preference naming a cluster not granted", granted: []string{"member-1"}, resource: preferences,
			object: preference(false, "member-1", "member-2"), wantDenied: []string{"cluster(s) member-2"}},
		{name: "preference with * needs every cluster", granted: []string{"member-1"}, resource: preferences,
			object: preference(false, "*"), wantDenied: []string{"every cluster"}},
		{name: "preference naming no cluster weighs every cluster", granted: []string{"member-1", "member-2"}, resource: preferences,
			object: preference(false), wantDenied: []string{"every cluster"}},
		{name: "preference intersected with the workload's selector still names its clusters", granted: []string{"member-1"}, resource: preferences,
			object: preference(true, "member-2"), wantDenied: []string{"cluster(s) member-2"}},
		{name: "preference intersected with * needs every cluster", granted: []string{"member-1"}, resource: preferences,
			object: preference(true, "*"), wantDenied: []string{"every cluster"}},
		{name: "preference on granted clusters", granted: []string{"member-1", "member-2"}, resource: preferences,
			object: preference(true, "member-1", "member-2")},
		{name: "preference with every cluster granted", granted: []string{""}, resource: preferences, object: preference(false)},
		{name: "helm release on a granted cluster", granted: []string{"member-1"}, resource: helmReleasesResource,
			object: helmRelease(nil, "member-1")},
		{name: "helm release on a cluster not granted", granted: []string{"member-1"}, resource: helmReleasesResource,
			object: helmRelease(nil, "member-1", "member-2"), wantDenied: []string{`"alice" may not propagate to cluster(s) member-2`}},
		{name: "helm release by selector needs every cluster", granted: []string{"member-1", "member-2"}, resource: helmReleasesResource,
			object: helmRelease(&metav1.LabelSelector{}), wantDenied: []string{"every cluster", "clusterSelector"}},
		{name: "helm release by selector with every cluster granted", granted: []string{""}, resource: helmReleasesResource,
			object: helmRelease(&metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}})},
		{name: "helm release's explicit list wins over its selector", granted: []string{"member-1"}, resource: helmReleasesResource,
			object: helmRelease(&metav1.LabelSelector{}, "member-1")},
		{name: "helm release without placement targets nothing", resource: helmReleasesResource, object: helmRelease(nil)},
		{name: "helm release's empty list leaves its selector to decide, as stored", granted: []string{"member-1"}, resource: helmReleasesResource,
			object: func() runtime.Object {
				release := helmRelease(&metav1.LabelSelector{})
				release.Spec.Placement.Clusters = []typesv1beta1.PlacementCluster{}
				return release
			}(), wantDenied: []string{"every cluster"}},
		{name: "helm release status writes are not placements", resource: helmReleasesResource, subresource: "status",
			object: helmRelease(nil, "member-2")},
		{name: "versioned helm release is read too", granted: []string{"member-1"}, resource: helmReleasesResource,
			object: &appsv1alpha1.FederatedHelmRelease{Spec: appsv1alpha1.FederatedHelmReleaseSpec{
				Placement: typesv1beta1.Placement{Clusters: []typesv1beta1.PlacementCluster{{Name: "member-3"}}}}},
			wantDenied: []string{"cluster(s) member-3"}},
		{name: "the versioned type is read too", granted: []string{"member-1"}, resource: preferences,
			object: &schedulingv1alpha1.ReplicaSchedulingPreference{Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
				Clusters: map[string]schedulingv1alpha1.ClusterPreferences{"member-2": {Weight: 1}}}},
			wantDenied: []string{"cluster(s) member-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := &ClusterAccess{Handler: admission.NewHandler(admission.Create, admission.Update)}
			plugin.SetAuthorizer(grants(tt.granted...))
			attrs := admission.NewAttributesRecord(tt.object, nil, schema.GroupVersionKind{}, "team-a", "web", tt.resource,
				tt.subresource, admission.Create, nil, false, &user.DefaultInfo{Name: "alice"})
			err := plugin.Validate(context.Background(), attrs, nil)
			if tt.wantDenied == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) {
				t.Fatalf("got %v, want Forbidden", err)
			}
			for _, want := range tt.wantDenied {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not contain %q", err.Error(), want)
				}
			}
		})
	}
}

func TestValidateInitialization(t *testing.T) {
	plugin := &ClusterAccess{}
	if err := plugin.ValidateInitialization(); err == nil {
		t.Error("a plugin without an authorizer initialized")
	}
}
