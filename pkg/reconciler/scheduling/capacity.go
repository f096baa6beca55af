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
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
)

// CapacityTuning says how the controller estimates what a cluster can run.
type CapacityTuning struct {
	// UnschedulableThreshold is how long a pod must stay unschedulable
	// before it counts against its cluster's capacity.
	UnschedulableThreshold time.Duration
	// EstimateTTL is how long an estimate holds while no pod is seen
	// unschedulable and the cluster's nodes do not gain room.
	EstimateTTL time.Duration
}

const (
	// DefaultUnschedulableThreshold is KubeFed's (podanalyzer.UnschedulableThreshold).
	DefaultUnschedulableThreshold = 60 * time.Second
	// DefaultCapacityEstimateTTL bounds how long replicas stay away from a
	// cluster whose room came back without its nodes changing (other
	// workloads shrank); rebalance then tries the preferred layout again.
	DefaultCapacityEstimateTTL = 10 * time.Minute
)

// DefaultCapacityTuning is KubeFed's threshold and fedhub's expiry.
func DefaultCapacityTuning() CapacityTuning {
	return CapacityTuning{UnschedulableThreshold: DefaultUnschedulableThreshold, EstimateTTL: DefaultCapacityEstimateTTL}
}

// podCounts is what a member's pods of one workload say about its room.
type podCounts struct {
	// pods counts the pods that exist and have not finished.
	pods int64
	// unschedulable counts those unschedulable for longer than the threshold.
	unschedulable int64
	// message is the scheduler's message on one of them.
	message string
	// recheck is the earliest time a pending pod may cross the threshold;
	// zero when no pod is pending.
	recheck time.Time
}

// countPods counts a workload's pods in one member as KubeFed's pod
// analyzer did: a pod counts as unschedulable once its PodScheduled
// condition has been False with reason Unschedulable for longer than
// threshold. The clock starts no earlier than roomGrew, when the member's
// nodes last gained room: the scheduler tries such pods again, and until it
// has, their old condition says nothing about the new room.
func countPods(pods []corev1.Pod, now, roomGrew time.Time, threshold time.Duration) podCounts {
	var counts podCounts
	wait := func(due time.Time) {
		if counts.recheck.IsZero() || due.Before(counts.recheck) {
			counts.recheck = due
		}
	}
	for i := range pods {
		live, placement, since, message := classifyPod(&pods[i], roomGrew)
		if !live {
			continue
		}
		counts.pods++
		switch {
		case placement == podBound:
			continue // the cluster found it room
		case placement == podWaiting:
			wait(now.Add(threshold)) // the scheduler has not given up on it (yet)
			continue
		}
		if due := since.Add(threshold); due.After(now) {
			wait(due)
			continue
		}
		counts.unschedulable++
		if counts.message == "" {
			counts.message = message
		}
	}
	return counts
}

// podPlacement is how far the member's scheduler got with a pod.
type podPlacement int

const (
	podBound podPlacement = iota
	podWaiting
	podUnschedulable
)

// classifyPod says whether a pod exists and has not finished (live), how far
// its scheduling got and, for an unschedulable pod, since when it counts as
// such and the scheduler's message. The clock starts no earlier than
// roomGrew: see countPods.
func classifyPod(pod *corev1.Pod, roomGrew time.Time) (live bool, placement podPlacement, since time.Time, message string) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, podBound, since, ""
	}
	if pod.Spec.NodeName != "" {
		return true, podBound, since, ""
	}
	scheduled := podScheduled(pod)
	if scheduled == nil || scheduled.Status != corev1.ConditionFalse || scheduled.Reason != corev1.PodReasonUnschedulable {
		return true, podWaiting, since, ""
	}
	since = scheduled.LastTransitionTime.Time
	if roomGrew.After(since) {
		since = roomGrew
	}
	return true, podUnschedulable, since, scheduled.Message
}

// UnschedulableReport is what a member's pods of one workload say about its
// room before any threshold applies: what a pull member's agent reports in
// the workload's Work, for fedhub to apply the threshold as countPods does.
type UnschedulableReport struct {
	// Pods counts the pods that exist and have not finished.
	Pods int64
	// Unschedulable counts those the member's scheduler cannot place.
	Unschedulable int64
	// Since is the latest time one of them became unschedulable (no
	// earlier than roomGrew): all of them have been unschedulable since.
	Since time.Time
	// Message is the scheduler's message on one of them, the same one
	// whatever order the pods are listed in.
	Message string
}

