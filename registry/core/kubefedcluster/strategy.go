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

// Package kubefedcluster stores KubeFedClusters, the federation's member clusters.
package kubefedcluster

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/core/validation"
	"github.com/fedhub/fedhub/registry"
)

var servedVersions = []schema.GroupVersion{v1beta1.SchemeGroupVersion}

// Strategy governs writes to the main resource: the spec is the user's, the status is the reconciler's.
type Strategy struct {
	registry.NamespacedStrategy
}

// NewStrategy returns the main-resource strategy.
func NewStrategy(typer runtime.ObjectTyper) Strategy {
	return Strategy{registry.NewNamespacedStrategy(typer)}
}

// GetResetFields keeps status out of the main resource's server-side apply.
func (Strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return registry.ResetFields(servedVersions, "status")
}

// PrepareForCreate drops any status sent with a new cluster: only probes may set it.
func (Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	cluster := obj.(*core.KubeFedCluster)
	cluster.Status = core.KubeFedClusterStatus{}
	cluster.Generation = 1
}

// PrepareForUpdate keeps the stored status and bumps the generation when the spec changes.
func (Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newCluster, oldCluster := obj.(*core.KubeFedCluster), old.(*core.KubeFedCluster)
	newCluster.Status = oldCluster.Status
	if !apiequality.Semantic.DeepEqual(newCluster.Spec, oldCluster.Spec) {
		newCluster.Generation = oldCluster.Generation + 1
	}
}

// Validate checks a new cluster.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateKubeFedCluster(obj.(*core.KubeFedCluster))
}

// ValidateUpdate checks a changed cluster.
func (Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateKubeFedClusterUpdate(obj.(*core.KubeFedCluster), old.(*core.KubeFedCluster))
}

// StatusStrategy governs writes to /status: only the status changes.
type StatusStrategy struct {
	Strategy
}

// NewStatusStrategy returns the /status strategy.
func NewStatusStrategy(main Strategy) StatusStrategy {
	return StatusStrategy{main}
}

// GetResetFields keeps spec out of the status subresource's server-side apply.
func (StatusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return registry.ResetFields(servedVersions, "spec")
}

// PrepareForUpdate keeps the stored spec.
func (StatusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*core.KubeFedCluster).Spec = old.(*core.KubeFedCluster).Spec
}

// ValidateUpdate checks a status write.
func (StatusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateKubeFedClusterStatusUpdate(obj.(*core.KubeFedCluster), old.(*core.KubeFedCluster))
}
