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

package clusterhealth

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// Reasons on the cluster conditions, as KubeFed wrote them.
const (
	ReasonClusterReady           = "ClusterReady"
	ReasonClusterNotReady        = "ClusterNotReady"
	ReasonClusterNotReachable    = "ClusterNotReachable"
	ReasonClusterReachable       = "ClusterReachable"
	ReasonClusterConfigMalformed = "ClusterConfigMalformed"
	// ReasonReconcileError: fedhub failed to handle the cluster (a bug); the message says how.
	ReasonReconcileError = reconciler.ReasonReconcileError
)

// KubeFed's health check defaults, used where the KubeFedConfig says nothing.
const (
	DefaultPeriod           = 10 * time.Second
	DefaultTimeout          = 3 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
)

// health is the state of a member as one probe saw it.
type health int

const (
	// healthUnknown: nothing reported yet.
	healthUnknown health = iota
	// healthReady: /healthz answered ok.
	healthReady
	// healthNotReady: the member answered, but /healthz was not ok.
	healthNotReady
	// healthOffline: the member could not be reached.
	healthOffline
	// healthMalformed: no usable client could be built or the member refused the credentials.
	healthMalformed
	// healthUnhandled: probing the member panicked, so fedhub cannot vouch for it.
	healthUnhandled
)

// observation is what one probe found out about a member.
type observation struct {
	health  health
	message string
	// reachable facts; empty when the member could not be asked.
	kubernetesVersion string
	topology          *topology
}

// topology is where a member's nodes run.
type topology struct {
	zones  []string
	region string
}

// HealthCheck is the probe timing and the thresholds in effect.
type HealthCheck struct {
	Period, Timeout                    time.Duration
	FailureThreshold, SuccessThreshold int64
}

// HealthCheckFrom reads KubeFedConfig.spec.clusterHealthCheck, with KubeFed's
// defaults for what it leaves out or sets to nonsense (zero or negative).
func HealthCheckFrom(config *corev1beta1.KubeFedConfig) HealthCheck {
	check := HealthCheck{Period: DefaultPeriod, Timeout: DefaultTimeout, FailureThreshold: DefaultFailureThreshold, SuccessThreshold: DefaultSuccessThreshold}
	if config == nil || config.Spec.ClusterHealthCheck == nil {
		return check
	}
	spec := config.Spec.ClusterHealthCheck
	if spec.Period != nil && spec.Period.Duration > 0 {
		check.Period = spec.Period.Duration
	}
	if spec.Timeout != nil && spec.Timeout.Duration > 0 {
		check.Timeout = spec.Timeout.Duration
	}
	if spec.FailureThreshold != nil && *spec.FailureThreshold > 0 {
		check.FailureThreshold = *spec.FailureThreshold
	}
	if spec.SuccessThreshold != nil && *spec.SuccessThreshold > 0 {
		check.SuccessThreshold = *spec.SuccessThreshold
	}
	return check
}

// threshold holds back a change of reported health until enough probes in a
// row agree on it, so one lost probe does not flap a cluster.
type threshold struct {
	candidate health
	run       int64
}

// admit says whether a probe that saw observed may be reported while
// reported is what the status says. A change towards Ready needs
// SuccessThreshold probes in a row, any other change FailureThreshold.
// Malformed configuration is not a flaky network: it, and its repair, are
// reported at once, as is the first health of a new cluster.
func (t *threshold) admit(reported, observed health, check HealthCheck) bool {
	if reported == healthUnknown || observed == reported || observed == healthMalformed || reported == healthMalformed {
		t.run = 0
		return true
	}
	if observed != t.candidate {
		t.candidate, t.run = observed, 0
	}
	t.run++
	need := check.FailureThreshold
	if observed == healthReady {
		need = check.SuccessThreshold
	}
	if t.run < need {
		return false
	}
	t.run = 0
	return true
}

