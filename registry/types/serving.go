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

// Package types serves the federated kinds of types.kubefed.io: one
// unstructured store per FederatedTypeConfig, behind a handler that is
// rebuilt whenever the type configs change.
package types

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	utilwaitgroup "k8s.io/apimachinery/pkg/util/waitgroup"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// GroupVersion is the only group version of the federated kinds.
var GroupVersion = schema.GroupVersion{Group: "types.kubefed.io", Version: "v1beta1"}

// servingInfo is what serves one federated kind.
type servingInfo struct {
	resource      metav1.APIResource
	storage       customresource.CustomResourceStorage
	scope, status *handlers.RequestScope
	propagationOn bool
	// templateKnown is false when the target's schema is unknown and templates are not checked.
	templateKnown bool
	// openAPI is the kind's OpenAPI, built once with the kind: publishing
	// merges it with the other kinds' whenever the served kinds change.
	openAPI kindOpenAPI
	// inflight counts the requests being served with this storage (watches
	// aside), so that a replaced storage is destroyed once they are done.
	inflight *utilwaitgroup.SafeWaitGroup
	// memberAccess checks writes for what they make fedhub set outside the
	// object's namespace in members.
	memberAccess admission.Interface
}

// dependencies are what every serving info is built with.
type dependencies struct {
	scheme     *runtime.Scheme
	optsGetter generic.RESTOptionsGetter
	authorizer authorizer.Authorizer
	maxBody    int64
	// targets also has the OpenAPI models (ObjectMeta and the like) a kind's
	// schema may refer to without defining them.
	targets *TargetSchemas
}

// newServingInfo builds the store and request scopes of the federated type an FTC names.
func newServingInfo(deps dependencies, ftc *corev1beta1.FederatedTypeConfig) (*servingInfo, error) {
	federated := ftc.Spec.FederatedType
	if federated.Group != GroupVersion.Group || federated.Version != GroupVersion.Version {
		return nil, fmt.Errorf("federated type %s/%s is not served: fedhub serves %s", federated.Group, federated.Version, GroupVersion)
	}
	namespaced := federated.Scope == corev1beta1.NamespaceScoped
	kind := GroupVersion.WithKind(federated.Kind)
	listKind := GroupVersion.WithKind(federated.Kind + "List")
	resource := GroupVersion.WithResource(federated.PluralName)
	singular := GroupVersion.WithResource(strings.ToLower(federated.Kind))

	target := ftc.Spec.TargetType
	template, templateKnown := deps.targets.TemplateSchema(target)
	// One schema for the validators and the OpenAPI: none of their builders modifies it.
	props := federatedSchema(template)
	structural, validator, statusValidator, err := federatedValidators(props)
	if err != nil {
		return nil, fmt.Errorf("schema of %s templates: %w", target.Kind, err)
	}
	table, err := newTableConvertor(typesv1beta1.IsWorkload(ftc.Spec.TargetType.Group, ftc.Spec.TargetType.Kind))
	if err != nil {
		return nil, err
	}
	typer := newObjectTyper(deps.scheme)
	strategy := customresource.NewStrategy(typer, namespaced, kind, validator, statusValidator, structural,
		&apiextensions.CustomResourceSubresourceStatus{}, nil, nil)
	storage, err := customresource.NewStorage(resource.GroupResource(), singular.GroupResource(), kind, listKind, strategy,
		restOptionsGetter{deps.optsGetter}, []string{"federated"}, table, nil)
	if err != nil {
		return nil, err
	}

	verbs := metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	apiResource := metav1.APIResource{
		Name: federated.PluralName, SingularName: singular.Resource, Namespaced: namespaced,
		Kind: federated.Kind, Verbs: verbs, Categories: []string{"federated"},
	}
	definition, err := definitionOf(apiResource, props)
	if err != nil {
		return nil, err
	}
	openAPI := kindOpenAPIOf(definition)

	serializer := newNegotiatedSerializer(deps.scheme, structural)
	parameterScheme := runtime.NewScheme()
	parameterScheme.AddUnversionedTypes(GroupVersion, &metav1.ListOptions{}, &metav1.GetOptions{}, &metav1.DeleteOptions{})
	scope := handlers.RequestScope{
		Namer:               handlers.ContextBasedNaming{Namer: meta.NewAccessor(), ClusterScoped: !namespaced},
		Serializer:          serializer,
		ParameterCodec:      runtime.NewParameterCodec(parameterScheme),
		StandardSerializers: serializer.SupportedMediaTypes(),
		Creater:             objectCreater{},
		Convertor:           serializer.convertor,
		Defaulter:           deps.scheme,
		Typer:               serializer.typer,
		UnsafeConvertor:     serializer.convertor,
		Resource:            resource,
		Kind:                kind,
		HubGroupVersion:     GroupVersion,
		MetaGroupVersion:    metav1.SchemeGroupVersion,
		TableConvertor:      storage.CustomResource,
		Authorizer:          deps.authorizer,
		MaxRequestBodyBytes: deps.maxBody,
	}
	statusScope := scope
	statusScope.Subresource = "status"
	typeConverter := deps.typeConverter(federated.Kind, openAPI)
	if scope.FieldManager, err = fieldManager(typeConverter, scope, storage.CustomResource.GetResetFields(), ""); err != nil {
		return nil, err
	}
	if statusScope.FieldManager, err = fieldManager(typeConverter, statusScope, storage.Status.GetResetFields(), "status"); err != nil {
		return nil, err
	}

	return &servingInfo{
		inflight: &utilwaitgroup.SafeWaitGroup{},
		resource: apiResource,
		openAPI:  openAPI,
		storage:  storage, scope: &scope, status: &statusScope,
		propagationOn: ftc.Spec.Propagation == corev1beta1.PropagationEnabled,
		templateKnown: templateKnown,
		memberAccess:  memberAccess{target: target, authorizer: deps.authorizer},
	}, nil
}

