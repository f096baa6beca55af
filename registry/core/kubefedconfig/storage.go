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

package kubefedconfig

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/registry"
)

// NewREST returns the storage for kubefedconfigs.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*registry.REST, error) {
	strategy := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &core.KubeFedConfig{} },
		NewListFunc:               func() runtime.Object { return &core.KubeFedConfigList{} },
		DefaultQualifiedResource:  core.Resource("kubefedconfigs"),
		SingularQualifiedResource: core.Resource("kubefedconfig"),

		CreateStrategy: strategy,
		UpdateStrategy: strategy,
		DeleteStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, err
	}
	return registry.NewREST(store, nil, []string{"kubefed"}), nil
}

var table = registry.NewTable(
	registry.Column[*core.KubeFedConfig]{
		Name: "Scope", Type: "string",
		Description: "Cluster or Namespaced: which namespaces the control plane federates.",
		Cell:        func(c *core.KubeFedConfig) interface{} { return string(c.Spec.Scope) },
	},
	registry.Column[*core.KubeFedConfig]{
		Name: "Adopt-Resources", Type: "string", Wide: true,
		Description: "Whether objects already in members are adopted.",
		Cell: func(c *core.KubeFedConfig) interface{} {
			if c.Spec.SyncController == nil || c.Spec.SyncController.AdoptResources == nil {
				return ""
			}
			return string(*c.Spec.SyncController.AdoptResources)
		},
	},
)
