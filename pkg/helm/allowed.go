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

package helm

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// AllowedKind is a kind a release may create, with the scope it was checked
// in: a namespaced kind only in the release namespace, a cluster-scoped one
// cluster-wide.
type AllowedKind struct {
	Group      string
	Kind       string
	Namespaced bool
}

func (k AllowedKind) String() string {
	scope := "cluster-scoped"
	if k.Namespaced {
		scope = "namespaced"
	}
	if k.Group == "" {
		return k.Kind + " (" + scope + ")"
	}
	return k.Kind + "." + k.Group + " (" + scope + ")"
}

// ErrNotAllowed is wrapped by errors about objects outside a release's allowed kinds.
var ErrNotAllowed = errors.New("object of a kind the release may not create")

// AllowKinds returns an Authorize hook for a release that was checked
// elsewhere (by fedhub, against the host's RBAC) with other capabilities
// than the member's: it refuses every object whose kind is not in allowed,
// whose scope in the member differs from the allowed one, that the member
// does not serve, or that is namespaced outside namespace. A release that
// renders differently in the member can so create nothing that was not
// checked.
func AllowKinds(allowed []AllowedKind, namespace string) func([]RenderedObject, meta.RESTMapper) error {
	scopes := map[schema.GroupKind]bool{}
	for _, k := range allowed {
		scopes[schema.GroupKind{Group: k.Group, Kind: k.Kind}] = k.Namespaced
	}
	return func(objects []RenderedObject, mapper meta.RESTMapper) error {
		var refused []string
		for _, o := range objects {
			if reason := allowedReason(o, scopes, namespace, mapper); reason != "" {
				refused = append(refused, o.String()+": "+reason)
			}
		}
		if len(refused) == 0 {
			return nil
		}
		sort.Strings(refused)
		return fmt.Errorf("%w, nothing was applied: %s", ErrNotAllowed, strings.Join(refused, "; "))
	}
}

// allowedReason says why o may not be created; empty when it may.
func allowedReason(o RenderedObject, scopes map[schema.GroupKind]bool, namespace string, mapper meta.RESTMapper) string {
	gvk := schema.FromAPIVersionAndKind(o.APIVersion, o.Kind)
	namespaced, ok := scopes[gvk.GroupKind()]
	if !ok {
		return "not among the kinds fedhub checked for this release"
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return "the member does not serve this kind"
	}
	memberNamespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	switch {
	case memberNamespaced != namespaced:
		return "its scope in the member differs from the one fedhub checked"
	case memberNamespaced && o.Namespace != "" && o.Namespace != namespace:
		return "outside the release's namespace " + namespace
	}
	return ""
}
