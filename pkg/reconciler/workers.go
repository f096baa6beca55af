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

// Package reconciler holds what fedhub's embedded controllers share; each
// controller lives in its own subpackage.
package reconciler

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/workqueue"
)

// RunWorkers runs process on workers goroutines until ctx ends, then shuts
// the queue down and returns once every worker has finished its item.
func RunWorkers[T comparable](ctx context.Context, queue workqueue.TypedRateLimitingInterface[T], workers int, process func(context.Context) bool) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for process(ctx) {
			}
		})
	}
	<-ctx.Done()
	queue.ShutDown()
	wg.Wait()
}

// servedPollInterval is how often WaitUntilServed asks.
const servedPollInterval = 100 * time.Millisecond

// WaitUntilServed waits until fedhub serves a federated type, or ctx ends.
// The server installs a type when it sees its FederatedTypeConfig, about
// when a controller learns of it too; a reflector that lists before then
// logs an error and backs off for a second or more.
func WaitUntilServed(ctx context.Context, fedhub dynamic.Interface, resource schema.GroupVersionResource) error {
	return wait.PollUntilContextCancel(ctx, servedPollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := fedhub.Resource(resource).List(ctx, metav1.ListOptions{Limit: 1})
		return !apierrors.IsNotFound(err), nil
	})
}
