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

package reconciler

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"k8s.io/klog/v2"
)

// ReasonReconcileError is the reason of the Warning event and of the
// condition that report a reconcile that panicked.
const ReasonReconcileError = "ReconcileError"

// maxPanicValue bounds how much of a panic's value events and conditions
// repeat; the log has all of it, and the stack.
const maxPanicValue = 512

// Panic is a panic recovered from a reconcile, with the stack that raised it.
type Panic struct {
	Value any
	Stack []byte
}

// Error is the panic as the log shows it.
func (p *Panic) Error() string {
	return fmt.Sprintf("panic: %v", p.Value)
}

// Message says what users see of the panic in an event or a condition.
func (p *Panic) Message() string {
	value := fmt.Sprint(p.Value)
	if len(value) > maxPanicValue {
		value = value[:maxPanicValue] + "…"
	}
	return "fedhub failed to handle this object (" + value + "); it retries with backoff. " +
		"This is a fedhub bug: fedhub's log has the stack."
}

// Catch runs f and returns the panic it raised, nil when it raised none. A
// *Panic raised again (by Group.Wait) keeps the stack of the goroutine that
// first panicked.
func Catch(f func()) (caught *Panic) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if p, ok := r.(*Panic); ok {
			caught = p
			return
		}
		caught = &Panic{Value: r, Stack: debug.Stack()}
	}()
	f()
	return nil
}

// HandlePanic logs a recovered panic with its stack at error level, counts it
// in fedhub_reconcile_panics_total{controller} and has report (nil: nothing
// to report on) record it on the object at key. The report reads the very
// object that made the reconcile panic, so a panic in it is caught and logged
// too.
func HandlePanic(ctx context.Context, controller, key string, p *Panic, report func(ctx context.Context, message string) error) {
	logger := klog.FromContext(ctx)
	logger.Error(p, "Reconcile panicked; retrying with backoff", "controller", controller, "key", key, "stack", string(p.Stack))
	reconcilePanics.WithLabelValues(controller).Inc()
	if report == nil {
		return
	}
	var err error
	if again := Catch(func() { err = report(ctx, p.Message()) }); again != nil {
		logger.Error(again, "Reporting a panic panicked", "controller", controller, "key", key, "stack", string(again.Stack))
	} else if err != nil {
		logger.Error(err, "Reporting a panic failed", "controller", controller, "key", key)
	}
}

// Group runs parts of one reconcile on goroutines. A panic on one of them
// would escape the worker's recovery, which guards the worker's goroutine
// only: Group catches it, and Wait raises it again on the goroutine that
// waits, where RunWorkers recovers it.
type Group struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	panicked *Panic
}

// Go runs f on a new goroutine.
func (g *Group) Go(f func()) {
	g.wg.Go(func() {
		if p := Catch(f); p != nil {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.panicked == nil {
				g.panicked = p
			}
		}
	})
}

// Wait waits for every function Go started, then raises the first panic
// any of them raised.
func (g *Group) Wait() {
	g.wg.Wait()
	if g.panicked != nil {
		panic(g.panicked)
	}
}
