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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestReplicaScheduling: KubeFed's ReplicaSchedulingPreference example,
// applied with kubectl next to its FederatedDeployment, spreads 6 replicas
// 2:1 over two members whose nodes run the pods; when one member goes down
// its replicas move to the other, and when it comes back with rebalance the
// 2:1 split returns.
func TestReplicaScheduling(t *testing.T) {
	ctx := context.Background()
	f := workloads.get(t)
	host, members := workloads.kubeconfig("host"), workloads.kubeconfig("federation")
	configureHealthCheck(t, f)
	waitDiscovers(t, host, "federatednamespaces", "federateddeployments")
	mustKubectlAs(t, host, "create", "namespace", "scheduling")
	mustKubectlAs(t, host, "apply", "-n", "scheduling", "-f", "testdata/scheduling/rsp.yaml", "-f", "testdata/scheduling/test-deployment.yaml")

	memberReplicas := func(member string) func() (string, bool) {
		return func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", member, "get", "deployment", "test-deployment", "-n", "scheduling", "-o",
				"jsonpath={.spec.replicas}/{.status.readyReplicas}")
			return out, err == nil
		}
	}
	plan := func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "rsp", "test-deployment", "-n", "scheduling", "-o",
			`jsonpath={range .status.clusters[*]}{.name}={.replicas} {end}{.status.conditions[?(@.type=="Scheduled")].reason}`)
		return strings.TrimSpace(out), err == nil
	}
	eventuallyWithin(t, crdDeadline, "member-1 runs 4 replicas", memberReplicas("member-1"), "4/4")
	eventuallyWithin(t, crdDeadline, "member-2 runs 2 replicas", memberReplicas("member-2"), "2/2")
	eventually(t, "the preference reports its plan", plan, "member-1=4 member-2=2 Scheduled")
	table := mustKubectlAs(t, host, "get", "rsp", "-n", "scheduling")
	assertColumns(t, table, "NAME", "AGE", "TARGET-KIND", "TOTAL", "PLAN")
	if !strings.Contains(table, "member-1=4,member-2=2") {
		t.Errorf("the table does not show the plan:\n%s", table)
	}
	placement := mustKubectlAs(t, host, "get", "federateddeployment", "test-deployment", "-n", "scheduling", "-o",
		`jsonpath={.spec.placement.clusters[*].name} {.spec.overrides[*].clusterOverrides[*].value}`)
	if placement != "member-1 member-2 4 2" {
		t.Errorf("the FederatedDeployment's placement and overrides: %q, want the plan", placement)
	}

	// The federation is shared with other tests: member-2 must end up running.
	memberDown := false
	t.Cleanup(func() {
		if memberDown {
			if err := f.Members[1].StartAPIServer(ctx); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("a member going down loses its replicas to the other", func(t *testing.T) {
		f.Members[1].StopAPIServer()
		memberDown = true
		waitForHealth(t, f, "member-2", corev1beta1.ClusterReady, corev1.ConditionFalse, "ClusterNotReachable")
		eventuallyWithin(t, crdDeadline, "member-1 runs all 6 replicas", memberReplicas("member-1"), "6/6")
		eventually(t, "the preference reports the new plan", plan, "member-1=6 Scheduled")
	})

	t.Run("with rebalance the 2:1 split returns when the member is back", func(t *testing.T) {
		if !memberDown {
			t.Fatal("member-2 was not stopped by the previous step")
		}
		mustKubectlAs(t, host, "patch", "rsp", "test-deployment", "-n", "scheduling", "--type=merge", "-p", `{"spec":{"rebalance":true}}`)
		if err := f.Members[1].StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		memberDown = false
		waitForHealth(t, f, "member-2", corev1beta1.ClusterReady, corev1.ConditionTrue, "ClusterReady")
		eventuallyWithin(t, crdDeadline, "member-1 is back to 4 replicas", memberReplicas("member-1"), "4/4")
		eventuallyWithin(t, crdDeadline, "member-2 runs 2 replicas again", memberReplicas("member-2"), "2/2")
		eventually(t, "the preference reports the 2:1 plan", plan, "member-1=4 member-2=2 Scheduled")
	})
}
