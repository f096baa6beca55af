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

// hostDiscoveryTimeout bounds how long the host's aggregator may take to learn
// of a new federated type: it refreshes fedhub's discovery about every minute.
const hostDiscoveryTimeout = 3 * time.Minute

// TestFederatedDeploymentThroughHost: KubeFed's FederatedDeployment manifest,
// unchanged, applies through the host with plain kubectl and reads back with
// its template, placement and overrides intact.
func TestFederatedDeploymentThroughHost(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	// deployments.apps is federated from the first start, as in KubeFed.
	var lastErr string
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, hostDiscoveryTimeout, true, func(context.Context) (bool, error) {
		out, errOut, err := kubectlAs(host, "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		lastErr = errOut
		return err == nil && strings.Contains(out, "federateddeployments.types.kubefed.io"), nil
	})
	if err != nil {
		t.Fatalf("the host's discovery did not list federateddeployments within %s: %s", hostDiscoveryTimeout, lastErr)
	}

	mustKubectlAs(t, host, "create", "namespace", "kubefed-users")
	out := mustKubectlAs(t, host, "apply", "-n", "kubefed-users", "-f", "testdata/kubefed/federateddeployment.yaml")
	if !strings.Contains(out, "federateddeployment.types.kubefed.io/test-deployment created") {
		t.Errorf("kubectl apply printed %q", out)
	}
	got := mustKubectlAs(t, host, "get", "federateddeployment", "test-deployment", "-n", "kubefed-users", "-o",
		`jsonpath={.spec.template.metadata.name} {.spec.template.spec.replicas} {.spec.template.spec.template.spec.containers[0].image} {.spec.placement.clusters[0].name} {.spec.overrides[0].clusterName} {.spec.overrides[0].clusterOverrides[0].path}={.spec.overrides[0].clusterOverrides[0].value}`)
	if want := "mynginx 3 nginx:latest member-1 member-1 /spec/replicas=1"; got != want {
		t.Errorf("read back %q, want %q", got, want)
	}
	// kubefed-users has no FederatedNamespace: nothing is propagated, and the status says why.
	eventually(t, "the status says the namespace is not federated", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federateddeployment", "test-deployment", "-n", "kubefed-users", "-o",
			`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.conditions[?(@.type=="Propagation")].reason}`)
		return out, err == nil
	}, "False NamespaceNotFederated")
	table := mustKubectlAs(t, host, "get", "federateddeployments", "-n", "kubefed-users", "-o", "wide")
	assertColumns(t, table, "NAME", "READY", "AGE", "PROPAGATION", "REASON", "CLUSTERS")
	if !strings.Contains(table, "member-1") {
		t.Errorf("the wide table does not show the placed cluster:\n%s", table)
	}
	mustKubectlAs(t, host, "delete", "-n", "kubefed-users", "-f", "testdata/kubefed/federateddeployment.yaml")

	// The template is a Deployment: kubectl's strict field validation and the
	// Deployment schema hold through the aggregated path too.
	_, errOut, err := kubectlAs(host, "apply", "-n", "kubefed-users", "-f", "testdata/kubefed/federateddeployment-bad-template.yaml")
	if err == nil || !strings.Contains(errOut, "spec.template.spec.replicas") {
		t.Errorf("a template with replicas as text: err=%v, stderr=%s", err, errOut)
	}
}

// TestCRDTargetThroughHost: a type the host serves through a CRD is federated
// with a plain FTC, and its templates are checked against the CRD's schema.
func TestCRDTargetThroughHost(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	mustKubectlAs(t, host, "apply", "-f", "testdata/widgets/crd.yaml")
	mustKubectlAs(t, host, "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=60s")
	mustKubectlAs(t, host, "apply", "-f", "testdata/widgets/federatedtypeconfig.yaml")

	var lastErr string
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, hostDiscoveryTimeout, true, func(context.Context) (bool, error) {
		out, errOut, err := kubectlAs(host, "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		lastErr = errOut
		return err == nil && strings.Contains(out, "federatedwidgets.types.kubefed.io"), nil
	})
	if err != nil {
		t.Fatalf("the host's discovery did not list federatedwidgets within %s: %s", hostDiscoveryTimeout, lastErr)
	}

	out, errOut, err := kubectlAs(host, "apply", "-n", "default", "-f", "testdata/widgets/federatedwidget.yaml")
	if err != nil || !strings.Contains(out, "federatedwidget.types.kubefed.io/small created") {
		t.Errorf("applying a valid FederatedWidget: %v\n%s%s", err, out, errOut)
	}
	if strings.Contains(errOut, "unknown") {
		t.Errorf("a CRD target's template was stored unchecked: %s", errOut)
	}
	_, errOut, err = kubectlAs(host, "apply", "-n", "default", "-f", "testdata/widgets/federatedwidget-bad.yaml")
	if err == nil || !strings.Contains(errOut, "spec.template.spec.size") {
		t.Errorf("a template against the CRD's minimum: err=%v, stderr=%s", err, errOut)
	}
	mustKubectlAs(t, host, "delete", "-n", "default", "-f", "testdata/widgets/federatedwidget.yaml")
	mustKubectlAs(t, host, "delete", "-f", "testdata/widgets/federatedtypeconfig.yaml")
}
