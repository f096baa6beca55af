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

package work

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/registry"
)

// ShortNames: none; "work" is short already.
var ShortNames []string

// NewREST returns the storage for works and for their /status, both keeping
// each agent to its own cluster's Works.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &agent.Work{} },
		NewListFunc:               func() runtime.Object { return &agent.WorkList{} },
		DefaultQualifiedResource:  agent.Resource("works"),
		SingularQualifiedResource: agent.Resource("work"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	return &REST{REST: registry.NewREST(store, ShortNames, nil)},
		&StatusREST{StatusREST: registry.NewStatusREST(store, statusStrategy)}, nil
}

var table = registry.NewTable(
	registry.Column[*agent.Work]{
		Name: "Cluster", Type: "string", BeforeAge: true,
		Description: "The pull-mode member the Work is for.",
		Cell:        func(w *agent.Work) interface{} { return w.Spec.ClusterName },
	},
	registry.Column[*agent.Work]{
		Name: "Source", Type: "string", BeforeAge: true,
		Description: "The federated object the Work was rendered from: kind/namespace/name.",
		Cell:        func(w *agent.Work) interface{} { return source(w.Spec.Source) },
	},
	registry.Column[*agent.Work]{
		Name: "Result", Type: "string", BeforeAge: true,
		Description: "The agent's report: InSync, KubeFed's failure reason, or WaitingForAgent until it reports on the current generation.",
		Cell:        func(w *agent.Work) interface{} { return Result(w) },
	},
)

// Result is what the RESULT column prints: WaitingForAgent before the agent
// reports on the current generation, else the agent's result, InSync when it is empty.
func Result(w *agent.Work) string {
	switch {
	case w.Status.ObservedGeneration < w.Generation:
		return v1alpha1.WaitingForAgent
	case w.Status.Result == "":
		return "InSync"
	default:
		return w.Status.Result
	}
}

func source(s agent.WorkSource) string {
	if s.Namespace == "" {
		return s.Kind + "/" + s.Name
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}
