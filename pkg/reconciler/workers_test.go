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
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
)

// TestWorkersRecoverPanics runs one worker over a, b and c, where the first
// reconcile of b panics in some way: the worker goes on with c, reports the
// panic, counts it under the controller's name and brings b back through
// the rate limiter, and b's retry then succeeds.
func TestWorkersRecoverPanics(t *testing.T) {
	tests := []struct {
		name string
		// explode is b's first reconcile.
		explode func()
		// reportPanics makes the report itself panic.
		reportPanics bool
		noReport     bool
		wantMessage  string
	}{
		{name: "a nil map read as an object", explode: func() {
			var spec any
			_ = spec.(map[string]any)["placement"]
		}, wantMessage: "interface conversion: interface {} is nil"},
		{name: "a panic on a goroutine of the reconcile", explode: func() {
			var g Group
			g.Go(func() {})
			g.Go(func() { panic("member 2 exploded") })
			g.Wait()
		}, wantMessage: "member 2 exploded"},
		{name: "panic(nil)", explode: func() { panic(nil) }, wantMessage: "panic called with nil argument"},
		{name: "a report that panics too", explode: func() { panic("boom") }, reportPanics: true},
		{name: "a controller with nothing to report on", explode: func() { panic("boom") }, noReport: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			controller := "test-" + string(rune('a'+i))
			queue := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](20*time.Millisecond, time.Second))
			for _, key := range []string{"a", "b", "c"} {
				queue.Add(key)
			}
			var mu sync.Mutex
			var processed, reported []string
			attempts := map[string]int{}
			requeuesOfB := -1
			retried := make(chan struct{})
			w := Worker[string]{Controller: controller, Queue: queue, Process: func(_ context.Context, key string) {
				mu.Lock()
				processed = append(processed, key)
				attempts[key]++
				attempt := attempts[key]
				if key == "b" && attempt == 2 {
					requeuesOfB = queue.NumRequeues("b")
					close(retried)
				}
				mu.Unlock()
				if key == "b" && attempt == 1 {
					tt.explode()
				}
				queue.Forget(key)
			}}
			if !tt.noReport {
				w.ReportPanic = func(_ context.Context, key, message string) error {
					mu.Lock()
					reported = append(reported, key+": "+message)
					mu.Unlock()
					if tt.reportPanics {
						panic("the report exploded")
					}
					return errors.New("and the report failed")
				}
			}
			RegisterMetrics()
			before, err := testutil.GetCounterMetricValue(reconcilePanics.WithLabelValues(controller))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				RunWorkers(ctx, w, 1)
			}()
			select {
			case <-retried:
			case <-time.After(10 * time.Second):
				t.Fatal("b was not retried")
			}
			cancel()
			<-done

			mu.Lock()
			defer mu.Unlock()
			if want := []string{"a", "b", "c", "b"}; !slices.Equal(processed, want) {
				t.Errorf("processed %q, want %q: the worker goes on with c, and b comes back after backoff", processed, want)
			}
			if requeuesOfB != 1 {
				t.Errorf("b came back with %d requeues, want 1: through AddRateLimited", requeuesOfB)
			}
			switch {
			case tt.noReport && len(reported) != 0:
				t.Errorf("reported %q without a report function", reported)
			case !tt.noReport && (len(reported) != 1 || !strings.HasPrefix(reported[0], "b: ") || !strings.Contains(reported[0], tt.wantMessage)):
				t.Errorf("reported %q, want one report on b saying %q", reported, tt.wantMessage)
			}
			counts, err := testutil.GetCounterValuesFromGatherer(legacyregistry.DefaultGatherer, "fedhub_reconcile_panics_total",
				map[string]string{"controller": controller}, "controller")
			if err != nil {
				t.Fatal(err)
			}
			if counts[controller] != before+1 {
				t.Errorf("fedhub_reconcile_panics_total{controller=%q} = %v, want %v", controller, counts[controller], before+1)
			}
		})
	}
}

// explode is a function a stack names.
func explode() { panic("exploded") }

func TestGroupKeepsTheStackOfThePanic(t *testing.T) {
	p := Catch(func() {
		var g Group
		g.Go(explode)
		g.Wait()
	})
	if p == nil {
		t.Fatal("the panic of a goroutine was not raised again by Wait")
	}
	if p.Value != "exploded" || !strings.Contains(string(p.Stack), "reconciler.explode") {
		t.Errorf("caught %v with stack\n%s\nwant the stack of explode", p.Value, p.Stack)
	}
	if p := Catch(func() { var g Group; g.Go(func() {}); g.Wait() }); p != nil {
		t.Errorf("caught %v where nothing panicked", p)
	}
}
