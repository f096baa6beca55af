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
	"errors"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func testMapper() meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	return mapper
}

// editorOf may create what the built-in edit role gives in its namespace, and nothing cluster-wide.
func editorOf(namespace string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() == "alice" && a.GetVerb() == "create" && a.GetNamespace() == namespace &&
			(a.GetResource() == "configmaps" || a.GetResource() == "deployments" || a.GetResource() == "secrets") {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func TestCheckObjects(t *testing.T) {
	alice := &user.DefaultInfo{Name: "alice"}
	configMap := ReleaseObject{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Name: "settings"}
	deployment := ReleaseObject{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Namespace: "team-a", Name: "web"}
	clusterRole := ReleaseObject{GVK: schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, Name: "admin-too"}
	elsewhere := ReleaseObject{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, Namespace: "kube-system", Name: "steal"}
	unknown := ReleaseObject{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, Name: "w"}
	tests := []struct {
		name    string
		objects []ReleaseObject
		refused []string
	}{
		{"namespaced objects the author may create", []ReleaseObject{configMap, deployment}, nil},
		{"no objects", nil, nil},
		{"a cluster-scoped object an editor may not create", []ReleaseObject{configMap, clusterRole},
			[]string{`ClusterRole.rbac.authorization.k8s.io admin-too: user "alice" may not create clusterroles.rbac.authorization.k8s.io on the host`}},
		{"an object in another namespace", []ReleaseObject{elsewhere},
			[]string{"Secret kube-system/steal: outside the release's namespace team-a"}},
		{"a kind the member does not serve", []ReleaseObject{unknown},
			[]string{"Widget.example.com w: the member does not serve this kind"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkObjects(context.Background(), editorOf("team-a"), alice, "team-a", testMapper(), tc.objects)
			var forbidden *ForbiddenObjectsError
			switch {
			case tc.refused == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != nil && !errors.As(err, &forbidden):
				t.Fatalf("got %v, want the objects %q refused", err, tc.refused)
			case tc.refused != nil && !reflect.DeepEqual(forbidden.Objects, tc.refused):
				t.Errorf("refused %q, want %q", forbidden.Objects, tc.refused)
			}
		})
	}
}

// TestCheckObjectsAsksOncePerResource: a chart of many ConfigMaps costs one review.
func TestCheckObjectsAsksOncePerResource(t *testing.T) {
	asked := 0
	authz := authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		asked++
		return authorizer.DecisionAllow, "", nil
	})
	var objects []ReleaseObject
	for range 20 {
		objects = append(objects, ReleaseObject{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Name: "c"})
	}
	if err := checkObjects(context.Background(), authz, &user.DefaultInfo{Name: "alice"}, "team-a", testMapper(), objects); err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Errorf("asked the authorizer %d times for 20 ConfigMaps, want once", asked)
	}
}