// fieldManager tracks managed fields for server-side apply.
func fieldManager(typeConverter managedfields.TypeConverter, scope handlers.RequestScope, resetFields map[fieldpath.APIVersion]*fieldpath.Set, subresource string) (*managedfields.FieldManager, error) {
	return managedfields.NewDefaultCRDFieldManager(typeConverter, scope.Convertor, scope.Defaulter,
		scope.Creater, scope.Kind, scope.HubGroupVersion, subresource, fieldpath.NewExcludeFilterSetMap(resetFields))
}

// typeConverter types a kind for server-side apply from its OpenAPI schema, so
// that lists such as a pod's containers merge by key as in the target type.
// A schema it cannot use falls back to fields deduced from the objects.
func (deps dependencies) typeConverter(kind string, openAPI kindOpenAPI) managedfields.TypeConverter {
	err := openAPI.v3Err
	if err == nil && openAPI.v3.Components != nil {
		models := withReferencedModels(openAPI.v3.Components.Schemas, deps.targets.Models)
		var converter managedfields.TypeConverter
		if converter, err = managedfields.NewTypeConverter(models, false); err == nil {
			return converter
		}
	}
	klog.V(2).InfoS("Server-side apply deduces fields", "kind", kind, "reason", err)
	return managedfields.NewDeducedTypeConverter()
}

// withReferencedModels returns the kind's models and, from staticModels, those
// they refer to without defining, and so on. Only they can type the kind's
// objects: converting all static models (every k8s.io/api definition) for
// every kind cost memory for nothing. The builder's models usually define
// everything they refer to, so staticModels is rarely called.
func withReferencedModels(kindModels map[string]*spec.Schema, staticModels func() map[string]*spec.Schema) map[string]*spec.Schema {
	models := make(map[string]*spec.Schema, len(kindModels))
	var pending []*spec.Schema
	for name, model := range kindModels {
		models[name] = model
		pending = append(pending, model)
	}
	var static map[string]*spec.Schema
	for len(pending) > 0 {
		model := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		forEachReference(model, func(name string) {
			if _, known := models[name]; known {
				return
			}
			if static == nil {
				static = staticModels()
			}
			if referenced, ok := static[name]; ok {
				models[name] = referenced
				pending = append(pending, referenced)
			}
		})
	}
	return models
}

// forEachReference calls f with the model name of every reference in schema,
// named as server-side apply resolves it (the last element of its path).
func forEachReference(schema *spec.Schema, f func(name string)) {
	if schema == nil {
		return
	}
	if _, name := path.Split(schema.Ref.String()); name != "" {
		f(name)
	}
	each := func(schemas []spec.Schema) {
		for i := range schemas {
			forEachReference(&schemas[i], f)
		}
	}
	if schema.Items != nil {
		forEachReference(schema.Items.Schema, f)
		each(schema.Items.Schemas)
	}
	each(schema.AllOf)
	each(schema.AnyOf)
	each(schema.OneOf)
	forEachReference(schema.Not, f)
	for _, property := range schema.Properties {
		forEachReference(&property, f)
	}
	for _, property := range schema.PatternProperties {
		forEachReference(&property, f)
	}
	if schema.AdditionalProperties != nil {
		forEachReference(schema.AdditionalProperties.Schema, f)
	}
	if schema.AdditionalItems != nil {
		forEachReference(schema.AdditionalItems.Schema, f)
	}
	for _, dependency := range schema.Dependencies {
		forEachReference(dependency.Schema, f)
	}
	for _, definition := range schema.Definitions {
		forEachReference(&definition, f)
	}
}
