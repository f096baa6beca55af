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

// Package work stores Works, the member objects fedhub publishes for pull-mode
// clusters, and keeps each agent to its own cluster's Works.
package work

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/apis/agent/validation"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/registry"
)

// Finalizer is on every Work; only the agent removes it, once the member object is gone or orphaned.
const Finalizer = agentidentity.WorkFinalizer

// kind: the spec is fedhub's decision, the status the agent's report.
var kind = registry.SpecStatusKind[agent.Work, *agent.Work]{
	Versions:             []schema.GroupVersion{v1alpha1.SchemeGroupVersion},
	Spec:                 func(w *agent.Work) any { return w.Spec },
	CopyStatus:           func(dst, src *agent.Work) { dst.Status = src.Status },
	Validate:             validation.ValidateWork,
	ValidateUpdate:       validation.ValidateWorkUpdate,
	ValidateStatusUpdate: validation.ValidateWorkStatusUpdate,
}

// Strategy governs writes to the main resource of works.
type Strategy struct {
	registry.SpecStrategy[agent.Work, *agent.Work]
}

// PrepareForCreate also adds the member-cleanup finalizer, so that no Work
// goes before its agent has dealt with the member object.
func (s Strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	s.SpecStrategy.PrepareForCreate(ctx, obj)
	work := obj.(*agent.Work)
	if !slices.Contains(work.Finalizers, Finalizer) {
		work.Finalizers = append(work.Finalizers, Finalizer)
	}
}

// NewStrategies returns the strategies of works and of their /status.
func NewStrategies(typer runtime.ObjectTyper) (Strategy, registry.StatusStrategy[agent.Work, *agent.Work]) {
	spec, status := registry.NewSpecStatusStrategies(typer, kind)
	return Strategy{spec}, status
}

// GetAttrs returns a Work's labels and selectable fields: metadata.name,
// metadata.namespace and spec.clusterName.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	work, ok := obj.(*agent.Work)
	if !ok {
		return nil, nil, fmt.Errorf("not a Work: %T", obj)
	}
	return labels.Set(work.Labels), SelectableFields(work), nil
}

// SelectableFields are the fields a Work can be selected by.
func SelectableFields(work *agent.Work) fields.Set {
	return fields.Set{
		"metadata.name":               work.Name,
		"metadata.namespace":          work.Namespace,
		v1alpha1.WorkClusterNameField: work.Spec.ClusterName,
	}
}
