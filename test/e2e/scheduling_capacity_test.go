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
	"fmt"
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
// the capacity tests add (nodeSelector and toleration), and its preference:
// 6 replicas weighted 2:1 for short over roomy, without rebalance.
func capacityManifest(short, roomy string) string {
	return `apiVersion: types.kubefed.io/v1beta1
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
    clusters: [{name: ` + short + `}, {name: ` + roomy + `}]
---
apiVersion: scheduling.kubefed.io/v1alpha1
kind: ReplicaSchedulingPreference
metadata: {name: web, namespace: capacity}
spec:
  targetKind: FederatedDeployment
  totalReplicas: 6
  clusters:
    ` + short + `: {weight: 2}
    ` + roomy + `: {weight: 1}
`
}

// TestReplicasFollowCapacity: member-1's nodes have room for 2 of the 4
// replicas the weights give it. Once its other 2 pods have been
// unschedulable for the threshold, they move to member-2 and every replica
// is Ready; the preference's status shows member-1's estimated capacity and
// why the replicas moved. When member-1's nodes get room again, the
// replicas stay without rebalance, and with rebalance the plan returns to
// 4:2.
func TestReplicasFollowCapacity(t *testing.T) {
	f := workloads.get(t)
	checkReplicasFollowCapacity(t, workloads.kubeconfig("host"), workloads.kubeconfig("federation"), f.Members[0], f.Members[1])
}

// checkReplicasFollowCapacity is what both capacity tests check: short's
// nodes have room for 2 of the 4 replicas its weight gives it, roomy's for
// 10; host and members are kubeconfigs, members with a context per member.
func checkReplicasFollowCapacity(t *testing.T, host, members string, short, roomy *framework.Cluster) {
	ctx := context.Background()
	waitDiscovers(t, host, "federatednamespaces", "federateddeployments")

	// Nodes of this test's own, tainted so that other tests' pods keep off them.
	taint := corev1.Taint{Key: "fedhub.io/e2e", Value: "capacity", Effect: corev1.TaintEffectNoSchedule}
	nodes := map[*framework.Cluster]framework.KwokNode{
		short: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 2},
		roomy: {Labels: map[string]string{"fedhub.io/e2e": "capacity"}, Taints: []corev1.Taint{taint}, Pods: 10},
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
	if err := os.WriteFile(manifest, []byte(capacityManifest(short.Name, roomy.Name)), 0o644); err != nil {
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
	// plan is the preference's clusters as the status lists them, by name.
	plan := func(shortReplicas, roomyReplicas int) string {
		first, second := fmt.Sprintf("%s=%d", short.Name, shortReplicas), fmt.Sprintf("%s=%d", roomy.Name, roomyReplicas)
		if roomy.Name < short.Name {
			first, second = second, first
		}
		return first + " " + second
	}

	moved := t.Run(fmt.Sprintf("the replicas %s cannot run move to %s", short.Name, roomy.Name), func(t *testing.T) {
		eventuallyWithin(t, capacityDeadline, short.Name+" runs the 2 replicas it has room for", memberReplicas(short.Name), "2/2")
		eventuallyWithin(t, capacityDeadline, roomy.Name+" runs the other 4", memberReplicas(roomy.Name), "4/4")
		eventually(t, "the preference reports the plan, why and "+short.Name+"'s capacity", preference,
			plan(2, 4)+" ReplicasMoved capacity:"+short.Name+"=2")
		mustKubectlAs(t, host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", "capacity", "--timeout=90s")
		ready := mustKubectlAs(t, host, "get", "federateddeployment", "web", "-n", "capacity", "-o", "jsonpath={.status.readyReplicas}")
		if ready != "6" {
			t.Errorf("the FederatedDeployment has %s ready replicas, want all 6", ready)
		}
		message := mustKubectlAs(t, host, "get", "rsp", "web", "-n", "capacity", "-o",
			`jsonpath={.status.conditions[?(@.type=="Scheduled")].message} {.status.estimatedCapacity[0].message}`)
		for _, want := range []string{short.Name + " runs 2 of its preferred 4", "unschedulable for more than 1m0s", "Too many pods"} {
			if !strings.Contains(message, want) {
				t.Errorf("the preference's status says %q, want it to say %q", message, want)
			}
		}
	})

	if !moved {
		t.Fatal("the replicas did not move; room coming back would prove nothing")
	}
	t.Run(fmt.Sprintf("when %s has room again, rebalance returns the plan to 4:2", short.Name), func(t *testing.T) {
		if err := short.SetKwokNodePods(ctx, short.Name+"-capacity", 10); err != nil {
			t.Fatal(err)
		}
		// Without rebalance, running replicas stay where they are, as in KubeFed.
		eventually(t, "the preference drops "+short.Name+"'s estimate and keeps the plan", preference, plan(2, 4)+" Scheduled capacity:")
		mustKubectlAs(t, host, "patch", "rsp", "web", "-n", "capacity", "--type=merge", "-p", `{"spec":{"rebalance":true}}`)
		eventuallyWithin(t, capacityDeadline, short.Name+" runs 4 replicas", memberReplicas(short.Name), "4/4")
		eventuallyWithin(t, capacityDeadline, roomy.Name+" runs 2", memberReplicas(roomy.Name), "2/2")
		eventually(t, "the preference reports the 2:1 plan", preference, plan(4, 2)+" Scheduled capacity:")
	})
}
