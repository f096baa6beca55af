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

package federatedhelmrelease

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/fedhub/fedhub/apis/apps"
	"github.com/fedhub/fedhub/apis/apps/v1alpha1"
	"github.com/fedhub/fedhub/registry"
)

// NewREST returns the storage for federatedhelmreleases and for their
// /status. finalizer, when not empty, is added to every release created.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, finalizer string) (*registry.REST, *registry.StatusREST, error) {
	strategy, statusStrategy := NewStrategies(scheme, finalizer)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &apps.FederatedHelmRelease{} },
		NewListFunc:               func() runtime.Object { return &apps.FederatedHelmReleaseList{} },
		DefaultQualifiedResource:  apps.Resource("federatedhelmreleases"),
		SingularQualifiedResource: apps.Resource("federatedhelmrelease"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: table,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: registry.GetAttrs}); err != nil {
		return nil, nil, err
	}
	// "federated", as the federated kinds: kubectl get federated lists the releases too.
	return registry.NewREST(store, []string{"fhr"}, []string{"federated"}),
		registry.NewStatusREST(store, statusStrategy), nil
}

var table = registry.NewTable(
	registry.Column[*apps.FederatedHelmRelease]{
		Name: "Chart", Type: "string", BeforeAge: true,
		Description: "Name of the chart installed.",
		Cell:        func(r *apps.FederatedHelmRelease) interface{} { return r.Spec.Chart.Name },
	},
	registry.Column[*apps.FederatedHelmRelease]{
		Name: "Version", Type: "string", BeforeAge: true,
		Description: "Chart version or constraint asked for; empty for the latest.",
		Cell:        func(r *apps.FederatedHelmRelease) interface{} { return r.Spec.Chart.Version },
	},
	registry.Column[*apps.FederatedHelmRelease]{
		Name: "Clusters", Type: "string", BeforeAge: true,
		Description: "Clusters where the release is deployed at the current generation, of the clusters it is placed on.",
		Cell:        func(r *apps.FederatedHelmRelease) interface{} { return deployedOfPlaced(r) },
	},
	registry.Column[*apps.FederatedHelmRelease]{
		Name: "Repository", Type: "string", Wide: true,
		Description: "Chart repository or OCI reference base.",
		Cell:        func(r *apps.FederatedHelmRelease) interface{} { return r.Spec.Chart.Repository },
	},
)

// deployedOfPlaced is "deployed/placed": of the clusters in the status, how
// many run the current spec with Helm's status deployed.
func deployedOfPlaced(r *apps.FederatedHelmRelease) string {
	deployed := 0
	for _, c := range r.Status.Clusters {
		if c.Status == v1alpha1.ReleaseStatusDeployed && c.ObservedGeneration == r.Generation {
			deployed++
		}
	}
	return fmt.Sprintf("%d/%d", deployed, len(r.Status.Clusters))
}
