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

package placement

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestSelects(t *testing.T) {
	cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-1", Labels: map[string]string{"region": "eu"}}}
	tests := []struct {
		name      string
		placement map[string]any
		selected  bool
		why       Why
	}{
		{name: "no placement places nowhere", placement: nil},
		{name: "named", placement: map[string]any{"clusters": []any{map[string]any{"name": "member-2"}, map[string]any{"name": "member-1"}}}, selected: true, why: ByName},
		{name: "not named", placement: map[string]any{"clusters": []any{map[string]any{"name": "member-2"}}}},
		{name: "an empty list places nowhere, whatever the selector",
			placement: map[string]any{"clusters": []any{}, "clusterSelector": map[string]any{}}},
		{name: "the list wins over the selector",
			placement: map[string]any{"clusters": []any{map[string]any{"name": "member-2"}}, "clusterSelector": map[string]any{}}},
		{name: "empty selector selects every cluster", placement: map[string]any{"clusterSelector": map[string]any{}}, selected: true, why: BySelector},
		{name: "null clusters fall back to the selector",
			placement: map[string]any{"clusters": nil, "clusterSelector": map[string]any{}}, selected: true, why: BySelector},
		{name: "matching labels", placement: map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{"region": "eu"}}}, selected: true, why: BySelector},
		{name: "other labels", placement: map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{"region": "us"}}}},
		{name: "expressions", placement: map[string]any{"clusterSelector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "region", "operator": "In", "values": []any{"eu", "us"}}}}}, selected: true, why: BySelector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}
			if tt.placement != nil {
				obj.Object["spec"].(map[string]any)["placement"] = tt.placement
			}
			p, err := Of(obj)
			if err != nil {
				t.Fatal(err)
			}
			selected, why, err := p.Selects(cluster)
			if err != nil {
				t.Fatal(err)
			}
			if selected != tt.selected || why != tt.why {
				t.Errorf("selected %v (%s), want %v (%s)", selected, why, tt.selected, tt.why)
			}
		})
	}
}
