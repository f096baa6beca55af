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

package types

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/render"
)

// overrideOps are the JSON-patch operations an override may use; empty means replace.
var overrideOps = []string{"add", "remove", "replace"}

// forbiddenOverridePaths would make a member object another object than the
// federated one: in another namespace a team's object could land in a
// namespace it does not own. (A whole /metadata is checked when rendering.)
var forbiddenOverridePaths = map[string]bool{
	"/metadata/name": true, "/metadata/namespace": true, "/metadata/generateName": true, "/kind": true, "/apiVersion": true,
}

// forbiddenOverridePrefixes are fields no override may reach, nor anything
// inside them: a finalizer blocks a member object's deletion, and an owner
// reference hands it to the member's garbage collector.
var forbiddenOverridePrefixes = []string{"/metadata/finalizers", "/metadata/ownerReferences"}

// lifecycleOverride tells whether pointer is, or is inside, one of forbiddenOverridePrefixes.
func lifecycleOverride(pointer string) bool {
	for _, prefix := range forbiddenOverridePrefixes {
		if pointer == prefix || strings.HasPrefix(pointer, prefix+"/") {
			return true
		}
	}
	return false
}

// ValidateFederatedSpec checks what the schema cannot: placement names and
// selector, overrides that KubeFed let through and failed on later, a
// template that names another namespace, and the delete options annotation.
func ValidateFederatedSpec(object map[string]any) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validatePlacement(object, spec.Child("placement"))
	if overrideErrs := validateOverrides(object, spec.Child("overrides")); len(overrideErrs) > 0 {
		errs = append(errs, overrideErrs...)
	} else {
		errs = append(errs, validateOverridesApply(object, spec.Child("overrides"))...)
	}
	errs = append(errs, validateTemplateNamespace(object, spec.Child("template", "metadata", "namespace"))...)
	return append(errs, validateDeleteOption(object)...)
}

// validateTemplateNamespace: member objects are created in the federated
// object's namespace; a template naming another one would mislead.
func validateTemplateNamespace(object map[string]any, path *field.Path) field.ErrorList {
	namespace, _, _ := unstructured.NestedString(object, "metadata", "namespace")
	templateNamespace, _, _ := unstructured.NestedString(object, "spec", "template", "metadata", "namespace")
	if templateNamespace == "" || templateNamespace == namespace {
		return nil
	}
	return field.ErrorList{field.Invalid(path, templateNamespace,
		fmt.Sprintf("member objects are created in the federated object's namespace %q; leave this empty or set it to that", namespace))}
}

func validateDeleteOption(object map[string]any) field.ErrorList {
	raw, found, _ := unstructured.NestedString(object, "metadata", "annotations", typesv1beta1.DeleteOptionAnnotation)
	if !found {
		return nil
	}
	path := field.NewPath("metadata", "annotations").Key(typesv1beta1.DeleteOptionAnnotation)
	var options metav1.DeleteOptions
	if err := json.Unmarshal([]byte(raw), &options); err != nil {
		return field.ErrorList{field.Invalid(path, raw, "must be metav1.DeleteOptions as JSON, e.g. {\"propagationPolicy\":\"Orphan\"}: "+err.Error())}
	}
	if policy := options.PropagationPolicy; policy != nil {
		supported := []metav1.DeletionPropagation{metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground}
		if !contains(supported, *policy) {
			return field.ErrorList{field.NotSupported(path.Child("propagationPolicy"), *policy, supported)}
		}
	}
	return nil
}

func validatePlacement(object map[string]any, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	clusters, _, _ := unstructured.NestedSlice(object, "spec", "placement", "clusters")
	seen := map[string]bool{}
	for i, c := range clusters {
		entry, _ := c.(map[string]any) // the schema admits only objects; other callers may not
		name, _ := entry["name"].(string)
		namePath := path.Child("clusters").Index(i).Child("name")
		switch {
		case name == "":
			errs = append(errs, field.Required(namePath, "a KubeFedCluster name"))
		case seen[name]:
			errs = append(errs, field.Duplicate(namePath, name))
		default:
			for _, msg := range utilvalidation.IsDNS1123Subdomain(name) {
				errs = append(errs, field.Invalid(namePath, name, msg))
			}
		}
		seen[name] = true
	}
	if raw, found, _ := unstructured.NestedFieldNoCopy(object, "spec", "placement", "clusterSelector"); found && raw != nil {
		selector := &metav1.LabelSelector{}
		selectorPath := path.Child("clusterSelector")
		fields, isObject := raw.(map[string]any)
		if !isObject {
			errs = append(errs, field.Invalid(selectorPath, raw, "must be a label selector object"))
		} else if err := runtime.DefaultUnstructuredConverter.FromUnstructured(fields, selector); err != nil {
			errs = append(errs, field.Invalid(selectorPath, raw, err.Error()))
		} else {
			errs = append(errs, metav1validation.ValidateLabelSelector(selector, metav1validation.LabelSelectorValidationOptions{}, selectorPath)...)
		}
	}
	return errs
}

