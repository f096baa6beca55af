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
	"fmt"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// OpenAPIServices are the server's /openapi/v2 and /openapi/v3 services and
// the v2 spec of everything else it serves.
type OpenAPIServices struct {
	V2     *handler.OpenAPIService
	V3     *handler3.OpenAPIService
	Static *spec.Swagger
}

// openAPIGroupVersionPath is where /openapi/v3 serves the federated kinds.
var openAPIGroupVersionPath = "apis/" + GroupVersion.Group + "/" + GroupVersion.Version

// definitionOf describes a served kind as a CustomResourceDefinition: the
// OpenAPI builders of apiextensions-apiserver take that form.
func definitionOf(resource metav1.APIResource, schema *apiextensions.JSONSchemaProps) (*apiextensionsv1.CustomResourceDefinition, error) {
	versioned := &apiextensionsv1.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_apiextensions_JSONSchemaProps_To_v1_JSONSchemaProps(schema, versioned, nil); err != nil {
		return nil, err
	}
	scope := apiextensionsv1.ClusterScoped
	if resource.Namespaced {
		scope = apiextensionsv1.NamespaceScoped
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: resource.Name + "." + GroupVersion.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: GroupVersion.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: resource.Name, Singular: resource.SingularName, Kind: resource.Kind,
				ListKind: resource.Kind + "List", Categories: resource.Categories,
			},
			Scope: scope,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: GroupVersion.Version, Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: versioned},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}, nil
}

// kindOpenAPI is one kind's OpenAPI v2 and v3, or why a builder failed.
type kindOpenAPI struct {
	v2    *spec.Swagger
	v2Err error
	v3    *spec3.OpenAPI
	v3Err error
}

// kindOpenAPIOf builds a kind's OpenAPI once, for publishing and for
// server-side apply: keeping the definition to rebuild it at every publish
// kept a third copy of the kind's schema, and built every kind again whenever
// one changed. The merges that publish does copy what they change, as for
// the specs apiextensions-apiserver caches per CRD.
func kindOpenAPIOf(definition *apiextensionsv1.CustomResourceDefinition) kindOpenAPI {
	var built kindOpenAPI
	built.v2, built.v2Err = builder.BuildOpenAPIV2(definition, GroupVersion.Version, builder.Options{V2: true})
	built.v3, built.v3Err = builder.BuildOpenAPIV3(definition, GroupVersion.Version, builder.Options{})
	return built
}

// publish serves the OpenAPI v2 and v3 of exactly the given kinds.
func (s *OpenAPIServices) publish(served map[string]*servingInfo) error {
	names := make([]string, 0, len(served))
	for name := range served {
		names = append(names, name)
	}
	sort.Strings(names)
	var v2Specs []*spec.Swagger
	var v3Specs []*spec3.OpenAPI
	for _, name := range names {
		built := served[name].openAPI
		if built.v2Err != nil {
			return fmt.Errorf("OpenAPI v2 of %s: %w", name, built.v2Err)
		}
		if built.v3Err != nil {
			return fmt.Errorf("OpenAPI v3 of %s: %w", name, built.v3Err)
		}
		v2Specs, v3Specs = append(v2Specs, built.v2), append(v3Specs, built.v3)
	}
	merged, err := builder.MergeSpecs(s.Static, v2Specs...)
	if err != nil {
		return err
	}
	if err := s.V2.UpdateSpec(merged); err != nil {
		return err
	}
	if len(v3Specs) == 0 {
		s.V3.DeleteGroupVersion(openAPIGroupVersionPath)
		return nil
	}
	mergedV3, err := builder.MergeSpecsV3(v3Specs...)
	if err != nil {
		return err
	}
	s.V3.UpdateGroupVersion(openAPIGroupVersionPath, mergedV3)
	return nil
}