// reportedHealth reads the health a status reports.
func reportedHealth(status corev1beta1.KubeFedClusterStatus) health {
	byType := map[corev1beta1.ClusterConditionType]corev1.ConditionStatus{}
	for _, c := range status.Conditions {
		byType[c.Type] = c.Status
	}
	switch {
	case byType[corev1beta1.ClusterConfigMalformed] == corev1.ConditionTrue:
		return healthMalformed
	case byType[corev1beta1.ClusterReady] == corev1.ConditionTrue:
		return healthReady
	case byType[corev1beta1.ClusterOffline] == corev1.ConditionTrue:
		return healthOffline
	case byType[corev1beta1.ClusterReady] == corev1.ConditionFalse:
		return healthNotReady
	}
	return healthUnknown
}

// conditionsFor are the conditions that describe an observation: Ready
// always, Offline whenever reachability is known, ConfigMalformed when it is.
func conditionsFor(o observation) []corev1beta1.ClusterCondition {
	condition := func(t corev1beta1.ClusterConditionType, s corev1.ConditionStatus, reason, message string) corev1beta1.ClusterCondition {
		return corev1beta1.ClusterCondition{Type: t, Status: s, Reason: &reason, Message: &message}
	}
	reachable := condition(corev1beta1.ClusterOffline, corev1.ConditionFalse, ReasonClusterReachable, "cluster is reachable")
	switch o.health {
	case healthReady:
		return []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionTrue, ReasonClusterReady, "/healthz responded with ok"), reachable}
	case healthNotReady:
		return []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionFalse, ReasonClusterNotReady, o.message), reachable}
	case healthOffline:
		return []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionFalse, ReasonClusterNotReachable, o.message),
			condition(corev1beta1.ClusterOffline, corev1.ConditionTrue, ReasonClusterNotReachable, o.message)}
	case healthUnhandled:
		// Reachability is not known either: only Ready is said.
		return []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionFalse, ReasonReconcileError, o.message)}
	default:
		return []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionFalse, ReasonClusterConfigMalformed, o.message),
			condition(corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, ReasonClusterConfigMalformed, o.message)}
	}
}

// desiredStatus is the status that reports an admitted observation. Facts
// only a reachable member can tell (version, zones, region) keep their last
// known values while it cannot be asked. A condition whose status did not
// change keeps its transition time; every condition gets now as probe time.
func desiredStatus(current corev1beta1.KubeFedClusterStatus, o observation, now metav1.Time) corev1beta1.KubeFedClusterStatus {
	desired := corev1beta1.KubeFedClusterStatus{
		KubernetesVersion: current.KubernetesVersion,
		Zones:             current.Zones,
		Region:            current.Region,
	}
	if o.kubernetesVersion != "" {
		desired.KubernetesVersion = o.kubernetesVersion
	}
	if o.topology != nil {
		desired.Zones, desired.Region = o.topology.zones, nil
		if o.topology.region != "" {
			region := o.topology.region
			desired.Region = &region
		}
	}
	for _, c := range conditionsFor(o) {
		c.LastProbeTime = now
		transition := now
		for _, old := range current.Conditions {
			if old.Type == c.Type && old.Status == c.Status && old.LastTransitionTime != nil {
				transition = *old.LastTransitionTime
			}
		}
		c.LastTransitionTime = &transition
		desired.Conditions = append(desired.Conditions, c)
	}
	return desired
}

// statusChanged says whether desired differs from current in anything but
// probe and transition times, which change with every probe and alone are no
// reason to write: KubeFed rewrote every cluster every period.
func statusChanged(current, desired corev1beta1.KubeFedClusterStatus) bool {
	return !equality.Semantic.DeepEqual(withoutTimes(current), withoutTimes(desired))
}

func withoutTimes(status corev1beta1.KubeFedClusterStatus) corev1beta1.KubeFedClusterStatus {
	out := *status.DeepCopy()
	for i := range out.Conditions {
		out.Conditions[i].LastProbeTime = metav1.Time{}
		out.Conditions[i].LastTransitionTime = nil
	}
	sort.Slice(out.Conditions, func(i, j int) bool { return out.Conditions[i].Type < out.Conditions[j].Type })
	if len(out.Zones) == 0 {
		out.Zones = nil
	}
	return out
}

// topologyOf is the member's topology as its nodes' labels tell it.
func topologyOf(nodeLabels []map[string]string) *topology {
	t := member.TopologyOf(nodeLabels)
	return &topology{zones: t.Zones, region: t.Region}
}
