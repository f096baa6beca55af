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

// Package registry holds what every fedhub REST store shares: the wrapper that
// tells kubectl about short names and categories, the status subresource, the
// common strategy behaviour and the table printing.
package registry

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// REST is a resource's main storage, with the names kubectl offers for it.
type REST struct {
	*genericregistry.Store
	shortNames []string
	categories []string
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// NewREST wraps store with its short names and categories.
func NewREST(store *genericregistry.Store, shortNames, categories []string) *REST {
	return &REST{Store: store, shortNames: shortNames, categories: categories}
}

// ShortNames lets kubectl accept abbreviations such as "kfc".
func (r *REST) ShortNames() []string { return r.shortNames }

// Categories lets kubectl get a group of resources by one name, e.g. "kubectl get kubefed".
func (r *REST) Categories() []string { return r.categories }

// StatusREST serves the /status subresource of a resource: reads return the whole
// object, writes change only its status.
type StatusREST struct {
	store *genericregistry.Store
}

var (
	_ rest.Patcher              = &StatusREST{}
	_ rest.Storage              = &StatusREST{}
	_ rest.ResetFieldsStrategy  = &StatusREST{}
	_ rest.TableConvertor       = &StatusREST{}
	_ rest.SingularNameProvider = &StatusREST{}
)

// NewStatusREST returns the /status storage for the resource served by main. It
// shares main's etcd storage but writes through statusStrategy.
func NewStatusREST(main *genericregistry.Store, statusStrategy rest.UpdateResetFieldsStrategy) *StatusREST {
	store := *main
	store.UpdateStrategy = statusStrategy
	store.ResetFieldsStrategy = statusStrategy
	return &StatusREST{store: &store}
}

// New returns an empty object of the resource.
func (r *StatusREST) New() runtime.Object { return r.store.New() }

// Destroy does nothing: the storage is owned and destroyed by the main REST.
func (r *StatusREST) Destroy() {}

// GetSingularName returns the resource's singular name.
func (r *StatusREST) GetSingularName() string { return r.store.GetSingularName() }

// Get returns the whole object.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes the status of an object; changes to anything else are dropped.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// A status write never creates the object: there is no status without a spec.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields a status write leaves alone.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints the object as the main resource does.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
