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

package main

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// federatedConfigMap is the kind the OpenAPI documents below describe.
var federatedConfigMap = schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedConfigMap"}

// openAPIDocument is an OpenAPI v3 document in the form fedhub serves:
// the kind's model refers to ObjectMeta for its metadata.
func openAPIDocument(spec string) []byte {
	return []byte(`{"components":{"schemas":{
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":{"type":"object"},
		"io.kubefed.types.v1beta1.FederatedSecret":{"type":"object",
			"x-kubernetes-group-version-kind":[{"group":"types.kubefed.io","kind":"FederatedSecret","version":"v1beta1"}]},
		"io.kubefed.types.v1beta1.FederatedConfigMap":{"type":"object",
			"x-kubernetes-group-version-kind":[{"group":"types.kubefed.io","kind":"FederatedConfigMap","version":"v1beta1"}],
			"properties":{
				"apiVersion":{"type":"string"},
				"metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
				"spec":` + spec + `,
				"status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}}`)
}

func TestKindSchema(t *testing.T) {
	spec := `{"type":"object","properties":{"template":{"type":"object","properties":{"data":{"type":"object","additionalProperties":{"type":"string"}}}}}}`
	props, err := kindSchema(openAPIDocument(spec), federatedConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	if metadata := props.Properties["metadata"]; metadata.Type != "object" || len(metadata.AllOf) > 0 || metadata.Default != nil {
		t.Errorf("metadata is %+v, want just type object", metadata)
	}
	data := props.Properties["spec"].Properties["template"].Properties["data"]
	if data.AdditionalProperties == nil || data.AdditionalProperties.Schema == nil || data.AdditionalProperties.Schema.Type != "string" {
		t.Errorf("the template's data lost its schema: %+v", data)
	}
	if status := props.Properties["status"]; status.XPreserveUnknownFields == nil || !*status.XPreserveUnknownFields {
		t.Errorf("status is %+v, want any object", status)
	}
}

func TestKindSchemaRefusesWhatACRDCannotSay(t *testing.T) {
	for name, spec := range map[string]string{
		"a reference below the metadata": `{"$ref":"#/components/schemas/io.k8s.api.core.v1.ConfigMap"}`,
		"a field a CRD's schema lacks":   `{"type":"object","discriminator":{"propertyName":"kind"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := kindSchema(openAPIDocument(spec), federatedConfigMap)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
	if _, err := kindSchema(openAPIDocument(`{"type":"object"}`), schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment"}); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("a kind the document lacks: %v", err)
	}
}
