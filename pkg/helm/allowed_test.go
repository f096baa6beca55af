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
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// memberMapper serves ConfigMaps (namespaced), ClusterRoles (cluster-scoped)
// and a Widget that is cluster-scoped in the member.
func memberMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, meta.RESTScopeRoot)
	return m
}

func TestAllowKinds(t *testing.T) {
	allowed := []AllowedKind{{Kind: "ConfigMap", Namespaced: true}, {Group: "example.com", Kind: "Widget", Namespaced: true},
		{Group: "apps", Kind: "Deployment", Namespaced: true}}
	configMap := func(namespace string) RenderedObject {
		return RenderedObject{APIVersion: "v1", Kind: "ConfigMap", Namespace: namespace, Name: "settings", Source: "web/templates/cm.yaml"}
	}
	for _, tc := range []struct {
		name    string
		objects []RenderedObject
		refused []string // parts of the error; none: allowed
	}{
		{"nothing", nil, nil},
		{"allowed kind in the release namespace", []RenderedObject{configMap(""), configMap("shop")}, nil},
		{"a kind fedhub did not check", []RenderedObject{configMap(""),
			{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "everything", Source: "web/templates/role.yaml"}},
			[]string{"ClusterRole everything", "not among the kinds fedhub checked"}},
		{"same kind, another group", []RenderedObject{{APIVersion: "example.com/v1", Kind: "ConfigMap", Name: "x"}},
			[]string{"not among the kinds fedhub checked"}},
		{"another namespace", []RenderedObject{configMap("kube-system")},
			[]string{"ConfigMap kube-system/settings", "outside the release's namespace shop"}},
		{"cluster-scoped in the member, checked as namespaced", []RenderedObject{{APIVersion: "example.com/v1", Kind: "Widget", Name: "w"}},
			[]string{"Widget w", "scope in the member differs"}},
		{"allowed but not served by the member", []RenderedObject{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
			[]string{"Deployment web", "the member does not serve this kind"}},
	} {
		err := AllowKinds(allowed, "shop")(tc.objects, memberMapper())
		if len(tc.refused) == 0 {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: got %v, want ErrNotAllowed", tc.name, err)
			continue
		}
		for _, part := range tc.refused {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, part)
			}
		}
	}
	if err := AllowKinds(nil, "shop")([]RenderedObject{configMap("")}, memberMapper()); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("an empty allowed set lets a ConfigMap through: %v", err)
	}
}
