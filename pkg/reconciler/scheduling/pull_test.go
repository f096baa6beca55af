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
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/test/objects"
)

func TestReportUnschedulable(t *testing.T) {
	later := t0.Add(30 * time.Second)
	withMessage := func(p corev1.Pod, message string) corev1.Pod {
		p.Status.Conditions[0].Message = message
		return p
	}
	tests := []struct {
		name     string
		pods     []corev1.Pod
		roomGrew time.Time
		want     UnschedulableReport
	}{
		{name: "all bound", pods: []corev1.Pod{pod("bound", t0), pod("bound", t0)}, want: UnschedulableReport{Pods: 2}},
		{name: "no threshold applies: a pod unschedulable a moment ago counts, since the latest transition",
			pods: []corev1.Pod{pod("bound", t0), pod("unschedulable", t0), pod("unschedulable", later)},
			want: UnschedulableReport{Pods: 3, Unschedulable: 2, Since: later, Message: "0/1 nodes are available: 1 Too many pods."}},
		{name: "room that grew later restarts the clock",
			pods: []corev1.Pod{pod("unschedulable", t0)}, roomGrew: later,
			want: UnschedulableReport{Pods: 1, Unschedulable: 1, Since: later, Message: "0/1 nodes are available: 1 Too many pods."}},
		{name: "finished, deleted, gated and waiting pods: as countPods",
			pods: []corev1.Pod{pod("succeeded", t0), pod("deleted", t0), pod("gated", t0), pod("pending", t0)},
			want: UnschedulableReport{Pods: 2}},
		{name: "the message does not depend on the pods' order",
			pods: []corev1.Pod{withMessage(pod("unschedulable", t0), "b"), withMessage(pod("unschedulable", t0), "a")},
			want: UnschedulableReport{Pods: 2, Unschedulable: 2, Since: t0, Message: "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReportUnschedulable(tc.pods, tc.roomGrew); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReportUnschedulable = %+v, want %+v", got, tc.want)
			}
			reversed := append([]corev1.Pod(nil), tc.pods...)
			for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
				reversed[i], reversed[j] = reversed[j], reversed[i]
			}
			if got := ReportUnschedulable(reversed, tc.roomGrew); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReportUnschedulable of the pods reversed = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReportedCounts: an agent's report is its word; whatever it says, the
// counts stay within what a member could have, and a report can take
// replicas away from its own cluster at most.
func TestReportedCounts(t *testing.T) {
	const threshold = time.Minute
	now := t0.Add(10 * time.Minute)
	long := strings.Repeat("é", 1000)
	tests := []struct {
		name     string
		report   *agentv1alpha1.UnschedulablePods
		roomGrew time.Time
		want     podCounts
		observed bool
	}{
		{name: "no report", report: nil},
		{name: "beyond the threshold counts",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(now.Add(-threshold)), Message: "no room"},
			want:     podCounts{pods: 4, unschedulable: 2, message: "no room"},
			observed: true},
		{name: "within the threshold is waited for",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(now.Add(-20 * time.Second))},
			want:     podCounts{pods: 4, recheck: now.Add(40 * time.Second)},
			observed: true},
		{name: "room that grew since restarts the clock",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(t0)},
			roomGrew: now.Add(-10 * time.Second),
			want:     podCounts{pods: 4, recheck: now.Add(50 * time.Second)},
			observed: true},
		{name: "nothing unschedulable: look again a threshold on",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4},
			want:     podCounts{pods: 4, recheck: now.Add(threshold)},
			observed: true},
		{name: "negative counts are none",
			report:   &agentv1alpha1.UnschedulablePods{Pods: -5, Replicas: -3, Since: metav1.NewTime(t0)},
			want:     podCounts{recheck: now.Add(threshold)},
			observed: true},
		{name: "more unschedulable than pods is all of them",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 2, Replicas: 9, Since: metav1.NewTime(t0)},
			want:     podCounts{pods: 2, unschedulable: 2},
			observed: true},
		{name: "huge counts are clamped",
			report:   &agentv1alpha1.UnschedulablePods{Pods: math.MaxInt64, Replicas: math.MaxInt64, Since: metav1.NewTime(t0)},
			want:     podCounts{pods: math.MaxInt32, unschedulable: math.MaxInt32},
			observed: true},
		{name: "a time in the future starts the threshold now",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 4, Since: metav1.NewTime(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))},
			want:     podCounts{pods: 4, recheck: now.Add(threshold)},
			observed: true},
		{name: "a long message is cut, on a character",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 1, Replicas: 1, Since: metav1.NewTime(t0), Message: long},
			want:     podCounts{pods: 1, unschedulable: 1, message: strings.Repeat("é", maxEstimateMessage/2)},
			observed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, observed := reportedCounts(tc.report, now, tc.roomGrew, threshold)
			if observed != tc.observed || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reportedCounts = %+v, %t; want %+v, %t", got, observed, tc.want, tc.observed)
			}
		})
	}
}

