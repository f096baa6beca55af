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
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// maxSchemaDepth bounds the inlining of references: deeper (or recursive)
// parts of a template are accepted as they are.
const maxSchemaDepth = 32

// Definitions whose Go types marshal to something other than their fields.
var specialDefinitions = map[string]func() apiextensions.JSONSchemaProps{
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": intOrString,
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   intOrString,
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time":       dateTime,
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":  dateTime,
	"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1":   anyObject,
	"io.k8s.apimachinery.pkg.runtime.RawExtension":    anyObject,
}

func intOrString() apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{XIntOrString: true}
}

func dateTime() apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{Type: "string", Format: "date-time"}
}

func anyObject() apiextensions.JSONSchemaProps {
	preserve := true
	return apiextensions.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
}

// TargetSchemas finds the schema of a target type: a built-in kind's among
// OpenAPI definitions generated from k8s.io/api, any other kind's in its
// CustomResourceDefinition on the host.
type TargetSchemas struct {
	definitions    map[string]common.OpenAPIDefinition
	getDefinitions common.GetOpenAPIDefinitions
	// crds reads a CustomResourceDefinition by name; nil without a host.
	crds func(ctx context.Context, name string) (*apiextensionsv1.CustomResourceDefinition, error)
}

// crdLookupTimeout bounds how long building a federated type waits for the host.
const crdLookupTimeout = 10 * time.Second

// WithHost makes the schemas of CRD targets come from the host behind config.
func (s *TargetSchemas) WithHost(config *rest.Config) (*TargetSchemas, error) {
	client, err := apiextensionsclient.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	withHost := *s
	withHost.crds = func(ctx context.Context, name string) (*apiextensionsv1.CustomResourceDefinition, error) {
		return client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
	}
	return &withHost, nil
}

// NewTargetSchemas indexes the definitions getDefinitions returns.
func NewTargetSchemas(getDefinitions common.GetOpenAPIDefinitions) *TargetSchemas {
	definitions := map[string]common.OpenAPIDefinition{}
	for name, definition := range getDefinitions(func(name string) spec.Ref { return spec.MustCreateRef(name) }) {
		definitions[modelNameOf(name)] = definition
	}
	return &TargetSchemas{definitions: definitions, getDefinitions: getDefinitions}
}

// Models returns every definition as an OpenAPI v3 model, with references in
// the form server-side apply resolves.
func (s *TargetSchemas) Models() map[string]*spec.Schema {
	models := map[string]*spec.Schema{}
	refer := func(name string) spec.Ref { return spec.MustCreateRef("#/components/schemas/" + modelNameOf(name)) }
	for name, definition := range s.getDefinitions(refer) {
		schema := definition.Schema
		models[modelNameOf(name)] = &schema
	}
	return models
}

// modelNameOf turns a Go type path such as k8s.io/api/core/v1.Pod, which some
// generated references still use, into its model name io.k8s.api.core.v1.Pod.
func modelNameOf(name string) string {
	domain, path, found := strings.Cut(name, "/")
	if !found {
		return name
	}
	labels := strings.Split(domain, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "." + strings.ReplaceAll(path, "/", ".")
}

// modelName is the OpenAPI model name k8s.io/api gives a kind: its package
// is the group's first label, "core" for the core group.
func modelName(gvk schema.GroupVersionKind) string {
	pkg, _, _ := strings.Cut(gvk.Group, ".")
	if pkg == "" {
		pkg = "core"
	}
	return "io.k8s.api." + pkg + "." + gvk.Version + "." + gvk.Kind
}

// TemplateSchema returns the schema of a template of the target type: the
// type's fields without status, whose apiVersion and kind may be anything
// (the member object always gets the target's), or false when the type is
// neither built in nor a CRD on the host.
func (s *TargetSchemas) TemplateSchema(target corev1beta1.APIResource) (*apiextensions.JSONSchemaProps, bool) {
	template, ok := s.builtIn(target.GroupVersionKind())
	if !ok {
		template, ok = s.fromCRD(target)
	}
	if !ok {
		return nil, false
	}
	delete(template.Properties, "status")
	template.Type = "object"
	return template, true
}

func (s *TargetSchemas) builtIn(gvk schema.GroupVersionKind) (*apiextensions.JSONSchemaProps, bool) {
	name := modelName(gvk)
	if _, ok := s.definitions[name]; !ok {
		return nil, false
	}
	template := s.convert(spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(name)}}, 0, map[string]bool{})
	return &template, true
}

