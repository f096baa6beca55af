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
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// reconcilePanics counts the reconciles whose panic a worker recovered.
var reconcilePanics = metrics.NewCounterVec(&metrics.CounterOpts{
	Namespace: "fedhub", Name: "reconcile_panics_total",
	Help:           "Reconciles that panicked and were recovered, by controller. Each is a fedhub bug; the log has its stack.",
	StabilityLevel: metrics.ALPHA,
}, []string{"controller"})

var registerMetrics sync.Once

// RegisterMetrics adds the metrics every controller shares to the server's /metrics.
func RegisterMetrics() {
	registerMetrics.Do(func() { legacyregistry.MustRegister(reconcilePanics) })
}
