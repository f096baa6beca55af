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
	"fmt"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// federatedColumns are what "kubectl get" prints for every federated kind:
// its age, the Propagation condition and, with -o wide, the placed clusters.
var federatedColumns = []apiextensionsv1.CustomResourceColumnDefinition{
	{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	{Name: "Propagation", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].status`,
		Description: "True when every placed cluster has the rendered object."},
	{Name: "Reason", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].reason`,
		Description: "Why propagation is not complete, e.g. CheckClusters or NamespaceNotFederated."},
	{Name: "Clusters", Type: "string", JSONPath: ".spec.placement.clusters[*].name", Priority: 1,
		Description: "The clusters named by the placement."},
}

// newTableConvertor prints the federated columns; a workload kind also gets
// READY ("ready/replicas" summed over its clusters, as kubectl prints a
// Deployment) after NAME.
func newTableConvertor(workload bool) (rest.TableConvertor, error) {
	convertor, err := tableconvertor.New(federatedColumns)
	if err != nil || !workload {
		return convertor, err
	}
	return workloadTable{convertor}, nil
}

// workloadTable adds the READY column to the federated columns.
type workloadTable struct {
	rest.TableConvertor
}

var readyColumn = metav1.TableColumnDefinition{Name: "Ready", Type: "string",
	Description: "Ready replicas over wanted replicas, summed over the placed clusters."}

func (w workloadTable) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table, err := w.TableConvertor.ConvertToTable(ctx, obj, tableOptions)
	if err != nil {
		return nil, err
	}
	if len(table.ColumnDefinitions) > 0 {
		// The wrapped convertor hands out its own header slice, the same
		// for every request; inserting into it in place would add another
		// READY to it on each call. Build this table's headers afresh.
		definitions := make([]metav1.TableColumnDefinition, 0, len(table.ColumnDefinitions)+1)
		definitions = append(definitions, table.ColumnDefinitions[0], readyColumn)
		table.ColumnDefinitions = append(definitions, table.ColumnDefinitions[1:]...)
	}
	for i := range table.Rows {
		row := &table.Rows[i]
		ready := "<unknown>"
		if u, ok := row.Object.Object.(*unstructured.Unstructured); ok {
			readyReplicas, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
			replicas, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas")
			ready = fmt.Sprintf("%d/%d", readyReplicas, replicas)
		}
		if len(row.Cells) > 0 {
			row.Cells = slices.Insert(row.Cells, 1, any(ready))
		}
	}
	return table, nil
}
