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

package registry

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Object is a pointer to an internal API type E.
type Object[E any] interface {
	*E
	runtime.Object
	metav1.Object
}

// SpecStatusKind describes a kind whose spec belongs to its users and whose
// status belongs to a controller, written through /status.
type SpecStatusKind[E any, P Object[E]] struct {
	// Versions are the served versions, for server-side apply's reset fields.
	Versions []schema.GroupVersion
	// Spec returns what a change of bumps the generation.
	Spec func(P) any
	// CopyStatus sets dst's status to src's.
	CopyStatus func(dst, src P)

	Validate             func(P) field.ErrorList
	ValidateUpdate       func(updated, stored P) field.ErrorList
	ValidateStatusUpdate func(updated, stored P) field.ErrorList
}

// SpecStrategy governs writes to the main resource of a SpecStatusKind.
type SpecStrategy[E any, P Object[E]] struct {
	NamespacedStrategy
	kind SpecStatusKind[E, P]
}

// StatusStrategy governs writes to the /status of a SpecStatusKind.
type StatusStrategy[E any, P Object[E]] struct {
	SpecStrategy[E, P]
}

// NewSpecStatusStrategies returns the strategies of the main resource and of /status.
func NewSpecStatusStrategies[E any, P Object[E]](typer runtime.ObjectTyper, kind SpecStatusKind[E, P]) (SpecStrategy[E, P], StatusStrategy[E, P]) {
	spec := SpecStrategy[E, P]{NamespacedStrategy: NewNamespacedStrategy(typer), kind: kind}
	return spec, StatusStrategy[E, P]{spec}
}

// GetResetFields keeps status out of the main resource's server-side apply.
func (s SpecStrategy[E, P]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return ResetFields(s.kind.Versions, "status")
}

// PrepareForCreate drops any status sent with a new object: only its controller may set it.
func (s SpecStrategy[E, P]) PrepareForCreate(_ context.Context, obj runtime.Object) {
	created := obj.(P)
	s.kind.CopyStatus(created, P(new(E)))
	created.SetGeneration(1)
}

// PrepareForUpdate keeps the stored status and bumps the generation when the spec changes.
func (s SpecStrategy[E, P]) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	updated, stored := obj.(P), old.(P)
	s.kind.CopyStatus(updated, stored)
	if !apiequality.Semantic.DeepEqual(s.kind.Spec(updated), s.kind.Spec(stored)) {
		updated.SetGeneration(stored.GetGeneration() + 1)
	}
}

// Validate checks a new object.
func (s SpecStrategy[E, P]) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return s.kind.Validate(obj.(P))
}

// ValidateUpdate checks a changed object.
func (s SpecStrategy[E, P]) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return s.kind.ValidateUpdate(obj.(P), old.(P))
}

// GetResetFields keeps spec out of the status subresource's server-side apply.
func (s StatusStrategy[E, P]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return ResetFields(s.kind.Versions, "spec")
}

// PrepareForUpdate keeps everything but the status as stored, as a custom
// resource's /status does: spec, labels, annotations and finalizers are not
// the status writer's to change.
func (s StatusStrategy[E, P]) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	updated, stored := obj.(P), old.(P)
	kept := stored.DeepCopyObject().(P)
	s.kind.CopyStatus(kept, updated)
	kept.SetManagedFields(updated.GetManagedFields())
	*updated = *kept
}

// ValidateUpdate checks a status write.
func (s StatusStrategy[E, P]) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return s.kind.ValidateStatusUpdate(obj.(P), old.(P))
}
