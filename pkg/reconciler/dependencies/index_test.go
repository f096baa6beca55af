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

package dependencies

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

func TestIndex(t *testing.T) {
	web := Workload{"federateddeployments", "shop", "web"}
	api := Workload{"federatedstatefulsets", "shop", "api"}
	settings := Dependency{"shop", ConfigMap, "settings"}
	tls := Dependency{"shop", Secret, "tls"}
	i := NewIndex()

	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"a new workload changes what it names", func() any { return i.Set(web, Wants{settings: {"member-1"}, tls: {"member-1"}}) },
			[]Dependency{{"shop", ConfigMap, "settings"}, {"shop", Secret, "tls"}}},
		{"the same wants change nothing", func() any { return i.Set(web, Wants{settings: {"member-1"}, tls: {"member-1"}}) },
			[]Dependency(nil)},
		{"moving changes the dependencies", func() any { return i.Set(web, Wants{settings: {"member-2"}, tls: {"member-1"}}) },
			[]Dependency{settings}},
		{"a second workload", func() any { return i.Set(api, Wants{settings: {"member-1"}}) }, []Dependency{settings}},
		{"a dependency's first state reaches its workloads", func() any { return i.Observe(settings, "exists") },
			[]Workload{web, api}},
		{"the same state reaches nobody", func() any { return i.Observe(settings, "exists") }, []Workload(nil)},
		{"a dependency nobody names is not remembered", func() any { return i.Observe(Dependency{"shop", Secret, "other"}, "") },
			[]Workload(nil)},
		{"dropping a reference", func() any { return i.Set(web, Wants{tls: {"member-1"}}) }, []Dependency{settings}},
		{"the dependency goes: its remaining workload hears", func() any { return i.Observe(settings, "") }, []Workload{api}},
		{"a stopped controller's workloads are forgotten", func() any { return i.DeleteResource("federatedstatefulsets") },
			[]Dependency{settings}},
		{"a stopped dependency controller: its workloads look again", func() any { return i.ForgetKind(Secret) }, []Workload{web}},
		{"a deleted workload", func() any { return i.Delete(web) }, []Dependency{tls}},
		{"nothing is left", func() any { return len(i.wants) + len(i.wanters) + len(i.observed) }, 0},
	}
	for _, step := range steps {
		if got := step.do(); !reflect.DeepEqual(got, step.want) {
			t.Fatalf("%s: got %v, want %v", step.name, got, step.want)
		}
	}
}

func TestGrant(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		recorded    bool
		allows      map[string]bool
	}{
		{"not recorded allows nothing", nil, false, map[string]bool{"member-1": false}},
		{"every cluster", map[string]string{typesv1beta1.AuthorClustersAnnotation: "*"}, true, map[string]bool{"member-1": true, "member-9": true}},
		{"some clusters", map[string]string{typesv1beta1.AuthorClustersAnnotation: "member-1,member-3"}, true,
			map[string]bool{"member-1": true, "member-2": false, "member-3": true}},
		{"no cluster", map[string]string{typesv1beta1.AuthorClustersAnnotation: ""}, true, map[string]bool{"member-1": false, "": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetAnnotations(tt.annotations)
			grant := GrantOf(obj)
			if grant.Recorded != tt.recorded {
				t.Errorf("recorded %v, want %v", grant.Recorded, tt.recorded)
			}
			for cluster, want := range tt.allows {
				if got := grant.Allows(cluster); got != want {
					t.Errorf("Allows(%q) = %v, want %v", cluster, got, want)
				}
			}
		})
	}
}
