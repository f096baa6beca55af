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

	"github.com/fedhub/fedhub/apis/scheduling"
)

// wantErr is the part of a validation error a caller relies on: where and what kind.
type wantErr struct {
	field string
	typ   field.ErrorType
}

func (w wantErr) String() string { return fmt.Sprintf("%s(%s)", w.typ, w.field) }

func req(path string) wantErr         { return wantErr{path, field.ErrorTypeRequired} }
func invalid(path string) wantErr     { return wantErr{path, field.ErrorTypeInvalid} }
func unsupported(path string) wantErr { return wantErr{path, field.ErrorTypeNotSupported} }

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

func ptr[T any](v T) *T { return &v }

func validPreference() *scheduling.ReplicaSchedulingPreference {
	return &scheduling.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: scheduling.ReplicaSchedulingPreferenceSpec{
			TargetKind:    "FederatedDeployment",
			TotalReplicas: 9,
			Clusters: map[string]scheduling.ClusterPreferences{
				"member-1": {MinReplicas: 2, MaxReplicas: ptr[int64](6), Weight: 2},
				"*":        {Weight: 1},
			},
		},
	}
}

func TestValidateReplicaSchedulingPreference(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*scheduling.ReplicaSchedulingPreference)
		want   []wantErr
	}{
		{name: "deployment", mutate: func(*scheduling.ReplicaSchedulingPreference) {}},
		{name: "replica set", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TargetKind = "FederatedReplicaSet" }},
		{name: "no clusters and no replicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.TotalReplicas = 0
			p.Spec.Clusters = nil
		}},
		{name: "maxReplicas equal to minReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 3, MaxReplicas: ptr[int64](3)}
		}},
		{name: "zero maxReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MaxReplicas: ptr[int64](0)}
		}},
		{name: "dotted cluster name", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["eu.member-2"] = scheduling.ClusterPreferences{Weight: 1}
		}},

		{name: "missing namespace", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Namespace = "" },
			want: []wantErr{req("metadata.namespace")}},
		{name: "name not a DNS subdomain", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Name = "Web_App" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "missing targetKind", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TargetKind = "" },
			want: []wantErr{req("spec.targetKind")}},
		{name: "unsupported targetKind", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TargetKind = "FederatedStatefulSet" },
			want: []wantErr{unsupported("spec.targetKind")}},
		{name: "negative totalReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TotalReplicas = -1 },
			want: []wantErr{invalid("spec.totalReplicas")}},
		{name: "cluster name not a DNS subdomain", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["Member_2"] = scheduling.ClusterPreferences{Weight: 1}
		}, want: []wantErr{invalid("spec.clusters[Member_2]")}},
		{name: "empty cluster name", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters[""] = scheduling.ClusterPreferences{Weight: 1}
		}, want: []wantErr{invalid("spec.clusters[]")}},
		{name: "negative minReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["*"] = scheduling.ClusterPreferences{MinReplicas: -1}
		}, want: []wantErr{invalid("spec.clusters[*].minReplicas")}},
		{name: "negative weight", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["*"] = scheduling.ClusterPreferences{Weight: -3}
		}, want: []wantErr{invalid("spec.clusters[*].weight")}},
		{name: "negative maxReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 1, MaxReplicas: ptr[int64](-1)}
		}, want: []wantErr{invalid("spec.clusters[member-1].maxReplicas")}},
		{name: "maxReplicas below minReplicas", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 4, MaxReplicas: ptr[int64](2)}
		}, want: []wantErr{invalid("spec.clusters[member-1].maxReplicas")}},
		{name: "errors in key order", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.Clusters = map[string]scheduling.ClusterPreferences{
				"zeta":  {Weight: -1},
				"alpha": {MinReplicas: -1},
				"mid":   {MinReplicas: 5, MaxReplicas: ptr[int64](1)},
				"*":     {Weight: -1},
			}
		}, want: []wantErr{
			invalid("spec.clusters[*].weight"), invalid("spec.clusters[alpha].minReplicas"),
			invalid("spec.clusters[mid].maxReplicas"), invalid("spec.clusters[zeta].weight"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := validPreference()
			tt.mutate(obj)
			// Repeated runs catch an order that depends on map iteration.
			for range 5 {
				checkErrors(t, ValidateReplicaSchedulingPreference(obj), tt.want)
			}
		})
	}
}

func TestMaxReplicasErrorNamesMinReplicas(t *testing.T) {
	obj := validPreference()
	obj.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 4, MaxReplicas: ptr[int64](2)}
	errs := ValidateReplicaSchedulingPreference(obj)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "greater than or equal to minReplicas") {
		t.Errorf("got %v, want one error saying maxReplicas must be >= minReplicas", errs)
	}
}

func TestValidateReplicaSchedulingPreferenceUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*scheduling.ReplicaSchedulingPreference)
		want   []wantErr
	}{
		{name: "unchanged", mutate: func(*scheduling.ReplicaSchedulingPreference) {}},
		{name: "scaled and rebalanced", mutate: func(p *scheduling.ReplicaSchedulingPreference) {
			p.Spec.TotalReplicas = 30
			p.Spec.Rebalance = true
		}},
		{name: "renamed", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Name = "api" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "invalid spec", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TargetKind = "Deployment" },
			want: []wantErr{unsupported("spec.targetKind")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validPreference(), validPreference()
			tt.mutate(newObj)
			checkErrors(t, ValidateReplicaSchedulingPreferenceUpdate(newObj, oldObj), tt.want)
		})
	}
}

func TestValidateReplicaSchedulingPreferenceStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*scheduling.ReplicaSchedulingPreference)
		want   []wantErr
	}{
		{name: "unchanged", mutate: func(*scheduling.ReplicaSchedulingPreference) {}},
		{name: "spec is not checked by a status write", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Spec.TargetKind = "" }},
		{name: "renamed", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Name = "api" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "moved", mutate: func(p *scheduling.ReplicaSchedulingPreference) { p.Namespace = "prod" },
			want: []wantErr{invalid("metadata.namespace")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validPreference(), validPreference()
			tt.mutate(newObj)
			checkErrors(t, ValidateReplicaSchedulingPreferenceStatusUpdate(newObj, oldObj), tt.want)
		})
	}
}
