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
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// NamespacedStrategy is the behaviour every fedhub kind shares: namespaced,
// generated names, no create on update, updates without a resourceVersion
// allowed as for built-in kinds. Kinds embed it and add validation and
// preparation of their own.
type NamespacedStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// NewNamespacedStrategy returns the shared strategy for objects typed by typer.
func NewNamespacedStrategy(typer runtime.ObjectTyper) NamespacedStrategy {
	return NamespacedStrategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator}
}

// NamespaceScoped is true: every fedhub kind lives in a namespace, as in KubeFed.
func (NamespacedStrategy) NamespaceScoped() bool { return true }

// AllowCreateOnUpdate is false: a PUT to a missing object is NotFound.
func (NamespacedStrategy) AllowCreateOnUpdate(context.Context) bool { return false }

// AllowUnconditionalUpdate is true, as for built-in kinds.
func (NamespacedStrategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// Canonicalize does nothing: stored objects need no normal form.
func (NamespacedStrategy) Canonicalize(runtime.Object) {}

// WarningsOnCreate returns no warnings.
func (NamespacedStrategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

// WarningsOnUpdate returns no warnings.
func (NamespacedStrategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// ResetFields lists the same top-level fields for each of the given versions.
// A main resource resets "status"; a status subresource resets "spec".
func ResetFields(versions []schema.GroupVersion, topLevelFields ...string) map[fieldpath.APIVersion]*fieldpath.Set {
	set := fieldpath.NewSet()
	for _, f := range topLevelFields {
		set.Insert(fieldpath.MakePathOrDie(f))
	}
	out := make(map[fieldpath.APIVersion]*fieldpath.Set, len(versions))
	for _, gv := range versions {
		out[fieldpath.APIVersion(gv.String())] = set
	}
	return out
}

// GetAttrs returns the labels and the selectable fields (metadata.name and
// metadata.namespace) of any fedhub object.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	selectable := fields.Set{
		"metadata.name":      accessor.GetName(),
		"metadata.namespace": accessor.GetNamespace(),
	}
	return labels.Set(accessor.GetLabels()), selectable, nil
}
