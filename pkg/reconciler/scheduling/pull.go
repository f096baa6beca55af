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
	"math"
	"strings"
	"time"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
)

// maxEstimateMessage bounds the scheduler's message an agent's report puts
// into a preference's status.
const maxEstimateMessage = 1024

// pullReports reads what the capacity estimate needs of pull members from
// what their agents report, fedhub holding no credentials for them: the
// pods of a workload short of ready replicas in the workload's Work
// (status.unschedulable), and when the member's nodes last gained room in
// the cluster's ClusterRegistration (status.roomGrewTime). An agent writes
// only its own cluster's reports, so whatever it reports can at most move
// replicas away from its own cluster.
type pullReports struct {
	works         agentlisters.WorkNamespaceLister
	registrations agentlisters.ClusterRegistrationNamespaceLister
}

// roomGrewAt is when the agent last saw the member's nodes gain room; zero
// when it has not reported it.
func (p *pullReports) roomGrewAt(cluster string) time.Time {
	reg, err := p.registrations.Get(cluster)
	if err != nil || reg.Status.RoomGrewTime == nil {
		return time.Time{}
	}
	return reg.Status.RoomGrewTime.Time
}

// observe reads the agent's report on the pods of the cluster's copy of a
// workload; observed is false when the agent reports none (the workload
// has rolled out there, or it is not reported yet).
func (p *pullReports) observe(cluster, kind, namespace, name string, now, roomGrew time.Time, threshold time.Duration) (podCounts, bool) {
	resource, ok := targetKinds[kind]
	if !ok {
		return podCounts{}, false
	}
	w, err := p.works.Get(propagation.WorkName(cluster, resource.Resource, namespace, name))
	if err != nil {
		return podCounts{}, false // none yet: propagation has not published it
	}
	if w.Spec.ClusterName != cluster || w.Spec.Source.Kind != kind || w.Spec.Source.Namespace != namespace || w.Spec.Source.Name != name {
		return podCounts{}, false
	}
	return reportedCounts(w.Status.Unschedulable, now, roomGrew, threshold)
}

// reportedCounts applies the threshold to an agent's report as countPods
// does to pods. The report is the agent's word: counts are clamped so that
// no value, however hostile, can panic, overflow the planner or make an
// estimate that does not narrow the cluster's own share.
func reportedCounts(report *agentv1alpha1.UnschedulablePods, now, roomGrew time.Time, threshold time.Duration) (podCounts, bool) {
	if report == nil {
		return podCounts{}, false
	}
	counts := podCounts{pods: min(max(report.Pods, 0), math.MaxInt32)}
	unschedulable := min(max(report.Replicas, 0), counts.pods)
	if unschedulable == 0 {
		// Pending pods the scheduler may yet place: look again a threshold on.
		counts.recheck = now.Add(threshold)
		return counts, true
	}
	since := report.Since.Time
	if roomGrew.After(since) {
		since = roomGrew
	}
	if since.After(now) {
		since = now // a clock ahead of fedhub's, or a lie: the threshold starts now
	}
	if due := since.Add(threshold); due.After(now) {
		counts.recheck = due
		return counts, true
	}
	counts.unschedulable = unschedulable
	counts.message = report.Message
	if len(counts.message) > maxEstimateMessage {
		counts.message = strings.ToValidUTF8(counts.message[:maxEstimateMessage], "")
	}
	return counts, true
}
