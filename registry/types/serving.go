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
	"k8s.io/apiserver/pkg/admission"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	utilwaitgroup "k8s.io/apimachinery/pkg/util/waitgroup"
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
	// definition carries the kind's names and schema for the OpenAPI builders.
	definition *apiextensionsv1.CustomResourceDefinition
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
	targets    *TargetSchemas
	// staticModels are the OpenAPI models (ObjectMeta and the like) a kind's schema refers to.
	staticModels map[string]*spec.Schema
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
	structural, validator, statusValidator, err := federatedValidators(template)
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
	definition, err := definitionOf(apiResource, federatedSchema(template))
	if err != nil {
		return nil, err
	}

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
	typeConverter := deps.typeConverter(definition)
	if scope.FieldManager, err = fieldManager(typeConverter, scope, storage.CustomResource.GetResetFields(), ""); err != nil {
		return nil, err
	}
	if statusScope.FieldManager, err = fieldManager(typeConverter, statusScope, storage.Status.GetResetFields(), "status"); err != nil {
		return nil, err
	}

	return &servingInfo{
		inflight:   &utilwaitgroup.SafeWaitGroup{},
		resource:   apiResource,
		definition: definition,
		storage:    storage, scope: &scope, status: &statusScope,
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
func (deps dependencies) typeConverter(definition *apiextensionsv1.CustomResourceDefinition) managedfields.TypeConverter {
	v3, err := builder.BuildOpenAPIV3(definition, GroupVersion.Version, builder.Options{})
	if err == nil && v3.Components != nil {
		models := map[string]*spec.Schema{}
		for name, model := range deps.staticModels {
			models[name] = model
		}
		for name, model := range v3.Components.Schemas {
			models[name] = model
		}
		var converter managedfields.TypeConverter
		if converter, err = managedfields.NewTypeConverter(models, false); err == nil {
			return converter
		}
	}
	klog.V(2).InfoS("Server-side apply deduces fields", "kind", definition.Spec.Names.Kind, "reason", err)
	return managedfields.NewDeducedTypeConverter()
}
