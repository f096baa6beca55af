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

// Package registrytest holds what the storage tests of fedhub's registry share:
// a real etcd to store into, configured the way fedhub-apiserver configures its
// own, and helpers that stand in for the request decoding the server does
// before an object reaches a store.
package registrytest

import (
	"context"
	"slices"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/fedhub/fedhub/pkg/apiserver"
)

// NewEtcdStorage starts an embedded etcd for the test and returns a
// RESTOptionsGetter whose stores keep their objects in it, encoded as
// fedhub-apiserver stores them: in apiserver.StorageVersions, decoded (and so
// defaulted) back to the internal types. The etcd is stopped when the test
// ends; callers still own the stores they build and must call their
// DestroyFunc.
func NewEtcdStorage(t *testing.T) (generic.RESTOptionsGetter, *etcd3testing.EtcdTestServer) {
	t.Helper()
	server, testConfig := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)

	config := storagebackend.NewDefaultConfig(testConfig.Prefix, apiserver.Codecs.LegacyCodec(apiserver.StorageVersions...))
	config.EncodeVersioner = apiserver.StorageVersions
	config.Transport.ServerList = testConfig.Transport.ServerList
	// Keep the whole history: the generic watch tests read it from resource
	// version 1, and no test runs long enough to need a compaction.
	config.CompactionInterval = 0
	return restOptionsGetter{config: config}, server
}

// restOptionsGetter gives every resource the same etcd under a
// <group>/<resource> prefix of its own, as the SimpleStorageFactory that
// fedhub-apiserver's RecommendedOptions install does.
type restOptionsGetter struct {
	config *storagebackend.Config
}

func (g restOptionsGetter) GetRESTOptions(resource schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	return generic.RESTOptions{
		StorageConfig:           g.config.ForResource(resource),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          resource.Group + "/" + resource.Resource,
	}, nil
}

// ToInternal returns versioned as the API server would hand it to a store:
// defaulted, then converted into internal. versioned is defaulted in place.
func ToInternal[T runtime.Object](t *testing.T, versioned runtime.Object, internal T) T {
	t.Helper()
	apiserver.Scheme.Default(versioned)
	if err := apiserver.Scheme.Convert(versioned, internal, nil); err != nil {
		t.Fatalf("converting %T to %T: %v", versioned, internal, err)
	}
	return internal
}

// WithDecodingDefaults returns a copy of store that, on create, first applies
// the defaults of version to the object, as decoding a request body in that
// version does before fedhub-apiserver calls the store. Use it where a test
// framework creates objects through the store with names of its own choosing
// and the defaults depend on the name.
//
// Decoding happens before a name is generated, so an object with a
// generateName is defaulted as if it had no name.
func WithDecodingDefaults(t *testing.T, store *genericregistry.Store, version schema.GroupVersion) *genericregistry.Store {
	t.Helper()
	withDefaults := *store
	withDefaults.BeginCreate = func(_ context.Context, obj runtime.Object, _ *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return nil, err
		}
		name := accessor.GetName()
		if accessor.GetGenerateName() != "" {
			accessor.SetName("")
		}
		versioned, err := apiserver.Scheme.ConvertToVersion(obj, version)
		if err != nil {
			return nil, err
		}
		apiserver.Scheme.Default(versioned)
		if err := apiserver.Scheme.Convert(versioned, obj, nil); err != nil {
			return nil, err
		}
		accessor.SetName(name)
		return func(context.Context, bool) {}, nil
	}
	return &withDefaults
}

// AssertTable checks that convertor prints obj as one row, with the given
// column names and priorities and the given cells; label names the convertor
// in failures.
func AssertTable(t *testing.T, label string, convertor rest.TableConvertor, obj runtime.Object, columns []string, priorities []int32, cells []interface{}) {
	t.Helper()
	table, err := convertor.ConvertToTable(context.Background(), obj, nil)
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", label, err)
	}
	var gotColumns []string
	var gotPriorities []int32
	for _, column := range table.ColumnDefinitions {
		gotColumns = append(gotColumns, column.Name)
		gotPriorities = append(gotPriorities, column.Priority)
	}
	if !slices.Equal(gotColumns, columns) || !slices.Equal(gotPriorities, priorities) {
		t.Errorf("%s: columns %v with priorities %v, want %v with %v", label, gotColumns, gotPriorities, columns, priorities)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("%s: got %d rows, want 1", label, len(table.Rows))
	}
	if got := table.Rows[0].Cells; !apiequality.Semantic.DeepEqual(got, cells) {
		t.Errorf("%s: cells %#v, want %#v", label, got, cells)
	}
	if table.Rows[0].Object.Object != obj {
		t.Errorf("%s: row object is %v, want the object converted", label, table.Rows[0].Object.Object)
	}
}

// AssertKubectlNames checks the short names and categories kubectl offers for a resource.
func AssertKubectlNames(t *testing.T, storage interface {
	rest.ShortNamesProvider
	rest.CategoriesProvider
}, shortNames, categories []string) {
	t.Helper()
	if got := storage.ShortNames(); !slices.Equal(got, shortNames) {
		t.Errorf("ShortNames() = %v, want %v", got, shortNames)
	}
	if got := storage.Categories(); !slices.Equal(got, categories) {
		t.Errorf("Categories() = %v, want %v", got, categories)
	}
}
