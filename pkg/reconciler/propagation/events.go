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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
)

// budgetedRecorder records every Warning, and Normal events only while a
// token bucket shared by every type has tokens. Propagation records a Normal
// event for each reconcile that writes to members: one per federated object
// in a bulk create, each costing the host about what a member write costs.
// The broadcaster's queue holds 1,000 events and drops what does not fit, of
// any type, so without a budget a large apply would also crowd out the
// Warnings that tell of something wrong. The status of each federated object
// still tells where it was propagated.
type budgetedRecorder struct {
	record.EventRecorder
	// normal is nil when Normal events are not limited.
	normal flowcontrol.RateLimiter
}

// NewBudgetedRecorder limits the Normal events of recorder to qps per second
// with bursts of burst; qps 0 records them all.
func NewBudgetedRecorder(recorder record.EventRecorder, qps float32, burst int) record.EventRecorder {
	if qps == 0 {
		return recorder
	}
	return &budgetedRecorder{EventRecorder: recorder, normal: flowcontrol.NewTokenBucketRateLimiter(qps, burst)}
}

func (r *budgetedRecorder) allow(eventType, reason string) bool {
	if eventType != corev1.EventTypeNormal || r.normal.TryAccept() {
		return true
	}
	eventsSkipped.WithLabelValues(reason).Inc()
	return false
}

func (r *budgetedRecorder) Event(object runtime.Object, eventType, reason, message string) {
	if r.allow(eventType, reason) {
		r.EventRecorder.Event(object, eventType, reason, message)
	}
}

func (r *budgetedRecorder) Eventf(object runtime.Object, eventType, reason, messageFmt string, args ...any) {
	if r.allow(eventType, reason) {
		r.EventRecorder.Eventf(object, eventType, reason, messageFmt, args...)
	}
}

func (r *budgetedRecorder) AnnotatedEventf(object runtime.Object, annotations map[string]string, eventType, reason, messageFmt string, args ...any) {
	if r.allow(eventType, reason) {
		r.EventRecorder.AnnotatedEventf(object, annotations, eventType, reason, messageFmt, args...)
	}
}
