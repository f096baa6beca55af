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

// Package work applies the Works of one pull-mode cluster to its member
// cluster and reports on them: work_controller.go holds the queue and the
// informers, work_reconcile.go decides what one Work needs, member.go reaches
// the member.
package work

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

const (
	// Finalizer is on every Work; the agent removes it once the member object
	// is deleted or orphaned.
	Finalizer    = agentidentity.WorkFinalizer
	managedLabel = typesv1beta1.ManagedLabel
	// FieldManager is the field manager of the agent's server-side applies.
	FieldManager = "fedhub"
)

// Ref names one member object.
type Ref struct {
	Resource  schema.GroupVersionResource
	Namespace string
	Name      string
}

// String is the reference as logs and messages show it.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Resource.String() + " " + r.Name
	}
	return r.Resource.String() + " " + r.Namespace + "/" + r.Name
}

// Member is what reconciling a Work needs of the member cluster.
type Member interface {
	// Get returns the member object, nil when there is none. The object is
	// shared with a cache: callers do not modify it.
	Get(ctx context.Context, ref Ref) (*unstructured.Unstructured, error)
	// Apply server-side applies obj (field manager fedhub, forced) and
	// returns the object the member stored.
	Apply(ctx context.Context, ref Ref, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
	// Delete deletes the object of uid and says whether it is gone
	// (false: finalizers in the member hold it).
	Delete(ctx context.Context, ref Ref, uid string, opts metav1.DeleteOptions) (gone bool, err error)
	// Unmanage removes the managed label from the object.
	Unmanage(ctx context.Context, ref Ref) error
}

// manifestOf decodes a Work's manifest and names its member object. Any
// content is answered with an error rather than a panic: the Work comes from
// fedhub, but the agent must survive whatever it holds.
func manifestOf(w *agentv1alpha1.Work) (*unstructured.Unstructured, Ref, error) {
	res := w.Spec.Resource
	ref := Ref{Resource: schema.GroupVersionResource{Group: res.Group, Version: res.Version, Resource: res.Resource}}
	if res.Version == "" || res.Resource == "" {
		return nil, ref, fmt.Errorf("the Work's spec.resource needs a version and a resource")
	}
	for _, segment := range []string{res.Group, res.Version, res.Resource} {
		if segment == "" {
			continue
		}
		if msgs := path.IsValidPathSegmentName(segment); len(msgs) > 0 {
			return nil, ref, fmt.Errorf("the Work's spec.resource %q is not a valid resource: %s", ref.Resource.String(), msgs[0])
		}
	}
	var content map[string]interface{}
	// Numbers decode as int64 where they are integers, as in objects read from
	// an API server.
	if err := utiljson.Unmarshal(w.Spec.Manifest.Raw, &content); err != nil || content == nil {
		return nil, ref, fmt.Errorf("the Work's manifest is not a JSON object")
	}
	obj := &unstructured.Unstructured{Object: content}
	if _, ok := content["metadata"].(map[string]interface{}); !ok {
		return nil, ref, fmt.Errorf("the Work's manifest has no metadata object")
	}
	apiVersion, _ := content["apiVersion"].(string)
	kind, _ := content["kind"].(string)
	name, _, _ := unstructured.NestedString(content, "metadata", "name")
	namespace, _, _ := unstructured.NestedString(content, "metadata", "namespace")
	if apiVersion == "" || kind == "" {
		return nil, ref, fmt.Errorf("the Work's manifest needs apiVersion and kind")
	}
	if gv, err := schema.ParseGroupVersion(apiVersion); err != nil || gv.Group != res.Group || gv.Version != res.Version {
		return nil, ref, fmt.Errorf("the Work's manifest has apiVersion %q, not the group and version of %s", apiVersion, ref.Resource.String())
	}
	if name == "" {
		return nil, ref, fmt.Errorf("the Work's manifest has no metadata.name")
	}
	if msgs := path.IsValidPathSegmentName(name); len(msgs) > 0 {
		return nil, ref, fmt.Errorf("the Work's manifest has an invalid name %q: %s", name, msgs[0])
	}
	switch {
	case res.Namespaced && namespace == "":
		return nil, ref, fmt.Errorf("the Work's manifest has no metadata.namespace, and %s is namespaced", ref.Resource.String())
	case !res.Namespaced && namespace != "":
		return nil, ref, fmt.Errorf("the Work's manifest has metadata.namespace %q, and %s is cluster-scoped", namespace, ref.Resource.String())
	}
	if msgs := path.IsValidPathSegmentName(namespace); namespace != "" && len(msgs) > 0 {
		return nil, ref, fmt.Errorf("the Work's manifest has an invalid namespace %q: %s", namespace, msgs[0])
	}
	ref.Namespace, ref.Name = namespace, name
	// fedhub labels every manifest; a manifest without the label would be
	// applied once and then read as someone else's object.
	labels, _, _ := unstructured.NestedStringMap(content, "metadata", "labels")
	if labels == nil {
		labels = map[string]string{}
	}
	labels[typesv1beta1.ManagedLabel] = "true"
	obj.SetLabels(labels)
	return obj, ref, nil
}

// managed reports whether the member object carries kubefed.io/managed=true.
func managed(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[typesv1beta1.ManagedLabel] == "true"
}

// hasFinalizer reports whether w carries the agent's finalizer.
func hasFinalizer(w *agentv1alpha1.Work) bool {
	for _, f := range w.Finalizers {
		if f == Finalizer {
			return true
		}
	}
	return false
}