// ReportUnschedulable is the report of a workload's pods, counted by the
// rules of countPods. Since is the latest transition rather than the
// oldest so that fedhub, applying its threshold to Since, counts no pod that
// countPods would not count yet.
func ReportUnschedulable(pods []corev1.Pod, roomGrew time.Time) UnschedulableReport {
	var report UnschedulableReport
	for i := range pods {
		live, placement, since, message := classifyPod(&pods[i], roomGrew)
		if !live {
			continue
		}
		report.Pods++
		if placement != podUnschedulable {
			continue
		}
		report.Unschedulable++
		if since.After(report.Since) {
			report.Since = since
		}
		if report.Message == "" || (message != "" && message < report.Message) {
			report.Message = message
		}
	}
	return report
}

// podScheduled is the pod's PodScheduled condition, nil when it has none.
func podScheduled(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodScheduled {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// nextEstimates is the estimated capacity of each candidate cluster after
// an observation: observed holds the clusters whose pods were counted now.
// A cluster with pods unschedulable beyond the threshold is estimated to
// run the others, as in KubeFed; unlike KubeFed, the estimate is kept once
// the replicas it could not run have moved (and so their pods are gone),
// until the cluster's nodes gain room (roomGrew, by cluster) or it is older
// than ttl. Without this, the next plan would send the replicas straight
// back and they would go round until the room returned. expires is when the
// first estimate kept expires; zero when none is kept.
func nextEstimates(previous []schedulingv1alpha1.ClusterCapacity, observed map[string]podCounts, candidates []string,
	roomGrew map[string]time.Time, now time.Time, ttl time.Duration) (estimates []schedulingv1alpha1.ClusterCapacity, expires time.Time) {
	for _, name := range candidates {
		prev := findEstimate(previous, name)
		live := prev != nil && !roomGrew[name].After(prev.ObservedTime.Time) && now.Before(prev.ObservedTime.Add(ttl))
		if counts, ok := observed[name]; ok && counts.unschedulable > 0 {
			next := schedulingv1alpha1.ClusterCapacity{Name: name, Replicas: max(counts.pods-counts.unschedulable, 0),
				UnschedulableReplicas: counts.unschedulable, ObservedTime: metav1.NewTime(now), Message: counts.message}
			if live && prev.Replicas == next.Replicas && prev.UnschedulableReplicas == next.UnschedulableReplicas {
				next = *prev // the same estimate: keep its time, or every observation would write the status
			}
			estimates = append(estimates, next)
			continue
		}
		if !live {
			continue
		}
		estimates = append(estimates, *prev)
		if at := prev.ObservedTime.Add(ttl); expires.IsZero() || at.Before(expires) {
			expires = at
		}
	}
	return estimates, expires
}

func findEstimate(estimates []schedulingv1alpha1.ClusterCapacity, name string) *schedulingv1alpha1.ClusterCapacity {
	for i := range estimates {
		if estimates[i].Name == name {
			return &estimates[i]
		}
	}
	return nil
}

// capacityOf is the planner's capacity input.
func capacityOf(estimates []schedulingv1alpha1.ClusterCapacity) map[string]int64 {
	if len(estimates) == 0 {
		return nil
	}
	capacity := make(map[string]int64, len(estimates))
	for _, e := range estimates {
		capacity[e.Name] = e.Replicas
	}
	return capacity
}

// movedMessage says which clusters are asked for fewer replicas than the
// preferences give them, for want of capacity: preferred is the plan the
// weights make with room everywhere, replicas what each cluster is asked.
// It is empty when no estimate takes replicas from a cluster.
func movedMessage(estimates []schedulingv1alpha1.ClusterCapacity, preferred, replicas map[string]int64, threshold time.Duration) string {
	var parts []string
	for _, e := range estimates {
		if replicas[e.Name] >= preferred[e.Name] {
			continue
		}
		part := fmt.Sprintf("%s runs %d of its preferred %d: it is estimated to run %d, with %d pods unschedulable for more than %s",
			e.Name, replicas[e.Name], preferred[e.Name], e.Replicas, e.UnschedulableReplicas, threshold)
		if e.Message != "" {
			part += " (" + strings.TrimSpace(e.Message) + ")"
		}
		parts = append(parts, part)
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return ""
	}
	return "replicas moved to clusters with room: " + strings.Join(parts, "; ")
}
