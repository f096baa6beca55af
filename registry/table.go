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

package registry

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Column is one table column after NAME and AGE, with how to read its cell.
type Column[T runtime.Object] struct {
	Name string
	// Type is the OpenAPI type kubectl formats the cell by: string, integer, date.
	Type string
	// Description is shown by "kubectl explain"-like tools and table consumers.
	Description string
	// Wide columns are printed only with "-o wide".
	Wide bool
	// BeforeAge columns are printed between NAME and AGE.
	BeforeAge bool
	Cell      func(T) interface{}
}

// Table prints objects of type T as NAME, AGE and the given columns
// (those marked BeforeAge between NAME and AGE).
type Table[T runtime.Object] struct {
	columns []Column[T]
}

var _ rest.TableConvertor = Table[runtime.Object]{}

// NewTable returns a TableConvertor for T with the given columns.
func NewTable[T runtime.Object](columns ...Column[T]) Table[T] {
	return Table[T]{columns: columns}
}

// ConvertToTable prints one object or a list of them.
func (t Table[T]) ConvertToTable(_ context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	// A table watch asks for the headers with the first event only.
	if options, ok := tableOptions.(*metav1.TableOptions); !ok || !options.NoHeaders {
		table.ColumnDefinitions = t.definitions()
	}
	if accessor, err := meta.Accessor(object); err == nil {
		table.ResourceVersion = accessor.GetResourceVersion()
	} else if listAccessor, err := meta.ListAccessor(object); err == nil {
		table.ResourceVersion = listAccessor.GetResourceVersion()
		table.Continue = listAccessor.GetContinue()
		table.RemainingItemCount = listAccessor.GetRemainingItemCount()
	}
	var rows []metav1.TableRow
	appendRow := func(obj runtime.Object) error {
		row, err := t.row(obj)
		if err != nil {
			return err
		}
		rows = append(rows, row)
		return nil
	}
	var err error
	if meta.IsListType(object) {
		err = meta.EachListItem(object, appendRow)
	} else {
		err = appendRow(object)
	}
	if err != nil {
		return nil, err
	}
	table.Rows = rows
	return table, nil
}

func (t Table[T]) definitions() []metav1.TableColumnDefinition {
	definitions := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	}
	for _, c := range t.ordered() {
		if c == nil {
			definitions = append(definitions, metav1.TableColumnDefinition{
				Name: "Age", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]})
			continue
		}
		priority := int32(0)
		if c.Wide {
			priority = 1
		}
		definitions = append(definitions, metav1.TableColumnDefinition{
			Name: c.Name, Type: c.Type, Description: c.Description, Priority: priority,
		})
	}
	return definitions
}

// ordered returns the columns after NAME in print order, with nil for AGE.
func (t Table[T]) ordered() []*Column[T] {
	var before, after []*Column[T]
	for i := range t.columns {
		if t.columns[i].BeforeAge {
			before = append(before, &t.columns[i])
		} else {
			after = append(after, &t.columns[i])
		}
	}
	return append(append(before, nil), after...)
}

func (t Table[T]) row(obj runtime.Object) (metav1.TableRow, error) {
	typed, ok := obj.(T)
	if !ok {
		var want T
		return metav1.TableRow{}, fmt.Errorf("cannot print %T as %T", obj, want)
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return metav1.TableRow{}, err
	}
	cells := []interface{}{accessor.GetName()}
	for _, c := range t.ordered() {
		if c == nil {
			cells = append(cells, age(accessor.GetCreationTimestamp()))
			continue
		}
		cells = append(cells, c.Cell(typed))
	}
	return metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: obj}}, nil
}

// Age prints how long ago t was, as kubectl prints AGE; "<unknown>" when t is zero.
func Age(t metav1.Time) string { return age(t) }

// age prints a creation time the way kubectl does for built-in kinds.
func age(created metav1.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(metav1.Now().Sub(created.Time))
}
