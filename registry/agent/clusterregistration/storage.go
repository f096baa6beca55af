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

package clusterregistration

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/registry"
)

// ShortNames are what kubectl accepts for clusterregistrations.
var ShortNames = []string{"creg"}

// Categories: none. The kubefed category is KubeFed's kinds; these are fedhub's own.
var Categories []string

// NewREST returns the storage for clusterregistrations and for their /status.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*registry.REST, *registry.StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &agent.ClusterRegistration{} },
		NewListFunc:               func() runtime.Object { return &agent.ClusterRegistrationList{} },
		DefaultQualifiedResource:  agent.Resource("clusterregistrations"),
		SingularQualifiedResource: agent.Resource("clusterregistration"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, nil, err
	}
	return registry.NewREST(store, ShortNames, Categories),
		registry.NewStatusREST(store, statusStrategy), nil
}

var table = registry.NewTable(
	registry.Column[*agent.ClusterRegistration]{
		Name: "Approved", Type: "boolean", BeforeAge: true,
		Description: "Whether an administrator approved the cluster's joining.",
		Cell:        func(r *agent.ClusterRegistration) interface{} { return r.Spec.Approved },
	},
	registry.Column[*agent.ClusterRegistration]{
		Name: "Renewed", Type: "string",
		Description: "How long ago the agent last renewed the cluster's lease.",
		Cell: func(r *agent.ClusterRegistration) interface{} {
			if r.Status.RenewTime == nil {
				return "<never>"
			}
			return registry.Age(metav1.NewTime(r.Status.RenewTime.Time))
		},
	},
	registry.Column[*agent.ClusterRegistration]{
		Name: "API-Endpoint", Type: "string", Wide: true,
		Description: "The member's API server as the agent reports it.",
		Cell:        func(r *agent.ClusterRegistration) interface{} { return r.Spec.APIEndpoint },
	},
	registry.Column[*agent.ClusterRegistration]{
		Name: "Kubernetes-Version", Type: "string", Wide: true,
		Description: "Version the member's API server reports.",
		Cell:        func(r *agent.ClusterRegistration) interface{} { return r.Status.KubernetesVersion },
	},
)
