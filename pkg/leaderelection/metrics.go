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

package leaderelection

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// isLeader is 1 while this replica runs the reconcilers: operators (and the
// HA tests) find the leader by it.
var isLeader = metrics.NewGauge(&metrics.GaugeOpts{
	Namespace: "fedhub", Subsystem: "reconciler", Name: "leader",
	Help:           "1 while this replica holds the election and runs the reconcilers, 0 otherwise.",
	StabilityLevel: metrics.ALPHA,
})

var registerOnce sync.Once

// RegisterMetrics registers the election's metrics with the server's registry.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(isLeader) })
}
