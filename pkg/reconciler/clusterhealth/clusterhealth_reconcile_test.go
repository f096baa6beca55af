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
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestHealthCheckFrom(t *testing.T) {
	tests := []struct {
		name   string
		config *corev1beta1.KubeFedConfig
		want   HealthCheck
	}{
		{name: "no config", want: HealthCheck{Period: 10 * time.Second, Timeout: 3 * time.Second, FailureThreshold: 3, SuccessThreshold: 1}},
		{name: "all set", config: configWith(&corev1beta1.ClusterHealthCheckConfig{
			Period: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 2 * time.Second},
			FailureThreshold: ptr.To[int64](5), SuccessThreshold: ptr.To[int64](2),
		}), want: HealthCheck{Period: time.Second, Timeout: 2 * time.Second, FailureThreshold: 5, SuccessThreshold: 2}},
		{name: "zero and negative fall back to defaults", config: configWith(&corev1beta1.ClusterHealthCheckConfig{
			Period: &metav1.Duration{}, FailureThreshold: ptr.To[int64](0), SuccessThreshold: ptr.To[int64](-1),
		}), want: HealthCheck{Period: 10 * time.Second, Timeout: 3 * time.Second, FailureThreshold: 3, SuccessThreshold: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HealthCheckFrom(tt.config); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func configWith(check *corev1beta1.ClusterHealthCheckConfig) *corev1beta1.KubeFedConfig {
	return &corev1beta1.KubeFedConfig{Spec: corev1beta1.KubeFedConfigSpec{ClusterHealthCheck: check}}
}

func TestThresholdAdmit(t *testing.T) {
	check := HealthCheck{FailureThreshold: 3, SuccessThreshold: 2}
	tests := []struct {
		name     string
		reported health
		observed []health
		// admitted[i] says whether observed[i] may be reported, with
		// reported updated to every admitted observation.
		admitted []bool
	}{
		{name: "first observation is reported at once", reported: healthUnknown,
			observed: []health{healthOffline}, admitted: []bool{true}},
		{name: "unchanged health is always admitted", reported: healthReady,
			observed: []health{healthReady, healthReady}, admitted: []bool{true, true}},
		{name: "failures turn a ready cluster not ready at the failure threshold", reported: healthReady,
			observed: []health{healthOffline, healthOffline, healthOffline, healthOffline}, admitted: []bool{false, false, true, true}},
		{name: "one success resets the failure run", reported: healthReady,
			observed: []health{healthOffline, healthOffline, healthReady, healthOffline, healthOffline, healthOffline},
			admitted: []bool{false, false, true, false, false, true}},
		{name: "offline and not ready count separately", reported: healthReady,
			observed: []health{healthOffline, healthOffline, healthNotReady, healthNotReady, healthNotReady},
			admitted: []bool{false, false, false, false, true}},
		{name: "recovery needs the success threshold", reported: healthOffline,
			observed: []health{healthReady, healthReady}, admitted: []bool{false, true}},
		{name: "a failure interrupts a recovery", reported: healthOffline,
			observed: []health{healthReady, healthOffline, healthReady, healthReady}, admitted: []bool{false, true, false, true}},
		{name: "malformed configuration is reported at once", reported: healthReady,
			observed: []health{healthMalformed}, admitted: []bool{true}},
		{name: "a repaired configuration is reported at once", reported: healthMalformed,
			observed: []health{healthOffline}, admitted: []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var th threshold
			reported := tt.reported
			for i, observed := range tt.observed {
				got := th.admit(reported, observed, check)
				if got != tt.admitted[i] {
					t.Fatalf("probe %d (%v while %v reported): admitted %v, want %v", i, observed, reported, got, tt.admitted[i])
				}
				if got {
					reported = observed
				}
			}
		})
	}
}

func TestReportedHealth(t *testing.T) {
	now := metav1.Now()
	for _, o := range []observation{
		{health: healthReady}, {health: healthNotReady, message: "x"},
		{health: healthOffline, message: "y"}, {health: healthMalformed, message: "z"},
	} {
		if got := reportedHealth(desiredStatus(corev1beta1.KubeFedClusterStatus{}, o, now)); got != o.health {
			t.Errorf("status written for %v reads back as %v", o.health, got)
		}
	}
	if got := reportedHealth(corev1beta1.KubeFedClusterStatus{}); got != healthUnknown {
		t.Errorf("empty status reads as %v", got)
	}
}

func TestStatusChanged(t *testing.T) {
	earlier, now := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	ready := observation{health: healthReady, kubernetesVersion: "v1.37.2", topology: &topology{zones: []string{"a", "b"}, region: "r"}}
	current := desiredStatus(corev1beta1.KubeFedClusterStatus{}, ready, earlier)
	tests := []struct {
		name        string
		observation observation
		changed     bool
	}{
		{name: "same probe result later", observation: ready, changed: false},
		{name: "unreachable keeps version and topology but changes conditions",
			observation: observation{health: healthOffline, message: "connection refused"}, changed: true},
		{name: "new version", observation: observation{health: healthReady, kubernetesVersion: "v1.38.0", topology: ready.topology}, changed: true},
		{name: "new zone", observation: observation{health: healthReady, kubernetesVersion: "v1.37.2", topology: &topology{zones: []string{"a", "b", "c"}, region: "r"}}, changed: true},
		{name: "nodes gone", observation: observation{health: healthReady, kubernetesVersion: "v1.37.2", topology: &topology{}}, changed: true},
		{name: "topology unknown keeps the last one", observation: observation{health: healthReady, kubernetesVersion: "v1.37.2"}, changed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := desiredStatus(current, tt.observation, now)
			if got := statusChanged(current, desired); got != tt.changed {
				t.Errorf("changed = %v, want %v\ncurrent: %+v\ndesired: %+v", got, tt.changed, current, desired)
			}
		})
	}
}

func TestDesiredStatusTimes(t *testing.T) {
	earlier, now := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	current := desiredStatus(corev1beta1.KubeFedClusterStatus{}, observation{health: healthReady}, earlier)
	desired := desiredStatus(current, observation{health: healthOffline, message: "refused"}, now)
	for _, c := range desired.Conditions {
		if !c.LastProbeTime.Equal(&now) {
			t.Errorf("%s: probe time %v, want %v", c.Type, c.LastProbeTime, now)
		}
	}
	transitions := map[corev1beta1.ClusterConditionType]metav1.Time{}
	for _, c := range desired.Conditions {
		transitions[c.Type] = *c.LastTransitionTime
	}
	// Ready went True→False and Offline False→True: both transitioned now.
	if got := transitions[corev1beta1.ClusterReady]; !got.Equal(&now) {
		t.Errorf("Ready transition %v, want %v", got, now)
	}
	again := desiredStatus(desired, observation{health: healthOffline, message: "refused"}, metav1.NewTime(time.Unix(3000, 0)))
	for _, c := range again.Conditions {
		if !c.LastTransitionTime.Equal(&now) {
			t.Errorf("%s: unchanged condition moved its transition time to %v", c.Type, c.LastTransitionTime)
		}
	}
	wantReasons := map[corev1beta1.ClusterConditionType]string{
		corev1beta1.ClusterReady: ReasonClusterNotReachable, corev1beta1.ClusterOffline: ReasonClusterNotReachable,
	}
	for _, c := range desired.Conditions {
		if *c.Reason != wantReasons[c.Type] || c.Status == corev1.ConditionUnknown {
			t.Errorf("%s: reason %s status %s", c.Type, *c.Reason, c.Status)
		}
	}
}

func TestTopologyOf(t *testing.T) {
	tests := []struct {
		name  string
		nodes []map[string]string
		want  *topology
	}{
		{name: "no nodes", want: &topology{}},
		{name: "topology labels", nodes: []map[string]string{
			{corev1.LabelTopologyZone: "eu-1b", corev1.LabelTopologyRegion: "eu-1"},
			{corev1.LabelTopologyZone: "eu-1a", corev1.LabelTopologyRegion: "eu-1"},
			{corev1.LabelTopologyZone: "eu-1a", corev1.LabelTopologyRegion: "eu-1"},
		}, want: &topology{zones: []string{"eu-1a", "eu-1b"}, region: "eu-1"}},
		{name: "legacy labels when the new ones are missing", nodes: []map[string]string{
			{corev1.LabelFailureDomainBetaZone: "old-a", corev1.LabelFailureDomainBetaRegion: "old"},
		}, want: &topology{zones: []string{"old-a"}, region: "old"}},
		{name: "the region most nodes are in", nodes: []map[string]string{
			{corev1.LabelTopologyRegion: "b"}, {corev1.LabelTopologyRegion: "a"}, {corev1.LabelTopologyRegion: "b"},
		}, want: &topology{region: "b"}},
		{name: "a tie goes to the first name", nodes: []map[string]string{
			{corev1.LabelTopologyRegion: "b"}, {corev1.LabelTopologyRegion: "a"},
		}, want: &topology{region: "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := topologyOf(tt.nodes); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
