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

// capacityDeadline covers KubeFed's default threshold of 60s for which pods
// must stay unschedulable, and the rollouts before and after.
const capacityDeadline = 4 * time.Minute

// capacityManifest is a FederatedDeployment whose pods run only on the nodes
// this test adds (nodeSelector and toleration), and its preference: 6
// replicas weighted 2:1, without rebalance.
const capacityManifest = `apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: capacity, namespace: capacity}
spec:
  placement: {clusterSelector: {}}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: capacity}
spec:
  template:
    spec:
      replicas: 1
      selector: {matchLabels: {app: capacity-web}}
      template:
        metadata: {labels: {app: capacity-web}}
        spec:
          nodeSelector: {fedhub.io/e2e: capacity}
          tolerations: [{key: fedhub.io/e2e, operator: Equal, value: capacity, effect: NoSchedule}]
          containers: [{name: web, image: nginx}]
  placement:
    clusters: [{name: member-1}, {name: member-2}]
---
apiVersion: scheduling.kubefed.io/v1alpha1
kind: ReplicaSchedulingPreference
metadata: {name: web, namespace: capacity}
spec:
  targetKind: FederatedDeployment
  totalReplicas: 6
  clusters:
    member-1: {weight: 2}
    member-2: {weight: 1}
`

// TestReplicasFollowCapacity: member-1's nodes have room for 2 of the 4
// replicas the weights give it. Once its other 2 pods have been
// unschedulable for the threshold, they move to member-2 and every replica
// is Ready; the preference's status shows member-1's estimated capacity and
// why the replicas moved. When member-1's nodes get room again, the
// replicas stay without rebalance, and with rebalance the plan returns to
// 4:2.
func TestReplicasFollowCapacity(t *testing.T) {
	ctx := context.Background()
	f := workloads.get(t)
	host, members := workloads.kubeconfig("host"), workloads.kubeconfig("federation")
	waitDiscovers(t, host, "federatednamespaces", "federateddeployments")

	// Nodes of this test's own, tainted so that other tests' pods keep off
	// them: room for 2 pods in member-1, plenty in member-2.
	taint := corev1.Taint{Key: "fedhub.io/e2e", Value: "capacity", Effect: corev1.TaintEffectNoSchedule}
	nodes := map[*framework.Cluster]framework.KwokNode{
		f.Members[0]: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 2},
		f.Members[1]: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 10},
	}
	for member, node := range nodes {
		name := member.Name + "-capacity"
		t.Cleanup(func() {
			if err := member.DeleteKwokNode(ctx, name); err != nil {
				t.Error(err)
			}
		})
		if err := member.AddKwokNode(ctx, name, node); err != nil {
			t.Fatal(err)
		}
	}

	manifest := filepath.Join(t.TempDir(), "capacity.yaml")
	if err := os.WriteFile(manifest, []byte(capacityManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	mustKubectlAs(t, host, "create", "namespace", "capacity")
	t.Cleanup(func() {
		// The members' Deployments go with the FederatedDeployment.
		if _, errOut, err := kubectlAs(host, "delete", "-f", manifest, "--ignore-not-found", "--timeout=90s"); err != nil {
			t.Errorf("deleting the test's workload: %v\n%s", err, errOut)
		}
	})
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

	moved := t.Run("the replicas member-1 cannot run move to member-2", func(t *testing.T) {
		eventuallyWithin(t, capacityDeadline, "member-1 runs the 2 replicas it has room for", memberReplicas("member-1"), "2/2")
		eventuallyWithin(t, capacityDeadline, "member-2 runs the other 4", memberReplicas("member-2"), "4/4")
		eventually(t, "the preference reports the plan, why and member-1's capacity", preference,
			"member-1=2 member-2=4 ReplicasMoved capacity:member-1=2")
		mustKubectlAs(t, host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", "capacity", "--timeout=90s")
		ready := mustKubectlAs(t, host, "get", "federateddeployment", "web", "-n", "capacity", "-o", "jsonpath={.status.readyReplicas}")
		if ready != "6" {
			t.Errorf("the FederatedDeployment has %s ready replicas, want all 6", ready)
		}
		message := mustKubectlAs(t, host, "get", "rsp", "web", "-n", "capacity", "-o",
			`jsonpath={.status.conditions[?(@.type=="Scheduled")].message} {.status.estimatedCapacity[0].message}`)
		for _, want := range []string{"member-1 runs 2 of its preferred 4", "unschedulable for more than 1m0s", "Too many pods"} {
			if !strings.Contains(message, want) {
				t.Errorf("the preference's status says %q, want it to say %q", message, want)
			}
		}
	})

	if !moved {
		t.Fatal("the replicas did not move; room coming back would prove nothing")
	}
	t.Run("when member-1 has room again, rebalance returns the plan to 4:2", func(t *testing.T) {
		if err := f.Members[0].SetKwokNodePods(ctx, f.Members[0].Name+"-capacity", 10); err != nil {
			t.Fatal(err)
		}
		// Without rebalance, running replicas stay where they are, as in KubeFed.
		eventually(t, "the preference drops member-1's estimate and keeps the plan", preference, "member-1=2 member-2=4 Scheduled capacity:")
		mustKubectlAs(t, host, "patch", "rsp", "web", "-n", "capacity", "--type=merge", "-p", `{"spec":{"rebalance":true}}`)
		eventuallyWithin(t, capacityDeadline, "member-1 runs 4 replicas", memberReplicas("member-1"), "4/4")
		eventuallyWithin(t, capacityDeadline, "member-2 runs 2", memberReplicas("member-2"), "2/2")
		eventually(t, "the preference reports the 2:1 plan", preference, "member-1=4 member-2=2 Scheduled capacity:")
	})
}
