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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

func TestLeaseHealth(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	renewed := func(ago time.Duration) *metav1.MicroTime {
		at := metav1.NewMicroTime(now.Add(-ago))
		return &at
	}
	region := "eu"
	tests := []struct {
		name        string
		approved    bool
		status      agentv1alpha1.ClusterRegistrationStatus
		want        health
		wantMessage string
	}{
		{name: "not approved", status: agentv1alpha1.ClusterRegistrationStatus{RenewTime: renewed(time.Second)}, want: healthMalformed,
			wantMessage: "not approved"},
		{name: "approved, never renewed", approved: true, want: healthOffline, wantMessage: "has not renewed its lease yet"},
		{name: "renewed within its lease", approved: true, want: healthReady,
			status: agentv1alpha1.ClusterRegistrationStatus{RenewTime: renewed(10 * time.Second), LeaseDurationSeconds: 15, KubernetesVersion: "v1.37.2",
				Zones: []string{"eu-a"}, Region: &region}},
		{name: "lease expired", approved: true, want: healthOffline, wantMessage: "expired 2026-12-07T11:59:55Z",
			status: agentv1alpha1.ClusterRegistrationStatus{RenewTime: renewed(20 * time.Second), LeaseDurationSeconds: 15}},
		{name: "no duration: the default lease", approved: true, want: healthReady,
			status: agentv1alpha1.ClusterRegistrationStatus{RenewTime: renewed(DefaultAgentLease - time.Second)}},
		{name: "no duration, past the default lease", approved: true, want: healthOffline,
			status: agentv1alpha1.ClusterRegistrationStatus{RenewTime: renewed(DefaultAgentLease + time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registration := &agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Name: "member-2"},
				Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: tt.approved}, Status: tt.status}
			o := leaseHealth(registration, now)
			if o.health != tt.want || !strings.Contains(o.message, tt.wantMessage) {
				t.Errorf("got %v %q, want %v containing %q", o.health, o.message, tt.want, tt.wantMessage)
			}
			if o.health == healthReady && tt.status.KubernetesVersion != "" {
				if o.kubernetesVersion != "v1.37.2" || o.topology == nil || o.topology.region != "eu" || len(o.topology.zones) != 1 {
					t.Errorf("the agent's report is not carried: %+v", o)
				}
			}
		})
	}
}
