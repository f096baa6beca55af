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
	names := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"name"},
		Properties: map[string]apiextensions.JSONSchemaProps{"name": str}}
	stringMap := apiextensions.JSONSchemaProps{Type: "object",
		AdditionalProperties: &apiextensions.JSONSchemaPropsOrBool{Allows: true, Schema: &str}}
	selectorRequirement := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"key", "operator"},
		Properties: map[string]apiextensions.JSONSchemaProps{
			"key": str, "operator": str,
			"values": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &str}},
		}}
	override := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"path"},
		Properties: map[string]apiextensions.JSONSchemaProps{"op": str, "path": str, "value": anyValue}}
	clusterOverrides := apiextensions.JSONSchemaProps{Type: "object", Required: []string{"clusterName"},
		Properties: map[string]apiextensions.JSONSchemaProps{
			"clusterName":      str,
			"clusterOverrides": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &override}},
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
					"template": templateSchema,
					"placement": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
						"clusters": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &names}},
						"clusterSelector": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
							"matchLabels":      stringMap,
							"matchExpressions": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &selectorRequirement}},
						}},
					}},
					"overrides": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &clusterOverrides}},
				},
			},
			"status": anyObject,
		},
	}
}

// federatedValidators returns the structural schema and the validators of the
// whole object and of its status.
func federatedValidators(template *apiextensions.JSONSchemaProps) (*structuralschema.Structural, apiservervalidation.SchemaValidator, apiservervalidation.SchemaValidator, error) {
	props := federatedSchema(template)
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
