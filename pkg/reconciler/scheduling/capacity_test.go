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
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/scheduling/planner"
)

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// pod builds a pod: bound to a node, unschedulable since a time, pending
// without a verdict, finished or deleted.
func pod(state string, since time.Time) corev1.Pod {
	p := corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}
	switch state {
	case "bound":
		p.Spec.NodeName, p.Status.Phase = "node-1", corev1.PodRunning
	case "unschedulable":
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Too many pods.", LastTransitionTime: metav1.NewTime(since)}}
	case "succeeded":
		p.Spec.NodeName, p.Status.Phase = "node-1", corev1.PodSucceeded
	case "deleted":
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, LastTransitionTime: metav1.NewTime(since)}}
		p.DeletionTimestamp = &metav1.Time{Time: since}
	case "gated":
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated",
			LastTransitionTime: metav1.NewTime(since)}}
	}
	return p
}

func TestCountPods(t *testing.T) {
	const threshold = time.Minute
	now := t0.Add(10 * time.Minute)
	tests := []struct {
		name     string
		pods     []corev1.Pod
		roomGrew time.Time
		want     podCounts
	}{
		{name: "all bound: nothing unschedulable, nothing to wait for",
			pods: []corev1.Pod{pod("bound", t0), pod("bound", t0)},
			want: podCounts{pods: 2}},
		{name: "unschedulable beyond the threshold counts, with the scheduler's message",
			pods: []corev1.Pod{pod("bound", t0), pod("bound", t0), pod("unschedulable", t0), pod("unschedulable", t0)},
			want: podCounts{pods: 4, unschedulable: 2, message: "0/1 nodes are available: 1 Too many pods."}},
		{name: "unschedulable for less than the threshold is waited for",
			pods: []corev1.Pod{pod("bound", t0), pod("unschedulable", now.Add(-20*time.Second)), pod("unschedulable", now.Add(-50*time.Second))},
			want: podCounts{pods: 3, recheck: now.Add(10 * time.Second)}},
		{name: "exactly at the threshold counts (KubeFed counted after it; the difference is one tick)",
			pods: []corev1.Pod{pod("unschedulable", now.Add(-threshold))},
			want: podCounts{pods: 1, unschedulable: 1, message: "0/1 nodes are available: 1 Too many pods."}},
		{name: "pending without the scheduler's verdict, or gated, is waited for a threshold",
			pods: []corev1.Pod{pod("pending", t0), pod("gated", t0)},
			want: podCounts{pods: 2, recheck: now.Add(threshold)}},
		{name: "finished and deleted pods are not the workload's",
			pods: []corev1.Pod{pod("succeeded", t0), pod("deleted", t0), pod("bound", t0)},
			want: podCounts{pods: 1}},
		{name: "room on the nodes restarts the clock",
			pods:     []corev1.Pod{pod("bound", t0), pod("unschedulable", t0)},
			roomGrew: now.Add(-30 * time.Second),
			want:     podCounts{pods: 2, recheck: now.Add(30 * time.Second)}},
		{name: "room long ago does not",
			pods:     []corev1.Pod{pod("unschedulable", t0.Add(time.Minute))},
			roomGrew: t0,
			want:     podCounts{pods: 1, unschedulable: 1, message: "0/1 nodes are available: 1 Too many pods."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countPods(tt.pods, now, tt.roomGrew, threshold); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("countPods = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func estimateAt(name string, replicas, unschedulable int64, at time.Time) schedulingv1alpha1.ClusterCapacity {
	return schedulingv1alpha1.ClusterCapacity{Name: name, Replicas: replicas, UnschedulableReplicas: unschedulable,
		ObservedTime: metav1.NewTime(at), Message: "full"}
}

func TestNextEstimates(t *testing.T) {
	const ttl = 10 * time.Minute
	now := t0.Add(5 * time.Minute)
	candidates := []string{"member-1", "member-2"}
	tests := []struct {
		name        string
		previous    []schedulingv1alpha1.ClusterCapacity
		observed    map[string]podCounts
		roomGrew    map[string]time.Time
		want        []schedulingv1alpha1.ClusterCapacity
		wantExpires time.Time
	}{
		{name: "no estimate, nothing unschedulable",
			observed: map[string]podCounts{"member-1": {pods: 4}}},
		{name: "unschedulable pods: the cluster runs the others (KubeFed's pods - unschedulable)",
			observed: map[string]podCounts{"member-1": {pods: 4, unschedulable: 2, message: "full"}, "member-2": {pods: 2}},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, now)}},
		{name: "every pod unschedulable: capacity 0",
			observed: map[string]podCounts{"member-2": {pods: 3, unschedulable: 3, message: "full"}},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-2", 0, 3, now)}},
		{name: "the same estimate observed again keeps its time",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			observed: map[string]podCounts{"member-1": {pods: 4, unschedulable: 2, message: "full"}},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)}},
		{name: "a different estimate replaces it",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			observed: map[string]podCounts{"member-1": {pods: 2, unschedulable: 1, message: "full"}},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 1, 1, now)}},
		{name: "once the replicas moved away the estimate holds until it expires",
			previous:    []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			observed:    map[string]podCounts{},
			want:        []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			wantExpires: t0.Add(ttl)},
		{name: "an expired estimate is dropped",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, now.Add(-ttl))}},
		{name: "an expired estimate still observed is made anew",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, now.Add(-ttl))},
			observed: map[string]podCounts{"member-1": {pods: 4, unschedulable: 2, message: "full"}},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, now)}},
		{name: "nodes gaining room drop it",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0), estimateAt("member-2", 1, 1, t0)},
			roomGrew: map[string]time.Time{"member-1": t0.Add(time.Minute), "member-2": t0.Add(-time.Minute)},
			want:     []schedulingv1alpha1.ClusterCapacity{estimateAt("member-2", 1, 1, t0)}, wantExpires: t0.Add(ttl)},
		{name: "a cluster no longer a candidate loses its estimate",
			previous: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-3", 2, 2, t0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, expires := nextEstimates(tt.previous, tt.observed, candidates, tt.roomGrew, now, ttl)
			if !reflect.DeepEqual(got, tt.want) || !expires.Equal(tt.wantExpires) {
				t.Errorf("nextEstimates = %+v, expires %v; want %+v, expires %v", got, expires, tt.want, tt.wantExpires)
			}
		})
	}
}

