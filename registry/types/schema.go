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
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
)

// federatedSchema is the OpenAPI schema of a Federated<Kind>: KubeFed's
// template, placement and overrides, and its status. template is the target
// type's schema, or nil when it is unknown and any object is accepted.
func federatedSchema(template *apiextensions.JSONSchemaProps) *apiextensions.JSONSchemaProps {
	preserve := true
	anyObject := apiextensions.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
	anyValue := apiextensions.JSONSchemaProps{XPreserveUnknownFields: &preserve}
	str := apiextensions.JSONSchemaProps{Type: "string"}
	described := func(props apiextensions.JSONSchemaProps, description string) apiextensions.JSONSchemaProps {
		props.Description = description
		return props
	}
	names := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"name"},
		Properties: map[string]apiextensions.JSONSchemaProps{"name": described(str, "Name of a KubeFedCluster.")}}
	stringMap := apiextensions.JSONSchemaProps{Type: "object",
		AdditionalProperties: &apiextensions.JSONSchemaPropsOrBool{Allows: true, Schema: &str}}
	selectorRequirement := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"key", "operator"},
		Properties: map[string]apiextensions.JSONSchemaProps{
			"key": str, "operator": str,
			"values": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &str}},
		}}
	override := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"path"},
		Properties: map[string]apiextensions.JSONSchemaProps{
			"op":    described(str, "add, remove or replace; replace when empty."),
			"path":  described(str, "JSON pointer into the rendered object, e.g. /spec/replicas."),
			"value": described(anyValue, "What add and replace write at path."),
		}}
	clusterOverrides := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"clusterName"},
		Properties: map[string]apiextensions.JSONSchemaProps{
			"clusterName": described(str, "The KubeFedCluster these changes apply to."),
			"clusterOverrides": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &override},
				Description: "JSON-patch (RFC 6902) operations on the object rendered for the cluster."},
		}}
	templateSchema := anyObject
	if template != nil {
		templateSchema = *template
	}
	return &apiextensions.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensions.JSONSchemaProps{
			"apiVersion": str,
			"kind":       str,
			"metadata":   {Type: "object"},
			"spec": {
				Type: "object",
				Properties: map[string]apiextensions.JSONSchemaProps{
					"template": described(templateSchema, "The object every placed cluster gets before overrides. "+
						"Its name, namespace and kind are always the federated object's and the target type's."),
					"placement": {Type: "object", Description: "The member clusters the object is propagated to.",
						Properties: map[string]apiextensions.JSONSchemaProps{
							"clusters": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &names},
								Description: "Names clusters; when set, even empty, it wins over clusterSelector."},
							"clusterSelector": {Type: "object", Description: "Selects clusters by label when clusters is unset: {} selects all, no selector none.",
								Properties: map[string]apiextensions.JSONSchemaProps{
									"matchLabels":      stringMap,
									"matchExpressions": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &selectorRequirement}},
								}},
						}},
					"overrides": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &clusterOverrides},
						Description: "Per-cluster changes to the rendered object."},
				},
			},
			"status": described(anyObject, "Propagation state: the Propagation condition and each placed cluster's status."),
		},
	}
}

// federatedValidators returns the structural schema and the validators of the
// whole object and of its status, given the federated schema.
func federatedValidators(props *apiextensions.JSONSchemaProps) (*structuralschema.Structural, apiservervalidation.SchemaValidator, apiservervalidation.SchemaValidator, error) {
	structural, err := structuralschema.NewStructural(props)
	if err != nil {
		return nil, nil, nil, err
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(props)
	if err != nil {
		return nil, nil, nil, err
	}
	status := props.Properties["status"]
	statusValidator, _, err := apiservervalidation.NewSchemaValidator(&status)
	if err != nil {
		return nil, nil, nil, err
	}
	return structural, validator, statusValidator, nil
}
