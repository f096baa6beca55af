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
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/workqueue"
)

// Worker is what RunWorkers needs from a controller: its queue, what it does
// with one key, and how it tells users that doing so panicked.
type Worker[T comparable] struct {
	// Controller names the controller in logs and in fedhub_reconcile_panics_total.
	Controller string
	// Queue holds the keys to reconcile.
	Queue workqueue.TypedRateLimitingInterface[T]
	// Process reconciles one key and settles it in Queue (Forget,
	// AddRateLimited, AddAfter); RunWorkers takes the key and marks it done.
	Process func(ctx context.Context, key T)
	// ReportPanic records on the object at key that reconciling it panicked:
	// a Warning event and, where its kind has conditions, a condition. Nil
	// when there is no object to report on.
	ReportPanic func(ctx context.Context, key T, message string) error
}

// RunWorkers runs w on workers goroutines until ctx ends, then shuts the
// queue down and returns once every worker has finished its item.
func RunWorkers[T comparable](ctx context.Context, w Worker[T], workers int) {
	// Here rather than in each controller's setup, so that no controller
	// can count panics without the counter being on /metrics.
	RegisterMetrics()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	w.Queue.ShutDown()
	wg.Wait()
}

// processNext takes one key from the queue and processes it. A panic is
// recovered here, once for every controller: the reconcilers run inside
// fedhub-apiserver, so a panic that escaped would take every request down
// with it, and since the object is reconciled again at start, keep it down.
// The key is retried with backoff: the same input is likely to panic again.
func (w Worker[T]) processNext(ctx context.Context) bool {
	key, shutdown := w.Queue.Get()
	if shutdown {
		return false
	}
	defer w.Queue.Done(key)
	if p := Catch(func() { w.Process(ctx, key) }); p != nil {
		var report func(context.Context, string) error
		if w.ReportPanic != nil {
			report = func(ctx context.Context, message string) error { return w.ReportPanic(ctx, key, message) }
		}
		HandlePanic(ctx, w.Controller, fmt.Sprint(key), p, report)
		w.Queue.AddRateLimited(key)
	}
	return true
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
