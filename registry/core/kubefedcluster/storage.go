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

package kubefedcluster

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/registry"
)

// NewREST returns the storage for kubefedclusters and for their /status.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*registry.REST, *registry.StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &core.KubeFedCluster{} },
		NewListFunc:               func() runtime.Object { return &core.KubeFedClusterList{} },
		DefaultQualifiedResource:  core.Resource("kubefedclusters"),
		SingularQualifiedResource: core.Resource("kubefedcluster"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, nil, err
	}
	return registry.NewREST(store, []string{"kfc"}, []string{"kubefed"}),
		registry.NewStatusREST(store, statusStrategy), nil
}

var table = registry.NewTable(
	registry.Column[*core.KubeFedCluster]{
		Name: "Ready", Type: "string",
		Description: "Status of the Ready condition: True, False or Unknown.",
		Cell:        func(c *core.KubeFedCluster) interface{} { return conditionStatus(c, core.ClusterReady) },
	},
	registry.Column[*core.KubeFedCluster]{
		Name: "Mode", Type: "string", Wide: true,
		Description: "How fedhub reaches the member: Push (fedhub dials it) or Pull (its agent connects out).",
		Cell: func(c *core.KubeFedCluster) interface{} {
			if c.Spec.Mode == "" {
				return string(core.ClusterModePush)
			}
			return string(c.Spec.Mode)
		},
	},
	registry.Column[*core.KubeFedCluster]{
		Name: "Kubernetes-Version", Type: "string", Wide: true,
		Description: "Version the member's API server reports.",
		Cell:        func(c *core.KubeFedCluster) interface{} { return c.Status.KubernetesVersion },
	},
	registry.Column[*core.KubeFedCluster]{
		Name: "Region", Type: "string", Wide: true,
		Description: "Region of the member's nodes.",
		Cell: func(c *core.KubeFedCluster) interface{} {
			if c.Status.Region == nil {
				return ""
			}
			return *c.Status.Region
		},
	},
	registry.Column[*core.KubeFedCluster]{
		Name: "Zones", Type: "string", Wide: true,
		Description: "Availability zones of the member's nodes.",
		Cell:        func(c *core.KubeFedCluster) interface{} { return strings.Join(c.Status.Zones, ",") },
	},
	registry.Column[*core.KubeFedCluster]{
		Name: "API-Endpoint", Type: "string", Wide: true,
		Description: "The member's API server.",
		Cell:        func(c *core.KubeFedCluster) interface{} { return c.Spec.APIEndpoint },
	},
)

// conditionStatus prints a condition's status, or nothing before the first probe.
func conditionStatus(cluster *core.KubeFedCluster, conditionType core.ClusterConditionType) string {
	for _, condition := range cluster.Status.Conditions {
		if condition.Type == conditionType {
			return string(condition.Status)
		}
	}
	return ""
}
