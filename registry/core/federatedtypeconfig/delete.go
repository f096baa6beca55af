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

package federatedtypeconfig

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/registry"
)

// ObjectsOfType lists a few objects of the federated type an FTC enables, as
// namespace/name; none means the type is unused.
type ObjectsOfType func(ctx context.Context, typeConfig *core.FederatedTypeConfig) ([]string, error)

// REST refuses to delete a FederatedTypeConfig while objects of its federated
// type exist: deleting it would stop serving them and leave their member
// objects unmanaged.
type REST struct {
	*registry.REST
	objectsOf ObjectsOfType
}

var (
	_ rest.GracefulDeleter   = &REST{}
	_ rest.CollectionDeleter = &REST{}
)

// WithDeleteProtection guards main's deletes with objectsOf.
func WithDeleteProtection(main *registry.REST, objectsOf ObjectsOfType) *REST {
	return &REST{REST: main, objectsOf: objectsOf}
}

// Delete deletes the FTC unless objects of its type exist.
func (r *REST) Delete(ctx context.Context, name string, validation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	if err := r.checkUnused(ctx, obj.(*core.FederatedTypeConfig)); err != nil {
		return nil, false, err
	}
	return r.REST.Delete(ctx, name, validation, options)
}

// DeleteCollection deletes the listed FTCs only if none of them is in use:
// either all go or none does.
func (r *REST) DeleteCollection(ctx context.Context, validation rest.ValidateObjectFunc, options *metav1.DeleteOptions, listOptions *metainternalversion.ListOptions) (runtime.Object, error) {
	listed, err := r.List(ctx, listOptions)
	if err != nil {
		return nil, err
	}
	for i := range listed.(*core.FederatedTypeConfigList).Items {
		if err := r.checkUnused(ctx, &listed.(*core.FederatedTypeConfigList).Items[i]); err != nil {
			return nil, err
		}
	}
	return r.REST.DeleteCollection(ctx, validation, options, listOptions)
}

func (r *REST) checkUnused(ctx context.Context, typeConfig *core.FederatedTypeConfig) error {
	if r.objectsOf == nil {
		return nil
	}
	objects, err := r.objectsOf(ctx, typeConfig)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("listing %s objects: %w", typeConfig.Spec.FederatedType.Kind, err))
	}
	if len(objects) == 0 {
		return nil
	}
	return apierrors.NewConflict(core.Resource("federatedtypeconfigs"), typeConfig.Name,
		fmt.Errorf("%s objects still exist (%s): delete them first", typeConfig.Spec.FederatedType.Kind, strings.Join(objects, ", ")))
}