// TestSyncEstimatesPullMembers: member-1 is a pull member; fedhub reads
// what its agent reports in the workload's Work. A truthful report moves
// replicas as for a push member; a hostile one never gives a cluster more
// than the weights do, nor places more than totalReplicas.
func TestSyncEstimatesPullMembers(t *testing.T) {
	now := t0.Add(5 * time.Minute)
	tests := []struct {
		name     string
		report   *agentv1alpha1.UnschedulablePods
		roomGrew *metav1.Time
		want     map[string]int64
		estimate *schedulingv1alpha1.ClusterCapacity
	}{
		{name: "two of four unschedulable beyond the threshold",
			report: &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(t0), Message: "0/1 nodes are available: 1 Too many pods."},
			want:   map[string]int64{"member-1": 2, "member-2": 4},
			estimate: &schedulingv1alpha1.ClusterCapacity{Name: "member-1", Replicas: 2, UnschedulableReplicas: 2, ObservedTime: metav1.NewTime(now),
				Message: "0/1 nodes are available: 1 Too many pods."}},
		{name: "no report: the weights' plan",
			want: map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "room grew after the pods became unschedulable: not yet",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(t0)},
			roomGrew: &metav1.Time{Time: now.Add(-time.Second)},
			want:     map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "hostile: negative counts",
			report: &agentv1alpha1.UnschedulablePods{Pods: -100, Replicas: -100, Since: metav1.NewTime(t0)},
			want:   map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "hostile: huge room does not widen",
			report: &agentv1alpha1.UnschedulablePods{Pods: math.MaxInt64, Replicas: 1, Since: metav1.NewTime(t0)},
			want:   map[string]int64{"member-1": 4, "member-2": 2},
			estimate: &schedulingv1alpha1.ClusterCapacity{Name: "member-1", Replicas: math.MaxInt32 - 1, UnschedulableReplicas: 1,
				ObservedTime: metav1.NewTime(now)}},
		{name: "hostile: all unschedulable moves its own replicas away only",
			report: &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: math.MaxInt64, Since: metav1.NewTime(t0)},
			want:   map[string]int64{"member-1": 0, "member-2": 6},
			estimate: &schedulingv1alpha1.ClusterCapacity{Name: "member-1", Replicas: 0, UnschedulableReplicas: 4,
				ObservedTime: metav1.NewTime(now)}},
		{name: "hostile: a future time",
			report:   &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 4, Since: metav1.NewTime(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))},
			roomGrew: &metav1.Time{Time: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
			want:     map[string]int64{"member-1": 4, "member-2": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx, fedhub := newPullFixture(t, tc.report, tc.roomGrew)
			fx.controller.now = func() time.Time { return now }
			ctx := context.Background()
			if err := fx.controller.sync(ctx, "shop/web"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			stored, err := fedhub.Resource(targetKinds["FederatedDeployment"]).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			current, err := replicasInForce(stored, []string{"member-1", "member-2"})
			if err != nil || current["member-1"] != tc.want["member-1"] || current["member-2"] != tc.want["member-2"] {
				t.Errorf("the workload asks for %v (%v), want %v", current, err, tc.want)
			}
			status, err := fx.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("shop").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := status.Status.EstimatedCapacity
			switch {
			case tc.estimate == nil && len(got) != 0:
				t.Errorf("estimatedCapacity %+v, want none", got)
			case tc.estimate != nil && (len(got) != 1 || got[0].Name != tc.estimate.Name || got[0].Replicas != tc.estimate.Replicas ||
				got[0].UnschedulableReplicas != tc.estimate.UnschedulableReplicas || !got[0].ObservedTime.Equal(&tc.estimate.ObservedTime) ||
				got[0].Message != tc.estimate.Message):
				t.Errorf("estimatedCapacity %+v, want %+v", got, *tc.estimate)
			}
		})
	}
}

// newPullFixture is a preference for 6 replicas weighted 2:1 over the pull
// member-1 and the push member-2 (whose pods are never read: fedhub holds
// no client for it here), with the workload not ready, and member-1's
// agent reporting report in the workload's Work and roomGrew in its
// registration.
func newPullFixture(t *testing.T, report *agentv1alpha1.UnschedulablePods, roomGrew *metav1.Time) (*schedulingFixture, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	fx, fedhub, _ := newCapacityFixture(t, "member-1")
	resource := targetKinds["FederatedDeployment"]

	works := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	registrations := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	work := &agentv1alpha1.Work{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: propagation.WorkName("member-1", resource.Resource, "shop", "web")},
		Spec: agentv1alpha1.WorkSpec{ClusterName: "member-1", ReportStatus: true,
			Source: agentv1alpha1.WorkSource{APIVersion: "types.kubefed.io/v1beta1", Kind: "FederatedDeployment", Resource: resource.Resource, Namespace: "shop", Name: "web"}},
		Status: agentv1alpha1.WorkStatus{Unschedulable: report},
	}
	registration := &agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: "member-1"},
		Status: agentv1alpha1.ClusterRegistrationStatus{RoomGrewTime: roomGrew}}
	if err := works.Add(work); err != nil {
		t.Fatal(err)
	}
	if err := registrations.Add(registration); err != nil {
		t.Fatal(err)
	}
	fx.controller.pull = &pullReports{
		works:         agentlisters.NewWorkLister(works).Works(fixtureNamespace),
		registrations: agentlisters.NewClusterRegistrationLister(registrations).ClusterRegistrations(fixtureNamespace),
	}
	return fx, fedhub
}

