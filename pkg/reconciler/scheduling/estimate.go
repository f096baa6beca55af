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

package scheduling

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/scheduling/planner"
)

// estimate is the capacity of the candidates for the preference's workload,
// and when to plan again because an estimate may change. A member's pods
// are read only while the federated workload is not ready, and only in the
// clusters asked to run replicas; a member that cannot be read keeps the
// estimate it had.
func (c *Controller) estimate(ctx context.Context, rsp *schedulingv1alpha1.ReplicaSchedulingPreference, workload *unstructured.Unstructured,
	clusters []*corev1beta1.KubeFedCluster, candidates []string, asked map[string]int64) ([]schedulingv1alpha1.ClusterCapacity, time.Time) {
	if c.members == nil && c.pull == nil {
		return nil, time.Time{}
	}
	logger := klog.FromContext(ctx)
	now := c.now()
	byName := make(map[string]*corev1beta1.KubeFedCluster, len(clusters))
	exists := make(map[string]bool, len(clusters))
	for _, cluster := range clusters {
		byName[cluster.Name], exists[cluster.Name] = cluster, true
	}
	if c.members != nil {
		c.members.forget(exists)
	}
	ready := workloadReady(workload)
	observed := map[string]podCounts{}
	roomGrew := map[string]time.Time{}
	var recheck time.Time
	for _, name := range candidates {
		if cluster := byName[name]; cluster != nil && cluster.IsPull() {
			if c.pull == nil {
				continue // no host, so no agents either
			}
			roomGrew[name] = c.pull.roomGrewAt(name)
			if ready || asked[name] == 0 {
				continue
			}
			recheck = earliest(recheck, now.Add(c.tuning.UnschedulableThreshold))
			if counts, ok := c.pull.observe(name, rsp.Spec.TargetKind, workload.GetNamespace(), workload.GetName(),
				now, roomGrew[name], c.tuning.UnschedulableThreshold); ok {
				observed[name] = counts
				recheck = earliest(recheck, counts.recheck)
			}
			continue
		}
		if c.members == nil {
			continue
		}
		state, err := c.members.client(byName[name])
		if err != nil {
			logger.V(4).Info("No client for the capacity estimate", "cluster", name, "err", err)
			continue
		}
		if state == nil {
			continue
		}
		roomGrew[name] = c.members.roomGrewAt(name)
		if ready || asked[name] == 0 {
			continue
		}
		// Until the workload is ready, look again a threshold later even
		// without a pending pod: the member may not have created them yet,
		// and its readiness may not change again when it has.
		recheck = earliest(recheck, now.Add(c.tuning.UnschedulableThreshold))
		counts, ok, err := c.members.observe(ctx, state, name, rsp.Spec.TargetKind, workload.GetNamespace(), workload.GetName(),
			now, c.tuning.UnschedulableThreshold)
		if err != nil {
			logger.V(2).Info("Reading the member's pods failed; keeping its estimate", "cluster", name, "err", err)
			continue
		}
		if ok {
			observed[name] = counts
			recheck = earliest(recheck, counts.recheck)
		}
	}
	estimates, expires := nextEstimates(rsp.Status.EstimatedCapacity, observed, candidates, roomGrew, now, c.tuning.EstimateTTL)
	if c.members != nil {
		for _, e := range estimates {
			c.members.watchNodes(e.Name) // a pull member's agent watches its own
		}
	}
	return estimates, earliest(recheck, expires)
}

// earliest of two times, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// workloadReady tells whether the federated workload reports every placed
// cluster rolled out (its Ready condition, which propagation sets).
func workloadReady(workload *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(workload.Object, "status", "conditions")
	for _, c := range conditions {
		condition, _ := c.(map[string]any)
		if condition["type"] == "Ready" {
			return condition["status"] == "True"
		}
	}
	return false
}

// preferredPlan is what each cluster is asked to run with room everywhere
// and rebalancing: the layout the weights prefer, against which moved
// replicas are told.
func preferredPlan(preferences planner.Preferences, candidates []string) map[string]int64 {
	preferences.Rebalance = true
	return replicasOf(planner.Plan(preferences, candidates, nil, nil))
}
