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

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fedhub/fedhub/test/framework"
)

// TestReplicasFollowCapacityPull is TestReplicasFollowCapacity with the
// constrained member joined in pull mode, on a federation of its own
// (member-1 push, member-2 pull, both full members): fedhub holds no
// credential for member-2, so what it estimates there comes from what
// member-2's agent reports in the workload's Work and in its
// ClusterRegistration (docs/scheduling.md). member-2 has room for 2 of the
// 4 replicas its weight of 2 gives it; once the other 2 have been
// unschedulable for the threshold they move to member-1 and all 6 are
// Ready, the preference showing member-2's estimate. When member-2's node
// gets room again, its agent reports it, the estimate goes and rebalance
// returns the plan to 4:2.
func TestReplicasFollowCapacityPull(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	f, dir := startOwnPullFederation(t, "capacity-pull", framework.FederationOptions{})
	t.Logf("the federation with member-2 in pull mode was ready in %s", time.Since(start).Round(time.Second))
	host, members := filepath.Join(dir, "kubeconfigs", "host.kubeconfig"), filepath.Join(dir, "kubeconfigs", "federation.kubeconfig")
	if err := f.WriteKubeconfigs(filepath.Join(dir, "kubeconfigs")); err != nil {
		t.Fatal(err)
	}
	waitDiscovers(t, host, "federatednamespaces", "federateddeployments")
	pull, push := f.Members[1], f.Members[0]

	taint := corev1.Taint{Key: "fedhub.io/e2e", Value: "capacity", Effect: corev1.TaintEffectNoSchedule}
	nodes := map[*framework.Cluster]framework.KwokNode{
		pull: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 2},
		push: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 10},
	}
	for member, node := range nodes {
		if err := member.AddKwokNode(ctx, member.Name+"-capacity", node); err != nil {
			t.Fatal(err)
		}
	}

	// capacityManifest with the weights the other way round: the pull
	// member is the one the weights prefer.
	weights := "member-1: {weight: 2}\n    member-2: {weight: 1}"
	if !strings.Contains(capacityManifest, weights) {
		t.Fatalf("capacityManifest no longer weighs member-1: {weight: 2}, member-2: {weight: 1}")
	}
	manifest := filepath.Join(t.TempDir(), "capacity.yaml")
	pullFirst := strings.Replace(capacityManifest, weights, "member-1: {weight: 1}\n    member-2: {weight: 2}", 1)
	if err := os.WriteFile(manifest, []byte(pullFirst), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectlAs(t, host, "create", "namespace", "capacity")
	mustKubectlAs(t, host, "apply", "-f", manifest)

	memberReplicas := func(member string) func() (string, bool) {
		return func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", member, "get", "deployment", "web", "-n", "capacity", "-o",
				"jsonpath={.spec.replicas}/{.status.readyReplicas}")
			return out, err == nil
		}
	}
	preference := func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "rsp", "web", "-n", "capacity", "-o",
			`jsonpath={range .status.clusters[*]}{.name}={.replicas} {end}{.status.conditions[?(@.type=="Scheduled")].reason}`+
				` capacity:{range .status.estimatedCapacity[*]}{.name}={.replicas}{end}`)
		return strings.TrimSpace(out), err == nil
	}

	moved := t.Run("the replicas the pull member cannot run move to the push member", func(t *testing.T) {
		eventuallyWithin(t, capacityDeadline, "member-2 runs the 2 replicas it has room for", memberReplicas("member-2"), "2/2")
		eventuallyWithin(t, capacityDeadline, "member-1 runs the other 4", memberReplicas("member-1"), "4/4")
		eventually(t, "the preference reports the plan, why and member-2's capacity", preference,
			"member-1=4 member-2=2 ReplicasMoved capacity:member-2=2")
		mustKubectlAs(t, host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", "capacity", "--timeout=90s")
		ready := mustKubectlAs(t, host, "get", "federateddeployment", "web", "-n", "capacity", "-o", "jsonpath={.status.readyReplicas}")
		if ready != "6" {
			t.Errorf("the FederatedDeployment has %s ready replicas, want all 6", ready)
		}
		message := mustKubectlAs(t, host, "get", "rsp", "web", "-n", "capacity", "-o",
			`jsonpath={.status.conditions[?(@.type=="Scheduled")].message} {.status.estimatedCapacity[0].message}`)
		for _, want := range []string{"member-2 runs 2 of its preferred 4", "unschedulable for more than 1m0s", "Too many pods"} {
			if !strings.Contains(message, want) {
				t.Errorf("the preference's status says %q, want it to say %q", message, want)
			}
		}
	})

	if !moved {
		t.Fatal("the replicas did not move; room coming back would prove nothing")
	}
	t.Run("when the pull member has room again, its agent says so and rebalance returns the plan to 4:2", func(t *testing.T) {
		if err := pull.SetKwokNodePods(ctx, pull.Name+"-capacity", 10); err != nil {
			t.Fatal(err)
		}
		// Without rebalance, running replicas stay where they are, as in KubeFed.
		eventually(t, "the preference drops member-2's estimate and keeps the plan", preference, "member-1=4 member-2=2 Scheduled capacity:")
		mustKubectlAs(t, host, "patch", "rsp", "web", "-n", "capacity", "--type=merge", "-p", `{"spec":{"rebalance":true}}`)
		eventuallyWithin(t, capacityDeadline, "member-2 runs 4 replicas", memberReplicas("member-2"), "4/4")
		eventuallyWithin(t, capacityDeadline, "member-1 runs 2", memberReplicas("member-1"), "2/2")
		eventually(t, "the preference reports the 2:1 plan", preference, "member-1=2 member-2=4 Scheduled capacity:")
	})
}
