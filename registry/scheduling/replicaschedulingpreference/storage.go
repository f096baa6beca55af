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

package replicaschedulingpreference

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/scheduling"
	"github.com/fedhub/fedhub/registry"
)

// NewREST returns the storage for replicaschedulingpreferences and for their /status.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*registry.REST, *registry.StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &scheduling.ReplicaSchedulingPreference{} },
		NewListFunc:               func() runtime.Object { return &scheduling.ReplicaSchedulingPreferenceList{} },
		DefaultQualifiedResource:  scheduling.Resource("replicaschedulingpreferences"),
		SingularQualifiedResource: scheduling.Resource("replicaschedulingpreference"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, nil, err
	}
	return registry.NewREST(store, []string{"rsp"}, []string{"kubefed"}),
		registry.NewStatusREST(store, statusStrategy), nil
}

var table = registry.NewTable(
	registry.Column[*scheduling.ReplicaSchedulingPreference]{
		Name: "Target-Kind", Type: "string",
		Description: "Kind of the federated workload scheduled.",
		Cell:        func(p *scheduling.ReplicaSchedulingPreference) interface{} { return p.Spec.TargetKind },
	},
	registry.Column[*scheduling.ReplicaSchedulingPreference]{
		Name: "Total", Type: "integer",
		Description: "Replicas to run across all clusters.",
		Cell:        func(p *scheduling.ReplicaSchedulingPreference) interface{} { return int64(p.Spec.TotalReplicas) },
	},
	registry.Column[*scheduling.ReplicaSchedulingPreference]{
		Name: "Plan", Type: "string",
		Description: "Replicas per cluster in the current plan, and any left unplaced.",
		Cell:        func(p *scheduling.ReplicaSchedulingPreference) interface{} { return shortPlan(p.Status) },
	},
	registry.Column[*scheduling.ReplicaSchedulingPreference]{
		Name: "Rebalance", Type: "boolean", Wide: true,
		Description: "Whether running replicas may move between clusters.",
		Cell:        func(p *scheduling.ReplicaSchedulingPreference) interface{} { return p.Spec.Rebalance },
	},
)

// planClustersShown is how many clusters the PLAN column names before "+N more".
const planClustersShown = 3

// shortPlan is the plan as "member-1=4,member-2=2", naming at most
// planClustersShown clusters, with the unplaced replicas after it.
func shortPlan(status scheduling.ReplicaSchedulingPreferenceStatus) string {
	var parts []string
	for i, c := range status.Clusters {
		if i == planClustersShown {
			parts = append(parts, fmt.Sprintf("+%d more", len(status.Clusters)-planClustersShown))
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", c.Name, c.Replicas))
	}
	plan := strings.Join(parts, ",")
	if status.UnplacedReplicas > 0 {
		plan = strings.TrimSpace(fmt.Sprintf("%s (%d unplaced)", plan, status.UnplacedReplicas))
	}
	return plan
}
