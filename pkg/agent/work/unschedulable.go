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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
)

// unschedulablePoll is how often the pods of a workload short of ready
// replicas are counted again: the member object does not change when its
// pods become unschedulable, nor when they are placed after room appears.
const unschedulablePoll = 10 * time.Second

// maxMessage bounds the scheduler's message reported (fedhub refuses longer).
const maxMessage = 1024

// Pods is what fedhub's capacity estimate needs the agent to read in its
// member (docs/scheduling.md): a workload's pods, and when the member's
// nodes last gained room.
type Pods interface {
	// List lists the pods of namespace that selector selects.
	List(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error)
	// RoomGrewAt is when the member's nodes last gained room; zero when
	// they have not since the agent started.
	RoomGrewAt() time.Time
}

// MemberPods reads pods with the member's client and follows its nodes.
type MemberPods struct {
	client kubernetes.Interface
	grewAt func() time.Time
}

var _ Pods = &MemberPods{}

// NewMemberPods watches the member's nodes until ctx ends, calling grew
// whenever they gain room.
func NewMemberPods(ctx context.Context, client kubernetes.Interface, grew func()) *MemberPods {
	return &MemberPods{client: client, grewAt: scheduling.WatchNodeRoom(ctx, client, grew)}
}

// List reads from the member's watch cache: the pods of one workload, read
// only while it is short of ready replicas.
func (p *MemberPods) List(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error) {
	pods, err := p.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String(), ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	return pods.Items, nil
}

// RoomGrewAt is when the node watch last saw room grow.
func (p *MemberPods) RoomGrewAt() time.Time { return p.grewAt() }

// unschedulable is the report on the pods of a Deployment or ReplicaSet
// Work's member object while that is short of ready replicas, nil
// otherwise; poll asks for the Work again a moment later. The counting
// rules are the push members' (scheduling.ReportUnschedulable). A report
// that differs from the previous one only in the scheduler's message, which
// changes as other pods come and go, keeps the previous one: the Work's
// status is written when the counts or the time change, not with every
// pod's status.
func (r *Reconciler) unschedulable(ctx context.Context, w *agentv1alpha1.Work, ref Ref, member *unstructured.Unstructured) (
	report *agentv1alpha1.UnschedulablePods, poll bool) {
	if r.Pods == nil || member == nil || !w.Spec.ReportStatus || ref.Resource.Group != "apps" ||
		(ref.Resource.Resource != "deployments" && ref.Resource.Resource != "replicasets") {
		return nil, false
	}
	selector, short, ok := scheduling.ShortWorkload(member)
	if !ok || !short {
		return nil, false
	}
	pods, err := r.Pods.List(ctx, ref.Namespace, selector)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Reading the workload's pods failed; its report stays as it was", "err", err)
		return w.Status.Unschedulable, true
	}
	counted := scheduling.ReportUnschedulable(pods, r.Pods.RoomGrewAt())
	report = &agentv1alpha1.UnschedulablePods{Pods: counted.Pods, Replicas: counted.Unschedulable}
	if counted.Unschedulable > 0 {
		// The API keeps seconds: a finer time would differ from the stored one.
		report.Since = metav1.NewTime(counted.Since).Rfc3339Copy()
		report.Message = counted.Message
		if len(report.Message) > maxMessage {
			report.Message = strings.ToValidUTF8(report.Message[:maxMessage], "")
		}
	}
	if previous := w.Status.Unschedulable; previous != nil && previous.Pods == report.Pods &&
		previous.Replicas == report.Replicas && previous.Since.Equal(&report.Since) {
		return previous, true
	}
	return report, true
}
