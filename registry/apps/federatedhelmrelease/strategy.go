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

// Package federatedhelmrelease stores FederatedHelmReleases.
package federatedhelmrelease

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/apps"
	"github.com/fedhub/fedhub/apis/apps/v1alpha1"
	"github.com/fedhub/fedhub/apis/apps/validation"
	"github.com/fedhub/fedhub/registry"
)

// kind: the spec is the application team's, the status is the helm release controller's.
var kind = registry.SpecStatusKind[apps.FederatedHelmRelease, *apps.FederatedHelmRelease]{
	Versions:             []schema.GroupVersion{v1alpha1.SchemeGroupVersion},
	Spec:                 func(r *apps.FederatedHelmRelease) any { return r.Spec },
	CopyStatus:           func(dst, src *apps.FederatedHelmRelease) { dst.Status = src.Status },
	Validate:             validation.ValidateFederatedHelmRelease,
	ValidateUpdate:       validation.ValidateFederatedHelmReleaseUpdate,
	ValidateStatusUpdate: validation.ValidateFederatedHelmReleaseStatusUpdate,
}

// Strategy governs writes to federatedhelmreleases: it defaults the release
// name and gives new releases the cleanup finalizer.
type Strategy struct {
	registry.SpecStrategy[apps.FederatedHelmRelease, *apps.FederatedHelmRelease]
	// finalizer, when set, is added to every new release.
	finalizer string
}

// NewStrategies returns the strategies of federatedhelmreleases and of their
// /status. finalizer, when not empty, is added to every release created: the
// helm release controller's, when it runs.
func NewStrategies(typer runtime.ObjectTyper, finalizer string) (Strategy, registry.StatusStrategy[apps.FederatedHelmRelease, *apps.FederatedHelmRelease]) {
	spec, status := registry.NewSpecStatusStrategies(typer, kind)
	return Strategy{SpecStrategy: spec, finalizer: finalizer}, status
}

// PrepareForCreate names the release after the object when no name is given,
// and adds the finalizer.
func (s Strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	s.SpecStrategy.PrepareForCreate(ctx, obj)
	release := obj.(*apps.FederatedHelmRelease)
	if release.Spec.ReleaseName == "" {
		release.Spec.ReleaseName = release.Name
	}
	if s.finalizer != "" && !slices.Contains(release.Finalizers, s.finalizer) {
		release.Finalizers = append(release.Finalizers, s.finalizer)
	}
}

// PrepareForUpdate keeps the stored release name when an update leaves it
// out, as a manifest that never set it does, before the generation is judged.
func (s Strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	updated, stored := obj.(*apps.FederatedHelmRelease), old.(*apps.FederatedHelmRelease)
	if updated.Spec.ReleaseName == "" {
		updated.Spec.ReleaseName = validation.ReleaseNameOf(stored)
	}
	s.SpecStrategy.PrepareForUpdate(ctx, obj, old)
}
