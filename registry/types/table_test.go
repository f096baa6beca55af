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

package types

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestTableColumnsStayPut converts the same kind many times, as kubectl
// get does call after call: the headers and cells must be the same each
// time (issue 19: a workload kind's READY column was added once per call).
func TestTableColumnsStayPut(t *testing.T) {
	// Ten minutes ago: the AGE cell reads "10m" for the test's duration.
	created := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	const age = "10m"
	object := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "types.kubefed.io/v1beta1",
		"kind":       "FederatedDeployment",
		"metadata":   map[string]interface{}{"name": "web", "namespace": "x", "resourceVersion": "7", "creationTimestamp": created},
		"spec":       map[string]interface{}{"placement": map[string]interface{}{"clusters": []interface{}{map[string]interface{}{"name": "member-1"}}}},
		"status": map[string]interface{}{
			"replicas":      int64(3),
			"readyReplicas": int64(2),
			"conditions": []interface{}{map[string]interface{}{
				"type": "Propagation", "status": "True",
			}},
		},
	}}
	list := &unstructured.UnstructuredList{Object: map[string]interface{}{"metadata": map[string]interface{}{"resourceVersion": "9"}}}
	list.Items = append(list.Items, *object.DeepCopy(), *object.DeepCopy())

	tests := []struct {
		name        string
		workload    bool
		object      runtime.Object
		options     *metav1.TableOptions
		wantColumns []string
		wantCells   []interface{}
	}{{
		name:        "workload list",
		workload:    true,
		object:      list,
		wantColumns: []string{"Name", "Ready", "Age", "Propagation", "Reason", "Clusters"},
		wantCells:   []interface{}{"web", "2/3", age, "True", nil, "member-1"},
	}, {
		name:        "workload object",
		workload:    true,
		object:      object,
		wantColumns: []string{"Name", "Ready", "Age", "Propagation", "Reason", "Clusters"},
		wantCells:   []interface{}{"web", "2/3", age, "True", nil, "member-1"},
	}, {
		name:      "workload watch event without headers",
		workload:  true,
		object:    object,
		options:   &metav1.TableOptions{NoHeaders: true},
		wantCells: []interface{}{"web", "2/3", age, "True", nil, "member-1"},
	}, {
		name:        "other kind",
		object:      list,
		wantColumns: []string{"Name", "Age", "Propagation", "Reason", "Clusters"},
		wantCells:   []interface{}{"web", age, "True", nil, "member-1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			convertor, err := newTableConvertor(tt.workload)
			if err != nil {
				t.Fatal(err)
			}
			for call := 1; call <= 20; call++ {
				// A headerless conversion in between must not disturb the
				// headers of the next one either.
				if _, err := convertor.ConvertToTable(context.Background(), tt.object, &metav1.TableOptions{NoHeaders: true}); err != nil {
					t.Fatal(err)
				}
				var options runtime.Object
				if tt.options != nil {
					options = tt.options
				}
				table, err := convertor.ConvertToTable(context.Background(), tt.object, options)
				if err != nil {
					t.Fatalf("call %d: %v", call, err)
				}
				var columns []string
				for _, c := range table.ColumnDefinitions {
					columns = append(columns, c.Name)
				}
				if !slices.Equal(columns, tt.wantColumns) {
					t.Fatalf("call %d: columns %q, want %q", call, columns, tt.wantColumns)
				}
				if len(table.Rows) == 0 {
					t.Fatalf("call %d: no rows", call)
				}
				for i, row := range table.Rows {
					if !slices.Equal(row.Cells, tt.wantCells) {
						t.Fatalf("call %d, row %d: cells %v, want %v", call, i, row.Cells, tt.wantCells)
					}
				}
			}
		})
	}
}
