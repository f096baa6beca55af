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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/test/objects"
)

func TestSummarize(t *testing.T) {
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	tests := []struct {
		name    string
		target  schema.GroupVersionKind
		members map[string]string // cluster → member object YAML; "" for not propagated
		want    replicaCounts
		ready   bool
		reason  string
	}{
		{name: "rolled out in both", target: deployment, members: map[string]string{
			"a": deploymentYAML(3, 2, 3, 3, 3, 3), "b": deploymentYAML(3, 1, 1, 3, 3, 3)},
			want: replicaCounts{desired: 6, ready: 6, available: 6, updated: 6}, ready: true, reason: ReplicasReady},
		{name: "one still rolling", target: deployment, members: map[string]string{
			"a": deploymentYAML(3, 2, 2, 3, 3, 3), "b": deploymentYAML(3, 1, 1, 1, 1, 3)},
			want: replicaCounts{desired: 6, ready: 4, available: 4, updated: 6}, reason: ReplicasNotReady},
		{name: "status of an older generation", target: deployment, members: map[string]string{
			"a": deploymentYAML(3, 2, 1, 3, 3, 3)},
			want: replicaCounts{desired: 3, ready: 3, available: 3, updated: 3}, reason: ReplicasNotReady},
		{name: "one cluster not propagated", target: deployment, members: map[string]string{
			"a": deploymentYAML(3, 1, 1, 3, 3, 3), "b": ""},
			want: replicaCounts{desired: 3, ready: 3, available: 3, updated: 3}, reason: NotPropagated},
		{name: "a daemon set", target: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, members: map[string]string{
			"a": "metadata: {generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 2, numberReady: 2, numberAvailable: 2, updatedNumberScheduled: 2}"},
			want: replicaCounts{desired: 2, ready: 2, available: 2, updated: 2}, ready: true, reason: ReplicasReady},
		{name: "a job counts succeeded completions", target: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, members: map[string]string{
			"a": "spec: {completions: 2}\nstatus: {succeeded: 1}", "b": "status: {succeeded: 1}"},
			want: replicaCounts{desired: 3, ready: 2, available: 2, updated: 2}, reason: ReplicasNotReady},
		{name: "replicas default to one", target: deployment, members: map[string]string{
			"a": "metadata: {generation: 1}\nstatus: {observedGeneration: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1}"},
			want: replicaCounts{desired: 1, ready: 1, available: 1, updated: 1}, ready: true, reason: ReplicasReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members := map[string]*unstructured.Unstructured{}
			for cluster, manifest := range tt.members {
				members[cluster] = nil
				if manifest != "" {
					members[cluster] = objects.FromYAML(t, manifest)
				}
			}
			got := summarize(tt.target, members)
			if got.total.desired != tt.want.desired || got.total.ready != tt.want.ready ||
				got.total.available != tt.want.available || got.total.updated != tt.want.updated {
				t.Errorf("counts %+v, want %+v", got.total, tt.want)
			}
			if got.ready != tt.ready || got.reason() != tt.reason {
				t.Errorf("ready %v (%s), want %v (%s)", got.ready, got.reason(), tt.ready, tt.reason)
			}
		})
	}
}

// deploymentYAML is a member Deployment with spec.replicas, metadata.generation,
// status.observedGeneration and the ready, available and updated counts.
func deploymentYAML(replicas, generation, observed, ready, available, updated int) string {
	return "metadata: {generation: " + itoa(generation) + "}\nspec: {replicas: " + itoa(replicas) + "}\nstatus: {observedGeneration: " +
		itoa(observed) + ", readyReplicas: " + itoa(ready) + ", availableReplicas: " + itoa(available) + ", updatedReplicas: " + itoa(updated) + "}"
}

func itoa(n int) string {
	return string(rune('0' + n))
}