// fromCRD reads the schema of the target's version from its CRD on the host.
func (s *TargetSchemas) fromCRD(target corev1beta1.APIResource) (*apiextensions.JSONSchemaProps, bool) {
	if s.crds == nil || target.Group == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), crdLookupTimeout)
	defer cancel()
	name := target.PluralName + "." + target.Group
	crd, err := s.crds(ctx, name)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			klog.ErrorS(err, "Cannot read the target's CustomResourceDefinition from the host", "crd", name)
		}
		return nil, false
	}
	for _, version := range crd.Spec.Versions {
		if version.Name != target.Version || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
			continue
		}
		template := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(version.Schema.OpenAPIV3Schema, template, nil); err != nil {
			klog.ErrorS(err, "Cannot use the target's CustomResourceDefinition schema", "crd", name)
			return nil, false
		}
		return template, true
	}
	return nil, false
}

// convert turns an OpenAPI schema with references into a structural schema
// with everything inlined.
func (s *TargetSchemas) convert(in spec.Schema, depth int, inlining map[string]bool) apiextensions.JSONSchemaProps {
	if depth > maxSchemaDepth {
		return anyObject()
	}
	// Generated definitions wrap a reference in allOf to give it a description or default.
	if in.Ref.String() == "" && len(in.AllOf) == 1 {
		description := in.Description
		in = in.AllOf[0]
		if in.Description == "" {
			in.Description = description
		}
	}
	if ref := modelNameOf(in.Ref.String()); ref != "" {
		if special, ok := specialDefinitions[ref]; ok {
			out := special()
			out.Description = in.Description
			return out
		}
		definition, ok := s.definitions[ref]
		if !ok || inlining[ref] {
			return anyObject()
		}
		inlining[ref] = true
		defer delete(inlining, ref)
		out := s.convert(definition.Schema, depth+1, inlining)
		if in.Description != "" {
			out.Description = in.Description
		}
		return out
	}
	out := apiextensions.JSONSchemaProps{Description: in.Description, Format: in.Format}
	if len(in.Type) > 0 {
		out.Type = in.Type[0]
	}
	if out.Type == "" && len(in.Properties) > 0 {
		out.Type = "object"
	}
	for _, required := range in.Required {
		out.Required = append(out.Required, required)
	}
	for _, value := range in.Enum {
		out.Enum = append(out.Enum, apiextensions.JSON(value))
	}
	if len(in.Properties) > 0 {
		out.Properties = map[string]apiextensions.JSONSchemaProps{}
		for name, property := range in.Properties {
			out.Properties[name] = s.convert(property, depth+1, inlining)
		}
	}
	if in.Items != nil && in.Items.Schema != nil {
		items := s.convert(*in.Items.Schema, depth+1, inlining)
		out.Items = &apiextensions.JSONSchemaPropsOrArray{Schema: &items}
	}
	if in.AdditionalProperties != nil && in.AdditionalProperties.Schema != nil {
		values := s.convert(*in.AdditionalProperties.Schema, depth+1, inlining)
		out.AdditionalProperties = &apiextensions.JSONSchemaPropsOrBool{Allows: true, Schema: &values}
	}
	copyListExtensions(in, &out)
	if out.Type == "" {
		// A schema that says nothing about its type accepts anything.
		return anyObject()
	}
	return out
}

// copyListExtensions keeps the list and map semantics server-side apply and validation use.
func copyListExtensions(in spec.Schema, out *apiextensions.JSONSchemaProps) {
	if listType, ok := in.Extensions.GetString("x-kubernetes-list-type"); ok {
		out.XListType = &listType
	}
	if keys, ok := in.Extensions["x-kubernetes-list-map-keys"].([]interface{}); ok {
		for _, key := range keys {
			if name, ok := key.(string); ok {
				out.XListMapKeys = append(out.XListMapKeys, name)
			}
		}
	}
	if mapType, ok := in.Extensions.GetString("x-kubernetes-map-type"); ok {
		out.XMapType = &mapType
	}
}