// TestPlanWithEstimates: the planner, given the estimates, moves what a
// cluster cannot run to clusters with room, and what rebalance does once the
// estimate is gone (the e2e's story, 6 replicas weighted 2:1).
func TestPlanWithEstimates(t *testing.T) {
	weights := map[string]schedulingv1alpha1.ClusterPreferences{"member-1": {Weight: 2}, "member-2": {Weight: 1}}
	candidates := []string{"member-1", "member-2"}
	tests := []struct {
		name      string
		rebalance bool
		current   map[string]int64
		estimates []schedulingv1alpha1.ClusterCapacity
		want      map[string]int64
		wantMoved string
	}{
		{name: "room everywhere: 4:2", want: map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "member-1 runs 2: the other 2 move to member-2",
			current:   map[string]int64{"member-1": 4, "member-2": 2},
			estimates: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			want:      map[string]int64{"member-1": 2, "member-2": 4},
			wantMoved: "member-1 runs 2 of its preferred 4: it is estimated to run 2, with 2 pods unschedulable for more than 1m0s (full)"},
		{name: "with rebalance too", rebalance: true,
			current:   map[string]int64{"member-1": 4, "member-2": 2},
			estimates: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0)},
			want:      map[string]int64{"member-1": 2, "member-2": 4},
			wantMoved: "member-1 runs 2 of its preferred 4"},
		{name: "estimate gone, no rebalance: the replicas stay where they moved",
			current: map[string]int64{"member-1": 2, "member-2": 4},
			want:    map[string]int64{"member-1": 2, "member-2": 4}},
		{name: "estimate gone, rebalance: back to 4:2", rebalance: true,
			current: map[string]int64{"member-1": 2, "member-2": 4},
			want:    map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "no room anywhere: the clusters are still asked for the overflow",
			current: map[string]int64{"member-1": 4, "member-2": 2},
			estimates: []schedulingv1alpha1.ClusterCapacity{estimateAt("member-1", 2, 2, t0),
				estimateAt("member-2", 2, 1, t0)},
			want: map[string]int64{"member-1": 4, "member-2": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			preferences := planner.Preferences{TotalReplicas: 6, Rebalance: tt.rebalance, Clusters: weights, Key: "shop/web"}
			replicas := replicasOf(planner.Plan(preferences, candidates, tt.current, capacityOf(tt.estimates)))
			if !reflect.DeepEqual(replicas, tt.want) {
				t.Errorf("plan %v, want %v", replicas, tt.want)
			}
			moved := movedMessage(tt.estimates, preferredPlan(preferences, candidates), replicas, time.Minute)
			if (tt.wantMoved == "") != (moved == "") || !strings.Contains(moved, tt.wantMoved) {
				t.Errorf("moved message %q, want one with %q", moved, tt.wantMoved)
			}
		})
	}
}

