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
	"strings"
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/generated/openapi"
)

func TestTemplateSchemaOfEveryDefaultTarget(t *testing.T) {
	targets := NewTargetSchemas(openapi.GetOpenAPIDefinitions)
	for _, target := range []corev1beta1.APIResource{
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Version: "v1", Kind: "ConfigMap"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
		{Group: "batch", Version: "v1", Kind: "Job"},
		{Version: "v1", Kind: "Namespace"},
		{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
		{Version: "v1", Kind: "Secret"},
		{Version: "v1", Kind: "ServiceAccount"},
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	} {
		template, ok := targets.TemplateSchema(target)
		gvk := schema.GroupVersionKind{Group: target.Group, Version: target.Version, Kind: target.Kind}
		if !ok {
			t.Errorf("%s: no schema", gvk)
			continue
		}
		if _, ok := template.Properties["status"]; ok {
			t.Errorf("%s: the template schema has a status", gvk)
		}
		if _, err := structuralschema.NewStructural(federatedSchema(template)); err != nil {
			t.Errorf("%s: the federated schema is not structural: %v", gvk, err)
		}
	}
	if _, ok := targets.TemplateSchema(corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets"}); ok {
		t.Error("a schema was found for an unknown kind")
	}
}

func TestDeploymentTemplateValidation(t *testing.T) {
	template, _ := NewTargetSchemas(openapi.GetOpenAPIDefinitions).TemplateSchema(corev1beta1.APIResource{Group: "apps", Version: "v1", Kind: "Deployment"})
	validator, _, err := apiservervalidation.NewSchemaValidator(federatedSchema(template))
	if err != nil {
		t.Fatal(err)
	}
	// A complete template: a Deployment needs a selector and a pod template.
	base := func() map[string]any {
		return map[string]any{"spec": map[string]any{
			"replicas": int64(3),
			"selector": map[string]any{"matchLabels": map[string]any{"run": "web"}},
			"strategy": map[string]any{"rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": int64(1)}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"run": "web"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
			},
		}}
	}
	with := func(change func(template map[string]any)) map[string]any {
		template := base()
		change(template)
		return template
	}
	tests := []struct {
		name     string
		template map[string]any
		field    string
	}{
		{"valid, with int-or-string fields", base(), ""},
		{"replicas as text", with(func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = "three" }), "spec.template.spec.replicas"},
		{"containers not a list", with(func(m map[string]any) {
			m["spec"].(map[string]any)["template"].(map[string]any)["spec"] = map[string]any{"containers": map[string]any{"name": "web"}}
		}), "spec.template.spec.template.spec.containers"},
		{"labels not strings", with(func(m map[string]any) { m["metadata"] = map[string]any{"labels": map[string]any{"run": int64(1)}} }),
			"spec.template.metadata.labels.run"},
		{"no selector", with(func(m map[string]any) { delete(m["spec"].(map[string]any), "selector") }), "spec.template.spec.selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			object := map[string]any{"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
				"metadata": map[string]any{"name": "web"}, "spec": map[string]any{"template": tt.template}}
			errs := apiservervalidation.ValidateCustomResource(nil, object, validator)
			if tt.field == "" {
				if len(errs) > 0 {
					t.Errorf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field {
				t.Errorf("errors %v, want one at %s", errs, tt.field)
			}
		})
	}
}

// TestServerSideApplyKnowsTemplateLists: with the target's schema, server-side
// apply merges a template's containers by name, as for a Deployment, instead
// of treating the list as one value.
func TestServerSideApplyKnowsTemplateLists(t *testing.T) {
	targets := NewTargetSchemas(openapi.GetOpenAPIDefinitions)
	template, _ := targets.TemplateSchema(corev1beta1.APIResource{Group: "apps", Version: "v1", Kind: "Deployment"})
	definition, err := definitionOf(metav1.APIResource{Name: "federateddeployments", SingularName: "federateddeployment",
		Kind: "FederatedDeployment", Namespaced: true}, federatedSchema(template))
	if err != nil {
		t.Fatal(err)
	}
	converter := dependencies{targets: targets}.typeConverter("FederatedDeployment", kindOpenAPIOf(definition))
	object := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"run": "web"}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "nginx", "image": "nginx"}}}},
		}}},
	}}
	typed, err := converter.ObjectToTyped(object)
	if err != nil {
		t.Fatalf("typing a FederatedDeployment: %v", err)
	}
	fields, err := typed.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	if want := `.spec.template.spec.template.spec.containers[name="nginx"].image`; !strings.Contains(fields.String(), want) {
		t.Errorf("the field set does not key containers by name (want %s):\n%s", want, fields)
	}
}
