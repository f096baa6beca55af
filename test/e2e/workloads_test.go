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
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFederatedDeploymentRollsOut: on members whose simulated nodes run pods,
// a FederatedDeployment of 3 replicas on two clusters reports READY 6/6 like
// a Deployment does, and kubectl wait on its Ready condition returns once
// both members have rolled it out.
func TestFederatedDeploymentRollsOut(t *testing.T) {
	workloads.get(t)
	host, members := workloads.kubeconfig("host"), workloads.kubeconfig("federation")

	waitDiscovers(t, host, "federatednamespaces", "federateddeployments")
	mustKubectlAs(t, host, "create", "namespace", "shop")
	mustKubectlAs(t, host, "apply", "-f", "testdata/propagation/workload.yaml")
	mustKubectlAs(t, host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", "shop", "--timeout=180s")

	for _, member := range []string{"member-1", "member-2"} {
		ready := mustKubectlAs(t, members, "--context", member, "get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.status.readyReplicas}")
		if ready != "3" {
			t.Errorf("%s's Deployment has %q ready replicas, want 3", member, ready)
		}
	}
	table := mustKubectlAs(t, host, "get", "federateddeployments", "-n", "shop")
	assertColumns(t, table, "NAME", "READY", "AGE", "PROPAGATION", "REASON")
	if !regexp.MustCompile(`(?m)^web\s+6/6\s+\S+\s+True\s*$`).MatchString(table) {
		t.Errorf("the table does not show 6/6 ready and propagated:\n%s", table)
	}
	status := mustKubectlAs(t, host, "get", "federateddeployment/web", "-n", "shop", "-o",
		"jsonpath={.status.replicas} {.status.readyReplicas} {.status.availableReplicas} {.status.updatedReplicas}")
	if status != "6 6 6 6" {
		t.Errorf("aggregated status %q, want 6 6 6 6", status)
	}

	// With status collection, each cluster's entry carries its object's status.
	mustKubectlAs(t, host, "patch", "federatedtypeconfig", "deployments.apps", "-n", "kube-federation-system", "--type=merge", "-p", `{"spec":{"statusCollection":"Enabled"}}`)
	eventually(t, "each cluster reports its Deployment's status", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federateddeployment/web", "-n", "shop", "-o", "jsonpath={.status.clusters[*].remoteStatus.readyReplicas}")
		return out, err == nil
	}, "3 3")

	t.Run("a disabled type is not propagated until enabled again", func(t *testing.T) {
		typeController := func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedtypeconfig", "deployments.apps", "-n", "kube-federation-system", "-o",
				"jsonpath={.status.propagationController} {.status.observedGeneration} {.metadata.generation}")
			state, generations, _ := strings.Cut(out, " ")
			observed, generation, _ := strings.Cut(generations, " ")
			return state, err == nil && observed == generation
		}
		setPropagation := func(value string) {
			mustKubectlAs(t, host, "patch", "federatedtypeconfig", "deployments.apps", "-n", "kube-federation-system", "--type=merge", "-p",
				`{"spec":{"propagation":"`+value+`"}}`)
		}
		memberReplicas := func(member string) func() (string, bool) {
			return func() (string, bool) {
				out, _, err := kubectlAs(members, "--context", member, "get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}")
				return out, err == nil
			}
		}
		eventually(t, "the FederatedTypeConfig reports its controller running", typeController, "Running")
		setPropagation("Disabled")
		eventually(t, "the FederatedTypeConfig reports its controller stopped", typeController, "NotRunning")
		mustKubectlAs(t, host, "patch", "federateddeployment", "web", "-n", "shop", "--type=merge", "-p", `{"spec":{"template":{"spec":{"replicas":4}}}}`)
		consistently(t, 5*time.Second, "member-1 keeps its Deployment while the type is disabled", memberReplicas("member-1"), "3")
		setPropagation("Enabled")
		eventually(t, "the FederatedTypeConfig reports its controller running again", typeController, "Running")
		for _, member := range []string{"member-1", "member-2"} {
			eventually(t, member+" gets the change made while the type was disabled", memberReplicas(member), "4")
		}
	})

	t.Run("kubefed.io/deleteoption is used to delete the member objects", func(t *testing.T) {
		mustKubectlAs(t, host, "annotate", "federateddeployment", "web", "-n", "shop", `kubefed.io/deleteoption={"propagationPolicy":"Orphan"}`)
		mustKubectlAs(t, host, "delete", "federateddeployment", "web", "-n", "shop", "--timeout=90s")
		for _, member := range []string{"member-1", "member-2"} {
			eventually(t, member+"'s Deployment is deleted, its ReplicaSet orphaned", func() (string, bool) {
				_, errOut, err := kubectlAs(members, "--context", member, "get", "deployment", "web", "-n", "shop")
				if err == nil || !strings.Contains(errOut, "NotFound") {
					return "the Deployment still exists", false
				}
				out, _, err := kubectlAs(members, "--context", member, "get", "replicasets", "-n", "shop", "-l", "app=web", "-o",
					`jsonpath={range .items[*]}{.metadata.name} owners={.metadata.ownerReferences}{"\n"}{end}`)
				if out == "" {
					return "no ReplicaSet of web is left", false
				}
				return strings.TrimSpace(out), err == nil && !strings.Contains(out, "owners=[")
			}, "")
		}
	})
}
