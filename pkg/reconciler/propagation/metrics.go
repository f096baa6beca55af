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

package propagation

import (
	"errors"
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	// Queue depth, adds, latency and retries of every workqueue, on /metrics.
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
)

var (
	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "reconcile_duration_seconds",
		Help:           "How long one reconcile of a federated object took, by federated type.",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 16),
		StabilityLevel: metrics.ALPHA,
	}, []string{"type"})
	reconcilesTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "reconciles_total",
		Help:           "Reconciles of federated objects, by federated type and result (success, error, or waiting for a member's cache to fill).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"type", "result"})
	memberOperations = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "member_operations_total",
		Help:           "Writes to member clusters, by cluster, target type, verb and result (success or error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"cluster", "type", "verb", "result"})
	propagationLatency = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "latency_seconds",
		Help:           "From a federated object's creation to its object being created in a member, by federated type.",
		Buckets:        metrics.ExponentialBuckets(0.05, 2, 14),
		StabilityLevel: metrics.ALPHA,
	}, []string{"type"})
	eventsSkipped = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "events_skipped_total",
		Help:           "Normal events not recorded because they came faster than --propagation-event-qps allows, by reason.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"reason"})
	runningControllers = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "fedhub", Subsystem: "propagation", Name: "running_controllers",
		Help:           "1 for each federated type whose propagation controller runs; a stopped type has no series.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"type"})
)

var registerMetrics sync.Once

// RegisterMetrics adds the propagation metrics to the server's /metrics.
func RegisterMetrics() {
	registerMetrics.Do(func() {
		legacyregistry.MustRegister(reconcileDuration, reconcilesTotal, memberOperations, propagationLatency, eventsSkipped, runningControllers)
	})
}

func observeReconcile(federatedType string, started time.Time, err error) {
	reconcileDuration.WithLabelValues(federatedType).Observe(time.Since(started).Seconds())
	reconcilesTotal.WithLabelValues(federatedType, result(err)).Inc()
}

func observeMemberOperation(cluster, targetType, verb string, err error) {
	memberOperations.WithLabelValues(cluster, targetType, verb, result(err)).Inc()
}

// forgetClusterMetrics drops the series of a cluster that left the
// federation, so that joining and removing clusters does not grow /metrics.
func forgetClusterMetrics(cluster string) {
	if memberOperations.IsCreated() { // an unregistered vector has nothing to drop
		memberOperations.DeletePartialMatch(map[string]string{"cluster": cluster})
	}
}

func result(err error) string {
	switch {
	case errors.Is(err, errMemberSyncing):
		return "waiting"
	case err != nil:
		return "error"
	}
	return "success"
}
