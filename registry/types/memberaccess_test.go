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
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestMemberAccess(t *testing.T) {
	namespaces := corev1beta1.APIResource{Version: "v1", Kind: "Namespace", PluralName: "namespaces", Scope: corev1beta1.ClusterScoped}
	clusterRoles := corev1beta1.APIResource{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", PluralName: "clusterroles", Scope: corev1beta1.ClusterScoped}
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	tests := []struct {
		name   string
		target corev1beta1.APIResource
		object string
		old    string // set: an update from this object
		// mayPatch is the host object alice may patch ("namespace/name", or "/name" cluster-wide).
		mayPatch string
		want     []string // "type field" of each error; nil: admitted
		asked    bool     // whether the host was asked
	}{
		{name: "a FederatedNamespace named like its namespace", target: namespaces,
			object: `metadata: {name: team-a, namespace: team-a}`},
		{name: "a FederatedNamespace named after another namespace", target: namespaces,
			object: `metadata: {name: team-b, namespace: team-a}`, want: []string{"FieldValueInvalid metadata.name"}},
		{name: "fedhub's own namespace", target: namespaces,
			object: `metadata: {name: kube-federation-system, namespace: team-a}`, want: []string{"FieldValueInvalid metadata.name"}},
		{name: "namespace labels without the host's permission", target: namespaces, asked: true,
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {pod-security.kubernetes.io/enforce: privileged}, annotations: {a: b}}}}}`,
			want:   []string{"FieldValueForbidden spec.template.metadata.labels", "FieldValueForbidden spec.template.metadata.annotations"}},
		{name: "namespace labels through an override", target: namespaces, asked: true,
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {overrides: [{clusterName: m1, clusterOverrides: [{path: /spec/x, value: 1}, {path: /metadata/labels/x, value: y}]}]}}`,
			want:   []string{"FieldValueForbidden spec.overrides[0].clusterOverrides[1].path"}},
		{name: "namespace labels by someone who may patch the namespace inside it", target: namespaces, asked: true, mayPatch: "team-a/team-a",
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}}}`},
		{name: "namespace labels by someone who may patch another namespace", target: namespaces, asked: true, mayPatch: "team-b/team-b",
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}}}`,
			want:   []string{"FieldValueForbidden spec.template.metadata.labels"}},
		{name: "an update that keeps the labels someone else set", target: namespaces,
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}, placement: {clusters: [{name: m1}]}}}`,
			old:    `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}}}`},
		{name: "an update that changes them", target: namespaces, asked: true,
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: z}}}}}`,
			old:    `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}}}`,
			want:   []string{"FieldValueForbidden spec.template.metadata.labels"}},
		{name: "a cluster-scoped kind's annotations", target: clusterRoles, asked: true,
			object: `{metadata: {name: reader}, spec: {template: {metadata: {annotations: {a: b}}}}}`,
			want:   []string{"FieldValueForbidden spec.template.metadata.annotations"}},
		{name: "a cluster-scoped kind's annotations, allowed on the host", target: clusterRoles, asked: true, mayPatch: "/reader",
			object: `{metadata: {name: reader}, spec: {template: {metadata: {annotations: {a: b}}}}}`},
		{name: "a namespaced kind's labels stay in the namespace", target: configMaps,
			object: `{metadata: {name: web, namespace: team-a}, spec: {template: {metadata: {labels: {x: y}}}}}`},
		{name: "shapes the schema refuses do not panic", target: namespaces,
			object: `{metadata: {name: team-a, namespace: team-a}, spec: {template: {metadata: {labels: 5}}, overrides: [null, {clusterOverrides: [null, {path: 5}]}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			check := memberAccess{target: tt.target, authorizer: authorizer.AuthorizerFunc(
				func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
					asked = true
					if a.GetResource() != tt.target.PluralName || a.GetAPIGroup() != tt.target.Group {
						t.Errorf("asked about %s.%s", a.GetResource(), a.GetAPIGroup())
					}
					if a.GetVerb() == "patch" && tt.mayPatch == a.GetNamespace()+"/"+a.GetName() {
						return authorizer.DecisionAllow, "", nil
					}
					return authorizer.DecisionNoOpinion, "", nil
				})}
			obj, old := object(t, tt.object), (*unstructured.Unstructured)(nil)
			operation := admission.Create
			if tt.old != "" {
				old, operation = object(t, tt.old), admission.Update
			}
			attributes := admission.NewAttributesRecord(obj, nil, GroupVersion.WithKind("Federated"+tt.target.Kind), obj.GetNamespace(), obj.GetName(),
				GroupVersion.WithResource("federated"+tt.target.PluralName), "", operation, nil, false, &user.DefaultInfo{Name: "alice"})
			if old != nil {
				attributes = admission.NewAttributesRecord(obj, old, attributes.GetKind(), obj.GetNamespace(), obj.GetName(),
					attributes.GetResource(), "", operation, nil, false, &user.DefaultInfo{Name: "alice"})
			}
			err := check.Validate(context.Background(), attributes, nil)
			if asked != tt.asked {
				t.Errorf("asked the host: %v, want %v", asked, tt.asked)
			}
			var got []string
			if err != nil {
				status, ok := err.(apierrors.APIStatus)
				if !ok || !apierrors.IsInvalid(err) {
					t.Fatalf("error %v, want Invalid", err)
				}
				for _, cause := range status.Status().Details.Causes {
					got = append(got, string(cause.Type)+" "+cause.Field)
				}
			}
			if strings.Join(got, "; ") != strings.Join(tt.want, "; ") {
				t.Errorf("errors %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}

func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}