func node(ready, unschedulable bool, pods string, taints ...corev1.TaintEffect) *corev1.Node {
	n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: unschedulable},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse(pods)}}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	for _, effect := range taints {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "k", Effect: effect})
	}
	return n
}

func TestRoomGrew(t *testing.T) {
	tests := []struct {
		name          string
		before, after *corev1.Node
		want          bool
	}{
		{name: "more allocatable pods", before: node(true, false, "2"), after: node(true, false, "10"), want: true},
		{name: "fewer allocatable pods", before: node(true, false, "10"), after: node(true, false, "2")},
		{name: "a heartbeat: nothing changed", before: node(true, false, "2"), after: node(true, false, "2")},
		{name: "became Ready", before: node(false, false, "2"), after: node(true, false, "2"), want: true},
		{name: "uncordoned", before: node(true, true, "2"), after: node(true, false, "2"), want: true},
		{name: "more room but cordoned", before: node(true, true, "2"), after: node(true, true, "10")},
		{name: "a NoSchedule taint removed", before: node(true, false, "2", corev1.TaintEffectNoSchedule), after: node(true, false, "2"), want: true},
		{name: "a PreferNoSchedule taint removed", before: node(true, false, "2", corev1.TaintEffectPreferNoSchedule), after: node(true, false, "2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roomGrew(tt.before, tt.after); got != tt.want {
				t.Errorf("roomGrew = %t, want %t", got, tt.want)
			}
		})
	}
}

// TestNodeWatch: the nodes a watch starts with are not room that grew; a
// node given more allocatable pods, and a node added later, are.
func TestNodeWatch(t *testing.T) {
	existing := node(true, false, "2")
	existing.Name = "node-1"
	member := kubefake.NewClientset(existing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grew := make(chan struct{}, 10)
	w := startNodeWatch(ctx, member, func() { grew <- struct{}{} })
	defer w.stop()

	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-grew:
			if !want {
				t.Fatalf("%s: reported as room", what)
			}
		case <-time.After(300 * time.Millisecond):
			if want {
				t.Fatalf("%s: not reported as room", what)
			}
		}
	}
	// Wait for the initial list: an update is seen only once it is done.
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		for _, action := range member.Actions() {
			if action.GetVerb() == "watch" {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatal("the node watch never started")
	}
	expect("the nodes at start", false) // also lets the watch settle
	if !w.grewAt().IsZero() {
		t.Errorf("grewAt %v before any room grew", w.grewAt())
	}

	bigger := existing.DeepCopy()
	bigger.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("10")
	if _, err := member.CoreV1().Nodes().UpdateStatus(ctx, bigger, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("more allocatable pods", true)
	if w.grewAt().IsZero() {
		t.Error("grewAt is zero after room grew")
	}

	added := node(true, false, "2")
	added.Name = "node-2"
	if _, err := member.CoreV1().Nodes().Create(ctx, added, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("a node added", true)
}
