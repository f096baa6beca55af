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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// Reasons of the Ready condition of federated workloads.
const (
	ReadyCondition   = "Ready"
	ReplicasReady    = "ReplicasReady"
	ReplicasNotReady = "ReplicasNotReady"
	NotPropagated    = "NotPropagated"
)

// replicaCounts is what one member's workload reports about its rollout.
type replicaCounts struct {
	desired, ready, available, updated int64
	// current is true when the member's controller has seen the latest spec.
	current bool
}

// complete says whether the rollout in the member is done.
func (r replicaCounts) complete() bool {
	return r.current && r.ready >= r.desired && r.available >= r.desired && r.updated >= r.desired
}

// isWorkload says whether fedhub aggregates the kind's rollout status.
func isWorkload(target schema.GroupVersionKind) bool {
	return typesv1beta1.IsWorkload(target.Group, target.Kind)
}

// workloadCounts reads a member workload's rollout from its spec and status,
// with each kind's own field names.
func workloadCounts(target schema.GroupVersionKind, obj *unstructured.Unstructured) replicaCounts {
	number := func(fields ...string) int64 {
		value, _, _ := unstructured.NestedInt64(obj.Object, fields...)
		return value
	}
	defaulted := func(def int64, fields ...string) int64 {
		if value, found, _ := unstructured.NestedInt64(obj.Object, fields...); found {
			return value
		}
		return def
	}
	observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	current := found && observed >= obj.GetGeneration()
	switch target.Kind {
	case "DaemonSet":
		return replicaCounts{desired: number("status", "desiredNumberScheduled"), ready: number("status", "numberReady"),
			available: number("status", "numberAvailable"), updated: number("status", "updatedNumberScheduled"), current: current}
	case "Job":
		// A Job is done when its completions succeeded; it has no generation-observing status.
		succeeded := number("status", "succeeded")
		return replicaCounts{desired: defaulted(1, "spec", "completions"), ready: succeeded, available: succeeded, updated: succeeded, current: true}
	case "ReplicaSet":
		// A ReplicaSet has one template: every replica it runs is current.
		return replicaCounts{desired: defaulted(1, "spec", "replicas"), ready: number("status", "readyReplicas"),
			available: number("status", "availableReplicas"), updated: number("status", "replicas"), current: current}
	}
	return replicaCounts{desired: defaulted(1, "spec", "replicas"), ready: number("status", "readyReplicas"),
		available: number("status", "availableReplicas"), updated: number("status", "updatedReplicas"), current: current}
}
