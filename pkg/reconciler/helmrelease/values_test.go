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
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

func jsonValue(s string) *typesv1beta1.JSON { return &typesv1beta1.JSON{Raw: []byte(s)} }

func TestClusterValues(t *testing.T) {
	release := &appsv1alpha1.FederatedHelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec: appsv1alpha1.FederatedHelmReleaseSpec{
			Values: jsonValue(`{"replicas":1,"image":{"repository":"web","tag":"1.0"},"debug":true,"list":[1,2]}`),
			Overrides: []appsv1alpha1.HelmValuesOverride{
				{ClusterName: "member-2", Values: jsonValue(`{"replicas":3,"image":{"tag":"1.1"},"debug":null,"list":[3]}`)},
				{ClusterName: "member-3", Values: jsonValue(`null`)},
			},
		},
	}
	tests := []struct {
		cluster string
		want    map[string]any
	}{
		{"member-1", map[string]any{"replicas": 1.0, "image": map[string]any{"repository": "web", "tag": "1.0"}, "debug": true, "list": []any{1.0, 2.0}}},
		// Maps merge, other values (lists too) replace, null removes.
		{"member-2", map[string]any{"replicas": 3.0, "image": map[string]any{"repository": "web", "tag": "1.1"}, "list": []any{3.0}}},
		{"member-3", map[string]any{"replicas": 1.0, "image": map[string]any{"repository": "web", "tag": "1.0"}, "debug": true, "list": []any{1.0, 2.0}}},
	}
	for _, tc := range tests {
		t.Run(tc.cluster, func(t *testing.T) {
			got, err := clusterValues(release, tc.cluster)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("values %v, want %v", got, tc.want)
			}
		})
	}
	// The spec is not changed by merging (each cluster decodes afresh).
	again, _ := clusterValues(release, "member-1")
	if !reflect.DeepEqual(again, tests[0].want) {
		t.Errorf("member-1's values changed after member-2's merge: %v", again)
	}
}

func TestClusterValuesRefusesNonObjects(t *testing.T) {
	for _, raw := range []string{`[1]`, `"text"`, `{`} {
		release := &appsv1alpha1.FederatedHelmRelease{Spec: appsv1alpha1.FederatedHelmReleaseSpec{Values: jsonValue(raw)}}
		if _, err := clusterValues(release, "member-1"); err == nil {
			t.Errorf("values %s accepted", raw)
		}
	}
}
