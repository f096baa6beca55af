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

package propagation

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

func TestDesiredStatus(t *testing.T) {
	earlier, now := time.Unix(1000, 0), time.Unix(2000, 0)
	tests := []struct {
		name      string
		aggregate string
		clusters  map[string]string
		status    corev1.ConditionStatus
		reason    string
		names     []string
	}{
		{name: "every cluster propagated", clusters: map[string]string{"b": "", "a": ""}, status: corev1.ConditionTrue, names: []string{"a", "b"}},
		{name: "nothing placed", clusters: map[string]string{}, status: corev1.ConditionTrue},
		{name: "one cluster failed", clusters: map[string]string{"a": "", "b": CreationFailed}, status: corev1.ConditionFalse, reason: CheckClusters, names: []string{"a", "b"}},
		{name: "an aggregate problem wins", aggregate: NamespaceNotFederated, clusters: map[string]string{}, status: corev1.ConditionFalse, reason: NamespaceNotFederated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desiredStatus(typesv1beta1.FederatedStatus{}, 3, tt.aggregate, tt.clusters, nil, nil, now)
			if got.ObservedGeneration != 3 {
				t.Errorf("observedGeneration %d", got.ObservedGeneration)
			}
			c := got.Conditions[0]
			if c.Type != PropagationCondition || c.Status != tt.status || c.Reason != tt.reason {
				t.Errorf("condition %+v, want %s %s", c, tt.status, tt.reason)
			}
			var names []string
			for _, cluster := range got.Clusters {
				names = append(names, cluster.Name)
				if cluster.Status != tt.clusters[cluster.Name] {
					t.Errorf("cluster %s: %q, want %q", cluster.Name, cluster.Status, tt.clusters[cluster.Name])
				}
			}
			if len(names) != len(tt.names) {
				t.Fatalf("clusters %v, want %v", names, tt.names)
			}
			for i := range names {
				if names[i] != tt.names[i] {
					t.Errorf("clusters %v, want %v (sorted)", names, tt.names)
				}
			}
		})
	}

	t.Run("times move only with what they time", func(t *testing.T) {
		ok := map[string]string{"a": ""}
		first := desiredStatus(typesv1beta1.FederatedStatus{}, 1, "", ok, nil, nil, earlier)
		same := desiredStatus(first, 1, "", ok, nil, nil, now)
		if statusChanged(first, same) {
			t.Errorf("an unchanged status counts as changed")
		}
		if same.Conditions[0] != first.Conditions[0] {
			t.Errorf("an unchanged condition got new times: %+v, was %+v", same.Conditions[0], first.Conditions[0])
		}
		failed := desiredStatus(first, 1, "", map[string]string{"a": UpdateFailed}, nil, nil, now)
		if !statusChanged(first, failed) {
			t.Errorf("a failed cluster does not count as a change")
		}
		if failed.Conditions[0].LastTransitionTime == first.Conditions[0].LastTransitionTime {
			t.Errorf("the transition to False kept the old transition time")
		}
		newGeneration := desiredStatus(first, 2, "", ok, nil, nil, now)
		if !statusChanged(first, newGeneration) {
			t.Errorf("a new observedGeneration does not count as a change")
		}
	})
}

func TestDesiredStatusRemoteStatus(t *testing.T) {
	now := time.Unix(1000, 0)
	placed := map[string]string{"a": "", "b": ""}
	remote := map[string]*typesv1beta1.JSON{"a": {Raw: []byte(`{"readyReplicas":3}`)}}
	first := desiredStatus(typesv1beta1.FederatedStatus{}, 1, "", placed, nil, remote, now)
	if got := string(first.Clusters[0].RemoteStatus.Raw); got != `{"readyReplicas":3}` {
		t.Errorf("cluster a's remote status %s", got)
	}
	if first.Clusters[1].RemoteStatus != nil {
		t.Errorf("cluster b, without status, got %s", first.Clusters[1].RemoteStatus.Raw)
	}
	changed := desiredStatus(first, 1, "", placed, nil, map[string]*typesv1beta1.JSON{"a": {Raw: []byte(`{"readyReplicas":2}`)}}, now)
	if !statusChanged(first, changed) {
		t.Errorf("a new remote status does not count as a change")
	}
}