func validateOverrides(object map[string]any, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	overrides, _, _ := unstructured.NestedSlice(object, "spec", "overrides")
	clusters := map[string]bool{}
	for i, o := range overrides {
		entry, _ := o.(map[string]any)
		entryPath := path.Index(i)
		if name, _ := entry["clusterName"].(string); name != "" {
			if clusters[name] {
				errs = append(errs, field.Duplicate(entryPath.Child("clusterName"), name))
			}
			clusters[name] = true
		}
		changes, _ := entry["clusterOverrides"].([]any)
		paths := map[string]bool{}
		for j, c := range changes {
			change, _ := c.(map[string]any)
			errs = append(errs, validateOverride(change, paths, entryPath.Child("clusterOverrides").Index(j))...)
		}
	}
	return errs
}

// validateOverridesApply renders every cluster's overrides as propagation
// will, so that one that cannot be applied (a replace or remove of a field the
// template lacks, an index past the end of a list, a change to the managed
// label) is refused now, with the override's field path, rather than found
// later by the reconciler and reported per cluster in the status. KubeFed
// accepted such objects and failed to propagate them.
func validateOverridesApply(object map[string]any, path *field.Path) field.ErrorList {
	federated := &unstructured.Unstructured{Object: object}
	// The target's group and version do not change what an override can do;
	// its kind does (a Namespace gets no namespace, a Secret folds stringData).
	target := schema.GroupVersionKind{Version: "v1", Kind: strings.TrimPrefix(federated.GetKind(), "Federated")}
	namespaced := federated.GetNamespace() != ""
	overrides, _, _ := unstructured.NestedSlice(object, "spec", "overrides")
	rendered := map[string]bool{}
	var errs field.ErrorList
	for _, o := range overrides {
		entry, _ := o.(map[string]any)
		cluster, _ := entry["clusterName"].(string)
		if cluster == "" || rendered[cluster] {
			continue
		}
		rendered[cluster] = true
		_, err := render.Render(federated, target, namespaced, cluster)
		var failed *render.OverrideError
		if !errors.As(err, &failed) {
			continue // a template that cannot be rendered is the template validation's to report
		}
		at := path
		if failed.Entry >= 0 {
			at = at.Index(failed.Entry)
			if failed.Override >= 0 {
				at = at.Child("clusterOverrides").Index(failed.Override)
			}
		}
		errs = append(errs, field.Invalid(at, failed.Path, fmt.Sprintf("cannot be applied to the template for cluster %s: %s", cluster, failed.Reason)))
	}
	return errs
}

// validateOverride checks one JSON-patch operation; paths collects the cluster's paths so far.
func validateOverride(change map[string]any, paths map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	op, _ := change["op"].(string)
	if op != "" && !contains(overrideOps, op) {
		errs = append(errs, field.NotSupported(path.Child("op"), op, overrideOps))
	}
	pointer, _ := change["path"].(string)
	pointerPath := path.Child("path")
	switch {
	case pointer == "":
		// The schema already requires it.
	case !strings.HasPrefix(pointer, "/"):
		errs = append(errs, field.Invalid(pointerPath, pointer, "must be a JSON pointer starting with /"))
	case forbiddenOverridePaths[pointer]:
		errs = append(errs, field.Forbidden(pointerPath, fmt.Sprintf("%s is the federated object's own; it cannot differ per cluster", pointer)))
	case lifecycleOverride(pointer):
		errs = append(errs, field.Forbidden(pointerPath, "a member object's finalizers and owner references are the member's own; overrides may not set them"))
	case paths[pointer]:
		errs = append(errs, field.Duplicate(pointerPath, pointer))
	}
	paths[pointer] = true
	if _, hasValue := change["value"]; !hasValue && op != "remove" {
		errs = append(errs, field.Required(path.Child("value"), "add and replace need a value"))
	}
	return errs
}

func contains[T comparable](values []T, value T) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

// specValidation is the admission step that applies ValidateFederatedSpec to
// every create and update of a federated object.
type specValidation struct{}

var _ admission.ValidationInterface = specValidation{}

func (specValidation) Handles(operation admission.Operation) bool {
	return operation == admission.Create || operation == admission.Update
}

func (specValidation) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	object, ok := a.GetObject().(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	if errs := ValidateFederatedSpec(object.Object); len(errs) > 0 {
		return apierrors.NewInvalid(a.GetKind().GroupKind(), a.GetName(), errs)
	}
	return nil
}
