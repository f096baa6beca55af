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

package federatedtypeconfig

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/registry"
)

// NewREST returns the storage for federatedtypeconfigs and for their /status.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*registry.REST, *registry.StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &core.FederatedTypeConfig{} },
		NewListFunc:               func() runtime.Object { return &core.FederatedTypeConfigList{} },
		DefaultQualifiedResource:  core.Resource("federatedtypeconfigs"),
		SingularQualifiedResource: core.Resource("federatedtypeconfig"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, nil, err
	}
	return registry.NewREST(store, []string{"ftc"}, []string{"kubefed"}),
		registry.NewStatusREST(store, statusStrategy), nil
}

var table = registry.NewTable(
	registry.Column[*core.FederatedTypeConfig]{
		Name: "Target", Type: "string",
		Description: "The type created in member clusters, as group/version/Kind.",
		Cell:        func(c *core.FederatedTypeConfig) interface{} { return apiResourceString(c.Spec.TargetType) },
	},
	registry.Column[*core.FederatedTypeConfig]{
		Name: "Propagation", Type: "string",
		Description: "Enabled or Disabled.",
		Cell:        func(c *core.FederatedTypeConfig) interface{} { return string(c.Spec.Propagation) },
	},
	registry.Column[*core.FederatedTypeConfig]{
		Name: "Federated-Type", Type: "string", Wide: true,
		Description: "The Federated<Kind> type, as group/version/Kind.",
		Cell:        func(c *core.FederatedTypeConfig) interface{} { return apiResourceString(c.Spec.FederatedType) },
	},
	registry.Column[*core.FederatedTypeConfig]{
		Name: "Controller", Type: "string", Wide: true,
		Description: "State of the propagation controller: Running or NotRunning.",
		Cell:        func(c *core.FederatedTypeConfig) interface{} { return string(c.Status.PropagationController) },
	},
)

// apiResourceString prints a type as kubectl prints a GroupVersionKind: apps/v1/Deployment, v1/ConfigMap.
func apiResourceString(r core.APIResource) string {
	if r.Group == "" {
		return r.Version + "/" + r.Kind
	}
	return r.Group + "/" + r.Version + "/" + r.Kind
}
