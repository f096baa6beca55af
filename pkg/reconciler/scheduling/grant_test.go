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

package scheduling

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

func TestWithinAuthorGrant(t *testing.T) {
	candidates := []string{"member-1", "member-2", "member-3"}
	tests := []struct {
		name         string
		annotations  map[string]string
		kept, denied []string
	}{
		{name: "not recorded", kept: candidates},
		{name: "every cluster", annotations: map[string]string{typesv1beta1.AuthorClustersAnnotation: "*"}, kept: candidates},
		{name: "some clusters", annotations: map[string]string{typesv1beta1.AuthorClustersAnnotation: "member-1,member-3,member-9"},
			kept: []string{"member-1", "member-3"}, denied: []string{"member-2"}},
		{name: "no cluster", annotations: map[string]string{typesv1beta1.AuthorClustersAnnotation: ""}, denied: candidates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			workload := &unstructured.Unstructured{Object: map[string]any{}}
			workload.SetAnnotations(tt.annotations)
			kept, withheld := withinAuthorGrant(candidates, workload)
			if !slices.Equal(kept, tt.kept) || !slices.Equal(withheld, tt.denied) {
				t.Errorf("kept %v, withheld %v; want %v, %v", kept, withheld, tt.kept, tt.denied)
			}
		})
	}
}
