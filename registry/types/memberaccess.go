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
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// metadataVerbs are the verbs that let a user set labels and annotations on
// an existing object of the host: kubectl label and annotate patch, an
// editor of the whole object updates.
var metadataVerbs = []string{"patch", "update"}

// memberAccess is the admission step for what a federated object makes
// fedhub write to members beyond its own namespace. A namespaced member
// object stays in the federated object's namespace (rendering and
// ValidateFederatedSpec see to that); a cluster-scoped one does not, so:
//   - a FederatedNamespace must be named like its namespace, as in KubeFed:
//     otherwise any team could take over another team's namespace, or
//     fedhub's own, in every member;
//   - labels and annotations a user asks fedhub to set on a cluster-scoped
//     member object (through the template or an override) need the host
//     permission that setting them on the host's object of that name would
//     need. A Namespace label such as pod-security.kubernetes.io/enforce
//     changes what the namespace's pods may do.
type memberAccess struct {
	target     corev1beta1.APIResource
	authorizer authorizer.Authorizer
}

var _ admission.ValidationInterface = memberAccess{}

func (memberAccess) Handles(operation admission.Operation) bool {
	return operation == admission.Create || operation == admission.Update
}

func (m memberAccess) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || m.target.Scope != corev1beta1.ClusterScoped {
		return nil
	}
	obj, ok := a.GetObject().(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	var errs field.ErrorList
	if isNamespaceTarget(m.target) && obj.GetNamespace() != "" && obj.GetName() != obj.GetNamespace() {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), obj.GetName(), fmt.Sprintf(
			"a %s must be named like its namespace %q: the member object it makes is the Namespace of its name", a.GetKind().Kind, obj.GetNamespace())))
	}
	set := metadataSet(obj.Object)
	if len(set) > 0 && a.GetOperation() == admission.Update {
		if old, ok := a.GetOldObject().(*unstructured.Unstructured); ok && equality.Semantic.DeepEqual(metadataValues(old.Object), metadataValues(obj.Object)) {
			set = nil // unchanged: on the host too, an update that keeps labels needs no more than the update
		}
	}
	if len(set) > 0 {
		allowed, err := m.maySetMetadata(ctx, a, obj.GetName())
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("checking access to %s %q on the host: %w", m.target.Kind, obj.GetName(), err))
		}
		if !allowed {
			for _, path := range set {
				errs = append(errs, field.Forbidden(path, fmt.Sprintf("user %q may not set labels or annotations on %s %q: on the host that needs verb %q on %s",
					a.GetUserInfo().GetName(), m.target.Kind, obj.GetName(), metadataVerbs[0], m.resourceName())))
			}
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(a.GetKind().GroupKind(), a.GetName(), errs)
	}
	return nil
}

// maySetMetadata asks the host's authorizer whether the user may change the
// host's object of that name. A Namespace is its own namespace, as in the
// host's request attributes, so a RoleBinding inside it counts.
func (m memberAccess) maySetMetadata(ctx context.Context, a admission.Attributes, name string) (bool, error) {
	namespace := ""
	if isNamespaceTarget(m.target) {
		namespace = name
	}
	for _, verb := range metadataVerbs {
		decision, _, err := m.authorizer.Authorize(ctx, authorizer.AttributesRecord{
			User: a.GetUserInfo(), Verb: verb, ResourceRequest: true, Namespace: namespace,
			APIGroup: m.target.Group, APIVersion: m.target.Version, Resource: m.target.PluralName, Name: name,
		})
		if err != nil {
			return false, err
		}
		if decision == authorizer.DecisionAllow {
			return true, nil
		}
	}
	return false, nil
}

func (m memberAccess) resourceName() string {
	if m.target.Group == "" {
		return m.target.PluralName
	}
	return m.target.PluralName + "." + m.target.Group
}

func isNamespaceTarget(target corev1beta1.APIResource) bool {
	return target.Group == "" && target.Kind == "Namespace"
}

// metadataSet are the places in a federated object that set a member
// object's labels or annotations: the template's, and each override whose
// path is inside /metadata (the managed label and identity fields are
// refused elsewhere).
func metadataSet(object map[string]any) []*field.Path {
	var paths []*field.Path
	template := field.NewPath("spec", "template", "metadata")
	for _, key := range []string{"labels", "annotations"} {
		if values, _, _ := unstructured.NestedMap(object, "spec", "template", "metadata", key); len(values) > 0 {
			paths = append(paths, template.Child(key))
		}
	}
	eachMetadataOverride(object, func(entry, override int, _ map[string]any) {
		paths = append(paths, field.NewPath("spec", "overrides").Index(entry).Child("clusterOverrides").Index(override).Child("path"))
	})
	return paths
}

// metadataValues is what metadataSet looks at, to tell whether an update changes it.
func metadataValues(object map[string]any) []any {
	labels, _, _ := unstructured.NestedFieldNoCopy(object, "spec", "template", "metadata", "labels")
	annotations, _, _ := unstructured.NestedFieldNoCopy(object, "spec", "template", "metadata", "annotations")
	values := []any{labels, annotations}
	eachMetadataOverride(object, func(_, _ int, change map[string]any) { values = append(values, change) })
	return values
}

// eachMetadataOverride calls fn with every override whose path is inside
// /metadata, and where it is listed; its cluster is in the change passed.
func eachMetadataOverride(object map[string]any, fn func(entry, override int, change map[string]any)) {
	overrides, _, _ := unstructured.NestedSlice(object, "spec", "overrides")
	for i, o := range overrides {
		entry, _ := o.(map[string]any)
		changes, _ := entry["clusterOverrides"].([]any)
		for j, c := range changes {
			change, _ := c.(map[string]any)
			if pointer, _ := change["path"].(string); pointer == "/metadata" || strings.HasPrefix(pointer, "/metadata/") {
				fn(i, j, map[string]any{"clusterName": entry["clusterName"], "change": change})
			}
		}
	}
}