// TestShortWorkload: the agent reads its member object as unstructured data;
// anything malformed is nothing to count, never a panic.
func TestShortWorkload(t *testing.T) {
	tests := []struct {
		name         string
		yaml         string
		short, valid bool
		selector     string
	}{
		{name: "short", yaml: `{spec: {replicas: 4, selector: {matchLabels: {app: web}}}, status: {readyReplicas: 2}}`,
			short: true, valid: true, selector: "app=web"},
		{name: "rolled out", yaml: `{spec: {replicas: 4, selector: {matchLabels: {app: web}}}, status: {readyReplicas: 4}}`,
			valid: true, selector: "app=web"},
		{name: "replicas defaulted to 1, no status yet", yaml: `{spec: {selector: {matchLabels: {app: web}}}}`,
			short: true, valid: true, selector: "app=web"},
		{name: "no selector", yaml: `{spec: {replicas: 4}, status: {readyReplicas: 0}}`},
		{name: "empty selector", yaml: `{spec: {replicas: 4, selector: {}}}`},
		{name: "no spec", yaml: `{status: {readyReplicas: 0}}`},
		{name: "spec not an object", yaml: `{spec: [1]}`},
		{name: "replicas not a number", yaml: `{spec: {replicas: four, selector: {matchLabels: {app: web}}}}`},
		{name: "bad selector operator", yaml: `{spec: {replicas: 4, selector: {matchExpressions: [{key: app, operator: Near}]}}}`},
		{name: "readyReplicas not a number counts none ready", yaml: `{spec: {replicas: 4, selector: {matchLabels: {app: web}}}, status: {readyReplicas: all}}`,
			short: true, valid: true, selector: "app=web"},
		{name: "negative readyReplicas counts none ready", yaml: `{spec: {replicas: 1, selector: {matchLabels: {app: web}}}, status: {readyReplicas: -5}}`,
			short: true, valid: true, selector: "app=web"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			selector, short, valid := ShortWorkload(objects.FromYAML(t, tc.yaml))
			if short != tc.short || valid != tc.valid {
				t.Errorf("ShortWorkload = short %t, ok %t; want %t, %t", short, valid, tc.short, tc.valid)
			}
			if valid && selector.String() != tc.selector {
				t.Errorf("selector %q, want %q", selector, tc.selector)
			}
		})
	}
}

// TestPullReportsPlanAgain: a Work's changed report on its pods plans its
// workload's preference again, and nothing else the agent rewrites in a
// Work's status does; a registration's new roomGrewTime plans again the
// preferences with an estimate for that cluster.
func TestPullReportsPlanAgain(t *testing.T) {
	fx, _ := newPullFixture(t, nil, nil)
	c := fx.controller
	work, err := c.pull.works.Get(propagation.WorkName("member-1", "federateddeployments", "shop", "web"))
	if err != nil {
		t.Fatal(err)
	}
	drained := func() []string {
		var keys []string
		for c.queue.Len() > 0 {
			key, _ := c.queue.Get()
			keys = append(keys, key)
			c.queue.Done(key)
			c.queue.Forget(key)
		}
		return keys
	}

	rewritten := work.DeepCopy()
	rewritten.Status.Member = nil
	rewritten.Status.ObservedGeneration++
	c.workReportChanged(work, rewritten)
	if keys := drained(); len(keys) != 0 {
		t.Errorf("a status rewrite without a new report planned %v again, want nothing", keys)
	}
	reported := work.DeepCopy()
	reported.Status.Unschedulable = &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(t0)}
	c.workReportChanged(work, reported)
	if keys := drained(); !reflect.DeepEqual(keys, []string{"shop/web"}) {
		t.Errorf("a new report planned %v again, want shop/web", keys)
	}

	registration, err := c.pull.registrations.Get("member-1")
	if err != nil {
		t.Fatal(err)
	}
	grew := registration.DeepCopy()
	grew.Status.RoomGrewTime = &metav1.Time{Time: t0}
	c.roomReportChanged(registration, grew)
	if keys := drained(); len(keys) != 0 {
		t.Errorf("room on a cluster without an estimate planned %v again, want nothing", keys)
	}
	rsp, err := fx.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsp.Status.EstimatedCapacity = []schedulingv1alpha1.ClusterCapacity{{Name: "member-1", Replicas: 2, UnschedulableReplicas: 2, ObservedTime: metav1.NewTime(t0)}}
	if err := fx.preferences.Update(rsp); err != nil {
		t.Fatal(err)
	}
	c.roomReportChanged(registration, grew)
	if keys := drained(); !reflect.DeepEqual(keys, []string{"shop/web"}) {
		t.Errorf("room on member-1 planned %v again, want shop/web, which has an estimate for it", keys)
	}
	c.roomReportChanged(grew, grew.DeepCopy())
	if keys := drained(); len(keys) != 0 {
		t.Errorf("a renewal with the same roomGrewTime planned %v again, want nothing", keys)
	}
}
