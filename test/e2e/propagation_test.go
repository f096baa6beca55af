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
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// propagationDeadline bounds every wait for members to follow a change.
const propagationDeadline = 90 * time.Second

// TestPropagation: federated objects applied with kubectl through the host
// appear in the placed members with overrides applied, report their clusters
// in status, are restored when edited in a member, follow placement changes
// and are deleted with the federated object.
func TestPropagation(t *testing.T) {
	sharedFederation(t)
	host, members := hostKubeconfig(), federationKubeconfig()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps", "federatedsecrets")
	mustKubectlAs(t, host, "create", "namespace", "propagation-e2e")
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", "propagation-e2e", "--wait=false") })
	mustKubectlAs(t, host, "apply", "-f", "testdata/propagation/federated.yaml")

	memberGet := func(member string, args ...string) func() (string, bool) {
		return func() (string, bool) {
			out, _, err := kubectlAs(members, append([]string{"--context", member, "get"}, args...)...)
			return strings.TrimSpace(out), err == nil
		}
	}
	for member, color := range map[string]string{"member-1": "blue", "member-2": "red"} {
		eventually(t, member+" has the ConfigMap with its color and the managed label",
			memberGet(member, "configmap", "settings", "-n", "propagation-e2e", "-o", `jsonpath={.data.color} {.metadata.labels.app} {.metadata.labels.kubefed\.io/managed}`),
			color+" shop true")
		eventually(t, member+" has the Secret", memberGet(member, "secret", "credentials", "-n", "propagation-e2e", "-o", "jsonpath={.data.password}"), "czNjcmV0")
	}
	eventually(t, "the FederatedConfigMap reports both clusters propagated", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federatedconfigmap", "settings", "-n", "propagation-e2e", "-o",
			`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.clusters[*].name} {.status.observedGeneration}`)
		return out, err == nil
	}, "True member-1 member-2 1")
	table := mustKubectlAs(t, host, "get", "federatedconfigmaps", "-n", "propagation-e2e")
	if !strings.Contains(table, "True") {
		t.Errorf("the table does not show the propagation:\n%s", table)
	}

	t.Run("an edit in a member is corrected", func(t *testing.T) {
		mustKubectlAs(t, members, "--context", "member-1", "patch", "configmap", "settings", "-n", "propagation-e2e", "--type=merge", "-p", `{"data":{"color":"green"}}`)
		eventually(t, "member-1's ConfigMap is restored", memberGet("member-1", "configmap", "settings", "-n", "propagation-e2e", "-o", "jsonpath={.data.color}"), "blue")
		eventually(t, "the correction is recorded", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "events", "-n", "propagation-e2e", "--field-selector", "reason=DriftCorrected", "-o", "jsonpath={.items[*].message}")
			return out, err == nil && strings.Contains(out, "member-1")
		}, "")
	})

	t.Run("a cluster taken out of the placement loses the object, only there", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federatedconfigmap", "settings", "-n", "propagation-e2e", "--type=merge", "-p", `{"spec":{"placement":{"clusters":[{"name":"member-1"}]}}}`)
		eventually(t, "member-2's ConfigMap is deleted", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-2", "get", "configmap", "settings", "-n", "propagation-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
		if out, ok := memberGet("member-1", "configmap", "settings", "-n", "propagation-e2e", "-o", "name")(); !ok || out != "configmap/settings" {
			t.Errorf("member-1 lost its ConfigMap: %q", out)
		}
	})

	t.Run("deleting the federated object deletes the member objects", func(t *testing.T) {
		mustKubectlAs(t, host, "delete", "federatedconfigmap", "settings", "-n", "propagation-e2e", "--timeout=60s")
		eventually(t, "member-1's ConfigMap is deleted", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-1", "get", "configmap", "settings", "-n", "propagation-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
	})

	t.Run("with kubefed.io/orphan the member objects stay, unmanaged", func(t *testing.T) {
		mustKubectlAs(t, host, "annotate", "federatedsecret", "credentials", "-n", "propagation-e2e", "kubefed.io/orphan=true")
		mustKubectlAs(t, host, "delete", "federatedsecret", "credentials", "-n", "propagation-e2e", "--timeout=60s")
		for _, member := range []string{"member-1", "member-2"} {
			eventually(t, member+" keeps the Secret without the managed label",
				memberGet(member, "secret", "credentials", "-n", "propagation-e2e", "-o", `jsonpath={.data.password} managed={.metadata.labels.kubefed\.io/managed}`),
				"czNjcmV0 managed=")
		}
	})
}

// waitHostDiscovers waits until the host's discovery lists the federated resources.
func waitHostDiscovers(t *testing.T, resources ...string) {
	t.Helper()
	eventuallyWithin(t, hostDiscoveryTimeout, "the host's discovery lists "+strings.Join(resources, ", "), func() (string, bool) {
		out, _, err := kubectlAs(hostKubeconfig(), "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		for _, resource := range resources {
			if !strings.Contains(out, resource+".types.kubefed.io") {
				return "", false
			}
		}
		return "", err == nil
	}, "")
}

// eventually polls get until it succeeds with want (any output when want is
// empty), or fails the test after propagationDeadline.
func eventually(t *testing.T, what string, get func() (string, bool), want string) {
	t.Helper()
	eventuallyWithin(t, propagationDeadline, what, get, want)
}

func eventuallyWithin(t *testing.T, deadline time.Duration, what string, get func() (string, bool), want string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, deadline, true, func(context.Context) (bool, error) {
		out, ok := get()
		last = out
		return ok && (want == "" || out == want), nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s; last saw %q, want %q", what, deadline, last, want)
	}
}
