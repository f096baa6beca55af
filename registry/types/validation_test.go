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

package types

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

func TestValidateFederatedSpec(t *testing.T) {
	tests := []struct {
		name        string
		spec        string
		annotations map[string]any
		want        []string // "type field" of each expected error, in order
	}{
		{name: "KubeFed's example", spec: `
template: {spec: {replicas: 3}}
placement: {clusters: [{name: member-1}]}
overrides: [{clusterName: member-1, clusterOverrides: [{path: /spec/replicas, value: 1}]}]`},
		{name: "selector placement and every op", spec: `
template: {spec: {paused: true}}
placement: {clusterSelector: {matchLabels: {env: prod}, matchExpressions: [{key: tier, operator: In, values: [a]}]}}
overrides: [{clusterName: member-1, clusterOverrides: [{op: add, path: /metadata/labels/x, value: y}, {op: remove, path: /spec/paused}, {op: replace, path: /spec/replicas, value: 2}]}]`},
		{name: "overrides that cannot be applied to the template, found by rendering them", spec: `
template: {spec: {containers: [{name: app}]}}
overrides:
- {clusterName: a, clusterOverrides: [{op: remove, path: /spec/paused}]}
- {clusterName: b, clusterOverrides: [{path: /spec/replicas, value: 2}, {path: /spec/template/spec/x, value: 1}]}
- {clusterName: c, clusterOverrides: [{path: /spec/containers/3/name, value: x}]}
- {clusterName: d, clusterOverrides: [{path: /spec/a~2b, value: x}]}
- {clusterName: e, clusterOverrides: [{path: /metadata/labels/kubefed.io~1managed, value: "false"}]}
- {clusterName: f, clusterOverrides: [{path: /metadata, value: {labels: {kubefed.io/managed: "true"}}}]}
- {clusterName: g, clusterOverrides: [{path: /spec/replicas, value: null}]}`,
			want: []string{"FieldValueInvalid spec.overrides[0].clusterOverrides[0]", "FieldValueInvalid spec.overrides[1].clusterOverrides[1]",
				"FieldValueInvalid spec.overrides[2].clusterOverrides[0]", "FieldValueInvalid spec.overrides[3].clusterOverrides[0]",
				"FieldValueInvalid spec.overrides[4].clusterOverrides[0]", "FieldValueInvalid spec.overrides[5].clusterOverrides[0]",
				"FieldValueInvalid spec.overrides[6].clusterOverrides[0]"}},
		{name: "empty placement", spec: `placement: {clusters: []}`},
		{name: "cluster name missing, duplicated, malformed", spec: `
placement: {clusters: [{name: ""}, {name: a}, {name: a}, {name: Not_DNS}]}`,
			want: []string{"FieldValueRequired spec.placement.clusters[0].name", "FieldValueDuplicate spec.placement.clusters[2].name",
				"FieldValueInvalid spec.placement.clusters[3].name"}},
		{name: "bad selector operator", spec: `placement: {clusterSelector: {matchExpressions: [{key: tier, operator: Near}]}}`,
			want: []string{"FieldValueInvalid spec.placement.clusterSelector.matchExpressions[0].operator"}},
		{name: "duplicate cluster in overrides", spec: `
overrides: [{clusterName: a, clusterOverrides: []}, {clusterName: a}]`,
			want: []string{"FieldValueDuplicate spec.overrides[1].clusterName"}},
		{name: "unknown op", spec: `overrides: [{clusterName: a, clusterOverrides: [{op: move, path: /spec/x, value: 1}]}]`,
			want: []string{"FieldValueNotSupported spec.overrides[0].clusterOverrides[0].op"}},
		{name: "path not a pointer", spec: `overrides: [{clusterName: a, clusterOverrides: [{path: spec.replicas, value: 1}]}]`,
			want: []string{"FieldValueInvalid spec.overrides[0].clusterOverrides[0].path"}},
		{name: "forbidden paths", spec: `
overrides: [{clusterName: a, clusterOverrides: [{path: /metadata/name, value: x}, {path: /metadata/namespace, value: x}, {path: /metadata/generateName, value: x}, {path: /kind, value: x}]}]`,
			want: []string{"FieldValueForbidden spec.overrides[0].clusterOverrides[0].path", "FieldValueForbidden spec.overrides[0].clusterOverrides[1].path",
				"FieldValueForbidden spec.overrides[0].clusterOverrides[2].path", "FieldValueForbidden spec.overrides[0].clusterOverrides[3].path"}},
		{name: "finalizers and owner references, or anything in them", spec: `
overrides: [{clusterName: a, clusterOverrides: [{path: /metadata/finalizers, value: [example.com/block]}, {op: add, path: /metadata/finalizers/-, value: x},
  {path: /metadata/ownerReferences, value: [{apiVersion: v1, kind: ConfigMap, name: o, uid: u}]}, {path: /metadata/ownerReferences/0/name, value: x}]}]`,
			want: []string{"FieldValueForbidden spec.overrides[0].clusterOverrides[0].path", "FieldValueForbidden spec.overrides[0].clusterOverrides[1].path",
				"FieldValueForbidden spec.overrides[0].clusterOverrides[2].path", "FieldValueForbidden spec.overrides[0].clusterOverrides[3].path"}},
		{name: "finalizers set through the whole metadata, found by rendering", spec: `
overrides: [{clusterName: a, clusterOverrides: [{path: /metadata, value: {name: web, namespace: team-a, labels: {kubefed.io/managed: "true"}, finalizers: [example.com/block]}}]}]`,
			want: []string{"FieldValueInvalid spec.overrides[0].clusterOverrides[0]"}},
		{name: "duplicate path in one cluster, same path in two clusters", spec: `
overrides: [{clusterName: a, clusterOverrides: [{path: /spec/replicas, value: 1}, {path: /spec/replicas, value: 2}]}, {clusterName: b, clusterOverrides: [{path: /spec/replicas, value: 3}]}]`,
			want: []string{"FieldValueDuplicate spec.overrides[0].clusterOverrides[1].path"}},
		{name: "placement entries of the wrong type (other callers than the API)", spec: `placement: {clusters: [null, member-1], clusterSelector: "env=prod"}`,
			want: []string{"FieldValueRequired spec.placement.clusters[0].name", "FieldValueRequired spec.placement.clusters[1].name",
				"FieldValueInvalid spec.placement.clusterSelector"}},
		{name: "template in the object's namespace", spec: `template: {metadata: {namespace: team-a}}`},
		{name: "template in another namespace", spec: `template: {metadata: {namespace: team-b}}`,
			want: []string{"FieldValueInvalid spec.template.metadata.namespace"}},
		{name: "delete options", spec: `{}`, annotations: map[string]any{"kubefed.io/deleteoption": `{"propagationPolicy":"Orphan"}`}},
		{name: "delete options that are not JSON", spec: `{}`, annotations: map[string]any{"kubefed.io/deleteoption": `Orphan`},
			want: []string{"FieldValueInvalid metadata.annotations[kubefed.io/deleteoption]"}},
		{name: "an unknown propagation policy", spec: `{}`, annotations: map[string]any{"kubefed.io/deleteoption": `{"propagationPolicy":"Later"}`},
			want: []string{"FieldValueNotSupported metadata.annotations[kubefed.io/deleteoption].propagationPolicy"}},
		{name: "replace without a value", spec: `overrides: [{clusterName: a, clusterOverrides: [{path: /spec/replicas}]}]`,
			want: []string{"FieldValueRequired spec.overrides[0].clusterOverrides[0].value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec map[string]any
			if err := yaml.Unmarshal([]byte(tt.spec), &spec); err != nil {
				t.Fatal(err)
			}
			metadata := map[string]any{"name": "web", "namespace": "team-a", "annotations": tt.annotations}
			errs := ValidateFederatedSpec(map[string]any{"metadata": metadata, "spec": spec})
			var got []string
			for _, err := range errs {
				got = append(got, string(err.Type)+" "+err.Field)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors %v, want %v", describe(errs), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("error %d is %q, want %q (%v)", i, got[i], tt.want[i], describe(errs))
				}
			}
		})
	}
}

func describe(errs field.ErrorList) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}
