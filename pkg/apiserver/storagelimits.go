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

package apiserver

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// tooLargeAsStatus gives every store a storage that refuses an object too
// large for etcd with 413 RequestEntityTooLarge. The request body limit
// (3 MiB) is above what etcd takes (1.5 MiB by default, and 2 MiB on the
// client's side), and between the two the generic storage reports etcd's own
// error as a 500 that tells the user nothing they can act on.
type tooLargeAsStatus struct {
	generic.RESTOptionsGetter
}

func (g tooLargeAsStatus) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	options, err := g.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil || options.Decorator == nil {
		return options, err
	}
	decorate := options.Decorator
	options.Decorator = func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, triggers storage.IndexerFuncs,
		indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := decorate(config, resourcePrefix, keyFunc, newFunc, newListFunc, getAttrs, triggers, indexers)
		if err != nil {
			return s, destroy, err
		}
		return sizeCheckedStorage{Interface: s}, destroy, nil
	}
	return options, nil
}

// sizeCheckedStorage turns etcd's "too large" answers to writes into 413s.
type sizeCheckedStorage struct {
	storage.Interface
}

func (s sizeCheckedStorage) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	return tooLarge(s.Interface.Create(ctx, key, obj, out, ttl))
}

func (s sizeCheckedStorage) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	return tooLarge(s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject))
}

// tooLarge maps etcd's refusal of a request over its --max-request-bytes,
// and the etcd client's refusal to send one over its message size limit, to
// 413; any other error is returned as it is.
func tooLarge(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, rpctypes.ErrRequestTooLarge) || errors.Is(err, rpctypes.ErrGRPCRequestTooLarge) ||
		grpcstatus.Code(err) == codes.ResourceExhausted {
		return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("the object is larger than the storage accepts: %v", err))
	}
	return err
}
