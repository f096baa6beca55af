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

package validation

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/fedhub/fedhub/apis/apps"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// wantErr is the part of a validation error a caller relies on: where and what kind.
type wantErr struct {
	field string
	typ   field.ErrorType
}

func (w wantErr) String() string { return fmt.Sprintf("%s(%s)", w.typ, w.field) }

func req(path string) wantErr       { return wantErr{path, field.ErrorTypeRequired} }
func invalid(path string) wantErr   { return wantErr{path, field.ErrorTypeInvalid} }
func duplicate(path string) wantErr { return wantErr{path, field.ErrorTypeDuplicate} }
func tooLong(path string) wantErr   { return wantErr{path, field.ErrorTypeTooLong} }

func checkErrors(t *testing.T, got field.ErrorList, want []wantErr) {
	t.Helper()
	gotKeys := make([]wantErr, len(got))
	for i, err := range got {
		gotKeys[i] = wantErr{err.Field, err.Type}
	}
	if fmt.Sprint(gotKeys) != fmt.Sprint(want) {
		t.Errorf("got errors %v, want %v\nfull errors: %v", gotKeys, want, got)
	}
}

func values(raw string) *typesv1beta1.JSON { return &typesv1beta1.JSON{Raw: []byte(raw)} }

func validRelease() *apps.FederatedHelmRelease {
	return &apps.FederatedHelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "default", ResourceVersion: "1"},
		Spec: apps.FederatedHelmReleaseSpec{
			Chart:       apps.HelmChartSource{Repository: "https://charts.example.com/stable", Name: "podinfo", Version: "6.5.0"},
			ReleaseName: "podinfo",
			Values:      values(`{"replicaCount": 2, "ui": {"color": "blue"}}`),
			Placement:   typesv1beta1.Placement{Clusters: []typesv1beta1.PlacementCluster{{Name: "member-1"}, {Name: "member-2"}}},
			Overrides: []apps.HelmValuesOverride{
				{ClusterName: "member-2", Values: values(`{"ui": {"color": null}}`)},
			},
		},
	}
}

func TestValidateFederatedHelmRelease(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apps.FederatedHelmRelease)
		want   []wantErr
	}{
		{name: "valid", mutate: func(*apps.FederatedHelmRelease) {}},
		{name: "http repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "http://127.0.0.1:8879/charts" }},
		{name: "oci repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "oci://registry.example.com/charts" }},
		{name: "upper-case scheme", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "HTTPS://charts.example.com" }},
		{name: "no version", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = "" }},
		{name: "version with v prefix", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = "v1.2.3" }},
		{name: "prerelease version", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = "1.0.0-rc.1+build.5" }},
		{name: "tilde constraint", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = "~1.2.0" }},
		{name: "range constraint", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = ">=1.0.0 <2.0.0" }},
		{name: "chart name with dots and underscores", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Name = "my_chart.v2" }},
		{name: "no values", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Values = nil }},
		{name: "empty values object", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Values = values(`{}`) }},
		{name: "selector placement", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Placement = typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}}}
		}},
		{name: "release name of 53 characters", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.ReleaseName = strings.Repeat("a", 53) }},
		{name: "override without values", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Overrides[0].Values = nil }},

		{name: "missing namespace", mutate: func(r *apps.FederatedHelmRelease) { r.Namespace = "" },
			want: []wantErr{req("metadata.namespace")}},
		{name: "missing repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "" },
			want: []wantErr{req("spec.chart.repository")}},
		{name: "file repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "file:///etc" },
			want: []wantErr{invalid("spec.chart.repository")}},
		{name: "repository without scheme", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "charts.example.com/stable" },
			want: []wantErr{invalid("spec.chart.repository")}},
		{name: "ftp repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "ftp://charts.example.com" },
			want: []wantErr{invalid("spec.chart.repository")}},
		{name: "repository without host", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "https:///charts" },
			want: []wantErr{invalid("spec.chart.repository")}},
		{name: "unparsable repository", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "https://charts example.com:x" },
			want: []wantErr{invalid("spec.chart.repository")}},
		{name: "missing chart name", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Name = "" },
			want: []wantErr{req("spec.chart.name")}},
		{name: "chart name with a slash", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Name = "stable/podinfo" },
			want: []wantErr{invalid("spec.chart.name")}},
		{name: "chart name climbing up", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Name = "a..b" },
			want: []wantErr{invalid("spec.chart.name")}},
		{name: "chart name starting with a dot", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Name = ".hidden" },
			want: []wantErr{invalid("spec.chart.name")}},
		{name: "version neither version nor constraint", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Version = "latest" },
			want: []wantErr{invalid("spec.chart.version")}},
		{name: "missing release name", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.ReleaseName = "" },
			want: []wantErr{req("spec.releaseName")}},
		{name: "release name not a DNS label", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.ReleaseName = "pod.info" },
			want: []wantErr{invalid("spec.releaseName")}},
		{name: "release name of 54 characters", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.ReleaseName = strings.Repeat("a", 54) },
			want: []wantErr{tooLong("spec.releaseName")}},
		{name: "values an array", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Values = values(`[1, 2]`) },
			want: []wantErr{invalid("spec.values")}},
		{name: "values a string", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Values = values(`"replicaCount: 2"`) },
			want: []wantErr{invalid("spec.values")}},
		{name: "placement cluster without name", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Placement.Clusters = append(r.Spec.Placement.Clusters, typesv1beta1.PlacementCluster{})
		}, want: []wantErr{req("spec.placement.clusters[2].name")}},
		{name: "placement cluster twice", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Placement.Clusters = append(r.Spec.Placement.Clusters, typesv1beta1.PlacementCluster{Name: "member-1"})
		}, want: []wantErr{duplicate("spec.placement.clusters[2].name")}},
		{name: "placement cluster name not a DNS subdomain", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Placement.Clusters[0].Name = "Member_1"
		}, want: []wantErr{invalid("spec.placement.clusters[0].name")}},
		{name: "bad cluster selector", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"region": "not valid!"}}
		}, want: []wantErr{invalid("spec.placement.clusterSelector.matchLabels")}},
		{name: "override without cluster", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Overrides[0].ClusterName = "" },
			want: []wantErr{req("spec.overrides[0].clusterName")}},
		{name: "override for a cluster twice", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Overrides = append(r.Spec.Overrides, apps.HelmValuesOverride{ClusterName: "member-2"})
		}, want: []wantErr{duplicate("spec.overrides[1].clusterName")}},
		{name: "override values not an object", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Overrides[0].Values = values(`42`) },
			want: []wantErr{invalid("spec.overrides[0].values")}},
		{name: "the e2e's invalid release", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Chart = apps.HelmChartSource{Repository: "file:///etc"}
		}, want: []wantErr{invalid("spec.chart.repository"), req("spec.chart.name")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := validRelease()
			tt.mutate(obj)
			checkErrors(t, ValidateFederatedHelmRelease(obj), tt.want)
		})
	}
}

func TestValidateFederatedHelmReleaseUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*apps.FederatedHelmRelease)
		want   []wantErr
	}{
		{name: "new values and version", mutate: func(r *apps.FederatedHelmRelease) {
			r.Spec.Values = values(`{"replicaCount": 3}`)
			r.Spec.Chart.Version = "6.6.0"
		}},
		{name: "new placement", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Placement.Clusters = nil }},
		{name: "renamed release", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.ReleaseName = "podinfo-2" },
			want: []wantErr{invalid("spec.releaseName")}},
		{name: "invalid spec", mutate: func(r *apps.FederatedHelmRelease) { r.Spec.Chart.Repository = "file:///etc/passwd" },
			want: []wantErr{invalid("spec.chart.repository")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validRelease()
			obj := old.DeepCopy()
			tt.mutate(obj)
			checkErrors(t, ValidateFederatedHelmReleaseUpdate(obj, old), tt.want)
		})
	}
}

func TestValidateFederatedHelmReleaseStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		status apps.FederatedHelmReleaseStatus
		want   []wantErr
	}{
		{name: "clusters", status: apps.FederatedHelmReleaseStatus{Clusters: []apps.HelmReleaseClusterStatus{
			{Name: "member-1", Revision: 1, Status: "deployed"}, {Name: "member-2", Status: "failed", Message: "fetching the chart: 404"},
		}}},
		{name: "cluster without name", status: apps.FederatedHelmReleaseStatus{Clusters: []apps.HelmReleaseClusterStatus{{Status: "deployed"}}},
			want: []wantErr{req("status.clusters[0].name")}},
		{name: "cluster twice", status: apps.FederatedHelmReleaseStatus{Clusters: []apps.HelmReleaseClusterStatus{{Name: "a"}, {Name: "a"}}},
			want: []wantErr{duplicate("status.clusters[1].name")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validRelease()
			obj := old.DeepCopy()
			obj.Status = tt.status
			checkErrors(t, ValidateFederatedHelmReleaseStatusUpdate(obj, old), tt.want)
		})
	}
}
