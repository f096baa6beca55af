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

package helmrelease

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// ReleaseObject is one object a chart renders, hooks and CRDs included.
type ReleaseObject struct {
	GVK       schema.GroupVersionKind
	Namespace string
	Name      string
}

func (o ReleaseObject) String() string {
	kind := o.GVK.Kind
	if o.GVK.Group != "" {
		kind += "." + o.GVK.Group
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

// checkObjects refuses a release unless every object it renders is one its
// author could create on the host: a namespaced object in the release's
// namespace and only where the host's RBAC lets the author create its
// resource there, a cluster-scoped object only where the author may create
// it cluster-wide. It is the rule every federated object follows: a request
// through fedhub causes in a member only what its author could cause on the
// host. The member's own API says whether a kind is namespaced and what its
// resource is called; a kind the member does not know is refused, since it
// cannot be checked.
func checkObjects(ctx context.Context, authz authorizer.Authorizer, author user.Info, namespace string,
	mapper meta.RESTMapper, objects []ReleaseObject) error {
	var refused []string
	checked := map[string]bool{} // by group/resource/namespace
	for _, obj := range objects {
		mapping, err := mapper.RESTMapping(obj.GVK.GroupKind(), obj.GVK.Version)
		if err != nil {
			refused = append(refused, fmt.Sprintf("%s: the member does not serve this kind", obj))
			continue
		}
		attributes := authorizer.AttributesRecord{User: author, Verb: "create", APIGroup: obj.GVK.Group,
			APIVersion: obj.GVK.Version, Resource: mapping.Resource.Resource, ResourceRequest: true}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.Namespace != "" && obj.Namespace != namespace {
				refused = append(refused, fmt.Sprintf("%s: outside the release's namespace %s", obj, namespace))
				continue
			}
			attributes.Namespace = namespace
		}
		key := attributes.APIGroup + "/" + attributes.Resource + "/" + attributes.Namespace
		if allowed, seen := checked[key]; seen {
			if !allowed {
				refused = append(refused, fmt.Sprintf("%s: %s", obj, forbiddenReason(author, attributes)))
			}
			continue
		}
		decision, _, err := authz.Authorize(ctx, attributes)
		if err != nil {
			return fmt.Errorf("checking whether %s may create %s: %w", author.GetName(), obj, err)
		}
		allowed := decision == authorizer.DecisionAllow
		checked[key] = allowed
		if !allowed {
			refused = append(refused, fmt.Sprintf("%s: %s", obj, forbiddenReason(author, attributes)))
		}
	}
	if len(refused) == 0 {
		return nil
	}
	sort.Strings(refused)
	return &ForbiddenObjectsError{Objects: refused}
}

func forbiddenReason(author user.Info, a authorizer.AttributesRecord) string {
	resource := a.Resource
	if a.APIGroup != "" {
		resource += "." + a.APIGroup
	}
	if a.Namespace == "" {
		return fmt.Sprintf("user %q may not create %s on the host", author.GetName(), resource)
	}
	return fmt.Sprintf("user %q may not create %s in namespace %s on the host", author.GetName(), resource, a.Namespace)
}

// ForbiddenObjectsError lists the objects of a release its author could
// not create on the host; nothing of the release was applied.
type ForbiddenObjectsError struct {
	Objects []string
}

func (e *ForbiddenObjectsError) Error() string {
	return "the chart renders objects its author may not create, nothing was applied: " + strings.Join(e.Objects, "; ")
}
