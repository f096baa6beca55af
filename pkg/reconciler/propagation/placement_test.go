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

package propagation

import (
	"errors"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestPlacementWithNamespaces(t *testing.T) {
	clusters := []Cluster{
		{KubeFedCluster: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"tier": "gold"}}}},
		{KubeFedCluster: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "b"}}},
	}
	everywhere := map[string]any{"clusterSelector": map[string]any{}}
	gold := map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{"tier": "gold"}}}
	federated := func(placement map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "x", "namespace": "ns"}, "spec": map[string]any{"placement": placement}}}
	}
	tests := []struct {
		name       string
		own        map[string]any
		namespaces NamespacePlacement
		placed     map[string]bool
		aggregate  string
		err        bool
	}{
		{name: "namespaces not federated: the object's own placement", own: everywhere,
			namespaces: func(string) (*unstructured.Unstructured, bool, error) { return nil, false, nil },
			placed:     map[string]bool{"a": true, "b": true}},
		{name: "intersected with the FederatedNamespace's placement", own: everywhere,
			namespaces: func(string) (*unstructured.Unstructured, bool, error) { return federated(gold), true, nil },
			placed:     map[string]bool{"a": true, "b": false}},
		{name: "a namespace without FederatedNamespace places nowhere, visibly", own: everywhere,
			namespaces: func(string) (*unstructured.Unstructured, bool, error) { return nil, true, nil },
			aggregate:  NamespaceNotFederated},
		{name: "unknown namespace placement is retried, not read as nowhere", own: everywhere,
			namespaces: func(string) (*unstructured.Unstructured, bool, error) { return nil, true, errors.New("not synced") },
			err:        true},
		{name: "a malformed selector", own: map[string]any{"clusterSelector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "tier", "operator": "Bogus"}}}},
			namespaces: func(string) (*unstructured.Unstructured, bool, error) { return nil, false, nil },
			aggregate:  ComputePlacementFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &TypeController{namespaced: true, namespaces: tt.namespaces}
			c.targetKind.Kind = "ConfigMap"
			placed, aggregate, err := c.placement(federated(tt.own), clusters)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if aggregate != tt.aggregate {
				t.Errorf("aggregate %q, want %q", aggregate, tt.aggregate)
			}
			if tt.placed != nil && !reflect.DeepEqual(placed, tt.placed) {
				t.Errorf("placed %v, want %v", placed, tt.placed)
			}
		})
	}
}
