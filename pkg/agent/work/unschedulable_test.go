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

package work

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

// fakePods is a member's pods in memory.
type fakePods struct {
	pods     []corev1.Pod
	roomGrew time.Time
	err      error
	lists    int
}

var _ Pods = &fakePods{}

func (f *fakePods) List(_ context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error) {
	f.lists++
	if f.err != nil {
		return nil, f.err
	}
	var out []corev1.Pod
	for _, p := range f.pods {
		if p.Namespace == namespace && selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePods) RoomGrewAt() time.Time { return f.roomGrew }

var unschedulableAt = testNow.Add(-2 * time.Minute)

// webPod is a pod of the Deployment web: bound, or unschedulable since
// unschedulableAt with message.
func webPod(name string, bound bool, message string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if bound {
		p.Spec.NodeName, p.Status.Phase = "node-1", corev1.PodRunning
		return p
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: message, LastTransitionTime: metav1.NewTime(unschedulableAt)}}
	return p
}

// webPods are two bound pods and two unschedulable ones, and another
// workload's unschedulable pod, which is not web's.
func webPods() []corev1.Pod {
	other := webPod("db-0", false, "not web's")
	other.Labels = map[string]string{"app": "db"}
	return []corev1.Pod{webPod("web-0", true, ""), webPod("web-1", true, ""), webPod("web-2", false, "0/1 nodes are available"),
		webPod("web-3", false, "0/1 nodes are available"), other}
}

// shortDeployment is web as the member stores it, asking for replicas with
// ready of them ready, selecting app=web.
func shortDeployment(replicas, ready int64) *unstructured.Unstructured {
	return liveDeployment(replicas, managedLabels(), func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedStringMap(o.Object, map[string]string{"app": "web"}, "spec", "selector", "matchLabels")
		_ = unstructured.SetNestedField(o.Object, ready, "status", "readyReplicas")
	})
}

func TestReconcileReportsUnschedulable(t *testing.T) {
	want := &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(unschedulableAt), Message: "0/1 nodes are available"}
	reporting := func(w *agentv1alpha1.Work) { w.Spec.ReportStatus = true }
	tests := []struct {
		name  string
		work  *agentv1alpha1.Work
		live  *unstructured.Unstructured
		pods  *fakePods
		want  *agentv1alpha1.UnschedulablePods
		poll  bool
		lists int
	}{{
		name: "short of ready replicas: the pods are counted, and counted again later",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting), live: shortDeployment(4, 2),
		pods: &fakePods{pods: webPods()}, want: want, poll: true, lists: 1,
	}, {
		name: "room grew since: the clock starts then",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting), live: shortDeployment(4, 2),
		pods: &fakePods{pods: webPods(), roomGrew: testNow.Add(-30*time.Second + 300*time.Millisecond)},
		want: &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(testNow.Add(-30 * time.Second)), Message: "0/1 nodes are available"},
		poll: true, lists: 1,
	}, {
		name: "the same counts and time with another message: the previous report stays, so the status is not written",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting, func(w *agentv1alpha1.Work) {
			w.Status.Unschedulable = &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(unschedulableAt), Message: "earlier words"}
		}),
		live: shortDeployment(4, 2), pods: &fakePods{pods: webPods()},
		want: &agentv1alpha1.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.NewTime(unschedulableAt), Message: "earlier words"},
		poll: true, lists: 1,
	}, {
		name: "the pods cannot be read: the previous report stays",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting, func(w *agentv1alpha1.Work) { c := *want; w.Status.Unschedulable = &c }),
		live: shortDeployment(4, 2), pods: &fakePods{err: errors.New("forbidden")}, want: want, poll: true, lists: 1,
	}, {
		name: "rolled out: no report, the pods are not read",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting, func(w *agentv1alpha1.Work) { c := *want; w.Status.Unschedulable = &c }),
		live: shortDeployment(4, 4), pods: &fakePods{pods: webPods()},
	}, {
		name: "without reportStatus: no report",
		work: newWork(deployment(4, managedLabels()), inSync(3)), live: shortDeployment(4, 2), pods: &fakePods{pods: webPods()},
	}, {
		name: "an agent that reads no pods reports none",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting), live: shortDeployment(4, 2),
	}, {
		name: "no selector: nothing to count",
		work: newWork(deployment(4, managedLabels()), inSync(3), reporting), live: liveDeployment(4, managedLabels(), func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(0), "status", "readyReplicas")
		}),
		pods: &fakePods{pods: webPods()},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reconciler{Cluster: "member-2", Member: newFakeMember(tc.live), Now: func() time.Time { return testNow }}
			if tc.pods != nil {
				r.Pods = tc.pods
			}
			out := r.Reconcile(context.Background(), tc.work)
			if got := out.Status.Unschedulable; !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("unschedulable = %+v, want %+v", got, tc.want)
			}
			if poll := out.After == unschedulablePoll; poll != tc.poll {
				t.Errorf("after %s, want polling %t", out.After, tc.poll)
			}
			if tc.pods != nil && tc.pods.lists != tc.lists {
				t.Errorf("the pods were listed %d times, want %d", tc.pods.lists, tc.lists)
			}
		})
	}
}
