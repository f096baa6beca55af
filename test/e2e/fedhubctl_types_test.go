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
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"
)

// gadgetCRD is a type only member-1 serves: enable must find it there.
const gadgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.e2e.fedhub.io
spec:
  group: e2e.fedhub.io
  names: {kind: Gadget, plural: gadgets, singular: gadget, shortNames: [gdg]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`

// federatedGadget is placed nowhere: member-2 does not serve gadgets.
const federatedGadget = `apiVersion: types.kubefed.io/v1beta1
kind: FederatedGadget
metadata:
  name: fedhubctl-gadget
  namespace: default
spec:
  template:
    spec: {size: 3}
  placement:
    clusters: []
`

// TestFedhubctlEnableRefuses: types that cannot be federated are refused with
// a reason, and kubectl's ways of naming a type all find an enabled one.
func TestFedhubctlEnableRefuses(t *testing.T) {
	sharedFederation(t)
	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"enable", "nosuchthings"}, `serve a resource type "nosuchthings"`},
		{[]string{"enable", "kubefedclusters"}, "fedhub's own API"},
		{[]string{"enable", "federateddeployments"}, "fedhub's own API"},
		{[]string{"enable", "deployments/scale"}, "subresource"},
		{[]string{"enable", "tokenreviews"}, "cannot be federated"},
		{[]string{"disable", "nosuchthings"}, `no FederatedTypeConfig matches "nosuchthings"`},
	}
	for _, refusal := range refusals {
		_, errOut, err := typesCtl(refusal.args...)
		if err == nil || !strings.Contains(errOut, refusal.want) {
			t.Errorf("fedhubctl %s: err=%v, stderr=%q, want it to contain %q", strings.Join(refusal.args, " "), err, errOut, refusal.want)
		}
	}
	// deployments.apps is enabled from the first start.
	for _, name := range []string{"deployments", "deployment", "deploy", "Deployment", "deployments.apps", "deployments.v1.apps"} {
		out := mustTypesCtl(t, "enable", name)
		if !strings.Contains(out, "FederatedTypeConfig kube-federation-system/deployments.apps already exists") {
			t.Errorf("fedhubctl enable %s printed %q", name, out)
		}
	}
}

// TestFedhubctlMemberOnlyType: a CRD only a member serves is enabled, its
// federated kind becomes reachable through the host, orphaning deletion is
// switched on and off, and disabling is refused until its objects are gone.
func TestFedhubctlMemberOnlyType(t *testing.T) {
	sharedFederation(t)
	kubeconfig := federationKubeconfig()
	dir := t.TempDir()
	crd := writeCtlTestFile(t, dir, "crd.yaml", gadgetCRD)
	gadget := writeCtlTestFile(t, dir, "gadget.yaml", federatedGadget)
	mustKubectlAs(t, kubeconfig, "--context", "member-1", "apply", "-f", crd)
	t.Cleanup(func() {
		_, _, _ = kubectlAs(kubeconfig, "delete", "--ignore-not-found", "-f", gadget)
		_, _, _ = kubectlAs(kubeconfig, "delete", "--ignore-not-found", "federatedtypeconfig", "gadgets.e2e.fedhub.io", "-n", "kube-federation-system")
		_, _, _ = kubectlAs(kubeconfig, "--context", "member-1", "delete", "--ignore-not-found", "-f", crd)
	})
	mustKubectlAs(t, kubeconfig, "--context", "member-1", "wait", "--for=condition=Established", "crd/gadgets.e2e.fedhub.io", "--timeout=60s")

	out := mustTypesCtl(t, "enable", "gadgets", "--dry-run")
	if !strings.Contains(out, "(dry run)") {
		t.Errorf("a dry run printed %q", out)
	}
	if _, _, err := kubectlAs(kubeconfig, "get", "federatedtypeconfig", "gadgets.e2e.fedhub.io", "-n", "kube-federation-system"); err == nil {
		t.Fatal("a dry run created the FederatedTypeConfig")
	}
	out = mustTypesCtl(t, "enable", "gadgets")
	if want := `FederatedTypeConfig kube-federation-system/gadgets.e2e.fedhub.io created: Gadget (e2e.fedhub.io/v1, served by cluster "member-1")`; !strings.Contains(out, want) {
		t.Errorf("fedhubctl enable printed %q, want %q", out, want)
	}
	spec := mustKubectlAs(t, kubeconfig, "get", "federatedtypeconfig", "gadgets.e2e.fedhub.io", "-n", "kube-federation-system", "-o",
		"jsonpath={.spec.targetType.group}/{.spec.targetType.version} {.spec.targetType.kind} {.spec.targetType.pluralName} {.spec.targetType.scope} "+
			"{.spec.federatedType.group}/{.spec.federatedType.version} {.spec.federatedType.kind} {.spec.federatedType.pluralName} {.spec.federatedType.scope} {.spec.propagation}")
	if want := "e2e.fedhub.io/v1 Gadget gadgets Namespaced types.kubefed.io/v1beta1 FederatedGadget federatedgadgets Namespaced Enabled"; spec != want {
		t.Errorf("the FederatedTypeConfig's spec is %q, want %q", spec, want)
	}
	if out := mustTypesCtl(t, "enable", "Gadget"); !strings.Contains(out, "already exists") {
		t.Errorf("enabling again printed %q", out)
	}

	waitForHostResource(t, kubeconfig, "federatedgadgets")
	mustKubectlAs(t, kubeconfig, "apply", "-f", gadget)
	orphaningRoundTrip(t, "gadget", "fedhubctl-gadget", "default", "FederatedGadget default/fedhubctl-gadget")

	_, errOut, err := typesCtl("disable", "gadgets")
	if err == nil || !strings.Contains(errOut, "default/fedhubctl-gadget") || !strings.Contains(errOut, "--delete-federated-objects") {
		t.Errorf("disabling a type with objects: err=%v, stderr=%q", err, errOut)
	}
	out = mustTypesCtl(t, "disable", "FederatedGadget", "--delete-federated-objects", "--dry-run")
	if !strings.Contains(out, "FederatedGadget default/fedhubctl-gadget deleted (dry run)") || !strings.Contains(out, "gadgets.e2e.fedhub.io deleted (dry run)") {
		t.Errorf("a dry run of disable printed %q", out)
	}
	mustKubectlAs(t, kubeconfig, "get", "federatedgadget", "fedhubctl-gadget", "-n", "default")
	// gdg is a short name only member-1's discovery knows.
	out = mustTypesCtl(t, "disable", "gdg", "--delete-federated-objects")
	for _, want := range []string{"FederatedGadget default/fedhubctl-gadget deleted", "FederatedTypeConfig kube-federation-system/gadgets.e2e.fedhub.io deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("fedhubctl disable printed %q, want %q", out, want)
		}
	}
	_, errOut, err = kubectlAs(kubeconfig, "get", "federatedtypeconfig", "gadgets.e2e.fedhub.io", "-n", "kube-federation-system")
	if err == nil || !strings.Contains(errOut, "NotFound") {
		t.Errorf("the FederatedTypeConfig is still there: err=%v, stderr=%q", err, errOut)
	}
}

// TestFedhubctlFederateService: a NodePort Service is federated without what
// the host allocated for it, placed in every cluster.
func TestFedhubctlFederateService(t *testing.T) {
	sharedFederation(t)
	kubeconfig := federationKubeconfig()
	const namespace = "fedhubctl-service"
	mustKubectlAs(t, kubeconfig, "create", "namespace", namespace)
	t.Cleanup(func() {
		_, _, _ = kubectlAs(kubeconfig, "delete", "federatedservice", "web", "-n", namespace, "--ignore-not-found")
		_, _, _ = kubectlAs(kubeconfig, "delete", "namespace", namespace, "--wait=false")
	})
	mustKubectlAs(t, kubeconfig, "create", "service", "nodeport", "web", "-n", namespace, "--tcp=80:8080")
	mustKubectlAs(t, kubeconfig, "annotate", "service", "web", "-n", namespace, "team=shop")
	allocated := mustKubectlAs(t, kubeconfig, "get", "service", "web", "-n", namespace, "-o", "jsonpath={.spec.clusterIP} {.spec.ports[0].nodePort}")
	if strings.Contains(allocated, "<none>") || len(strings.Fields(allocated)) != 2 {
		t.Fatalf("the host did not allocate a cluster IP and node port: %q", allocated)
	}

	printed := mustTypesCtl(t, "federate", "service", "web", "-n", namespace, "-o", "yaml")
	for _, field := range []string{"clusterIP", "nodePort", "uid", "resourceVersion", "creationTimestamp", "status"} {
		if strings.Contains(printed, field) {
			t.Errorf("the federated Service carries %s:\n%s", field, printed)
		}
	}
	var federated struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct{ Name, Namespace string }
		Spec       struct {
			Placement map[string]map[string]any `json:"placement"`
			Template  struct {
				Metadata struct{ Annotations map[string]string }
				Spec     struct {
					Type  string
					Ports []map[string]any
				}
			}
		}
	}
	if err := yaml.Unmarshal([]byte(printed), &federated); err != nil {
		t.Fatalf("fedhubctl federate -o yaml printed what is not YAML: %v\n%s", err, printed)
	}
	if federated.APIVersion != "types.kubefed.io/v1beta1" || federated.Kind != "FederatedService" ||
		federated.Metadata.Name != "web" || federated.Metadata.Namespace != namespace {
		t.Errorf("printed %s %s %s/%s", federated.APIVersion, federated.Kind, federated.Metadata.Namespace, federated.Metadata.Name)
	}
	if selector, ok := federated.Spec.Placement["clusterSelector"]; !ok || len(selector) != 0 || len(federated.Spec.Placement) != 1 {
		t.Errorf("placement is %v, want clusterSelector: {}", federated.Spec.Placement)
	}
	if federated.Spec.Template.Spec.Type != "NodePort" || len(federated.Spec.Template.Spec.Ports) != 1 || federated.Spec.Template.Metadata.Annotations["team"] != "shop" {
		t.Errorf("template is %+v", federated.Spec.Template)
	}
	if _, _, err := kubectlAs(kubeconfig, "get", "federatedservice", "web", "-n", namespace); err == nil {
		t.Error("-o yaml created the federated object")
	}

	if out := mustTypesCtl(t, "federate", "svc", "web", "-n", namespace, "--dry-run"); !strings.Contains(out, "FederatedService "+namespace+"/web created (dry run)") {
		t.Errorf("fedhubctl federate --dry-run printed %q", out)
	}
	if _, _, err := kubectlAs(kubeconfig, "get", "federatedservice", "web", "-n", namespace); err == nil {
		t.Error("a dry run created the federated object")
	}
	if out := mustTypesCtl(t, "federate", "svc", "web", "-n", namespace); !strings.Contains(out, "FederatedService "+namespace+"/web created") {
		t.Errorf("fedhubctl federate printed %q", out)
	}
	got := mustKubectlAs(t, kubeconfig, "get", "federatedservice", "web", "-n", namespace, "-o", "jsonpath={.spec.template.spec.ports[0].port}")
	if got != "80" {
		t.Errorf("the stored template's port is %q", got)
	}
	_, errOut, err := typesCtl("federate", "service", "web", "-n", namespace)
	if err == nil || !strings.Contains(errOut, "FederatedService "+namespace+"/web already exists") {
		t.Errorf("federating twice: err=%v, stderr=%q", err, errOut)
	}
	_, errOut, err = typesCtl("federate", "pods", "web", "-n", namespace)
	if err == nil || !strings.Contains(errOut, "type pods is not enabled for federation; run 'fedhubctl enable pods'") {
		t.Errorf("federating a type that is not enabled: err=%v, stderr=%q", err, errOut)
	}
	orphaningRoundTrip(t, "svc", "web", namespace, "FederatedService "+namespace+"/web")
}

// TestFedhubctlFederateNamespaceContents: a namespace is federated with what
// users put in it, not with what Kubernetes creates in every namespace.
func TestFedhubctlFederateNamespaceContents(t *testing.T) {
	sharedFederation(t)
	kubeconfig := federationKubeconfig()
	const namespace = "fedhubctl-contents"
	mustKubectlAs(t, kubeconfig, "create", "namespace", namespace)
	t.Cleanup(func() {
		for _, kind := range []string{"federatedconfigmaps", "federatedsecrets", "federatedserviceaccounts", "federatednamespaces"} {
			_, _, _ = kubectlAs(kubeconfig, "delete", kind, "--all", "-n", namespace)
		}
		_, _, _ = kubectlAs(kubeconfig, "delete", "namespace", namespace, "--wait=false")
	})
	mustKubectlAs(t, kubeconfig, "create", "configmap", "settings", "-n", namespace, "--from-literal=color=blue")
	mustKubectlAs(t, kubeconfig, "create", "secret", "generic", "password", "-n", namespace, "--from-literal=password=hunter2")
	// kube-controller-manager creates these in every namespace; they must exist for the test to mean anything.
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, true, func(context.Context) (bool, error) {
		_, _, saErr := kubectlAs(kubeconfig, "get", "serviceaccount", "default", "-n", namespace)
		_, _, cmErr := kubectlAs(kubeconfig, "get", "configmap", "kube-root-ca.crt", "-n", namespace)
		return saErr == nil && cmErr == nil, nil
	})
	if err != nil {
		t.Fatalf("the host's controllers did not create the default ServiceAccount and kube-root-ca.crt: %v", err)
	}

	_, errOut, err := typesCtl("federate", "configmap", "settings", "-n", namespace, "--contents")
	if err == nil || !strings.Contains(errOut, "--contents is only valid with namespaces") {
		t.Errorf("--contents with a ConfigMap: err=%v, stderr=%q", err, errOut)
	}

	out := mustTypesCtl(t, "federate", "namespace", namespace, "--contents")
	want := []string{
		"FederatedNamespace " + namespace + "/" + namespace + " created",
		"FederatedConfigMap " + namespace + "/settings created",
		"FederatedSecret " + namespace + "/password created",
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !sameStringSet(lines, want) {
		t.Errorf("fedhubctl federate --contents printed\n%s\nwant exactly\n%s", out, strings.Join(want, "\n"))
	}
	for _, check := range []struct{ resource, want string }{
		{"federatednamespaces", "federatednamespace.types.kubefed.io/" + namespace},
		{"federatedconfigmaps", "federatedconfigmap.types.kubefed.io/settings"},
		{"federatedsecrets", "federatedsecret.types.kubefed.io/password"},
		{"federatedserviceaccounts", ""},
	} {
		got := strings.TrimSpace(mustKubectlAs(t, kubeconfig, "get", check.resource, "-n", namespace, "-o", "name"))
		if got != check.want {
			t.Errorf("kubectl get %s -n %s: %q, want %q", check.resource, namespace, got, check.want)
		}
	}
	data := mustKubectlAs(t, kubeconfig, "get", "federatedconfigmap", "settings", "-n", namespace, "-o", "jsonpath={.spec.template.data.color}")
	if data != "blue" {
		t.Errorf("the FederatedConfigMap's template data is %q", data)
	}
}

// orphaningRoundTrip switches orphaning deletion of a federated object on and off.
func orphaningRoundTrip(t *testing.T, typeArg, name, namespace, ref string) {
	t.Helper()
	status := func() string {
		return strings.TrimSpace(mustTypesCtl(t, "orphaning-deletion", "status", typeArg, name, "-n", namespace))
	}
	if got := status(); got != "disabled" {
		t.Errorf("orphaning deletion of a new object is %q", got)
	}
	if out := mustTypesCtl(t, "orphaning-deletion", "enable", typeArg, name, "-n", namespace); !strings.Contains(out, "orphaning deletion enabled for "+ref) {
		t.Errorf("orphaning-deletion enable printed %q", out)
	}
	annotation := mustKubectlAs(t, federationKubeconfig(), "get", strings.Fields(ref)[0], name, "-n", namespace, "-o", `jsonpath={.metadata.annotations.kubefed\.io/orphan}`)
	if got := status(); got != "enabled" || annotation != "true" {
		t.Errorf("after enable: status %q, annotation %q", got, annotation)
	}
	mustTypesCtl(t, "orphaning-deletion", "disable", typeArg, name, "-n", namespace)
	if got := status(); got != "disabled" {
		t.Errorf("after disable: status %q", got)
	}
}

// waitForHostResource waits until kubectl through the host lists resource: the
// host's aggregator learns of new federated kinds on its discovery refresh.
func waitForHostResource(t *testing.T, kubeconfig, resource string) {
	t.Helper()
	var lastErr string
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, hostDiscoveryTimeout, true, func(context.Context) (bool, error) {
		_, errOut, err := kubectlAs(kubeconfig, "get", resource, "--all-namespaces")
		lastErr = errOut
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("kubectl get %s through the host did not work within %s: %s", resource, hostDiscoveryTimeout, lastErr)
	}
}

// typesCtl runs the built fedhubctl against the federation's kubeconfig, whose current context is the host.
func typesCtl(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(fedhubctl, append([]string{"--kubeconfig", federationKubeconfig()}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func mustTypesCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := typesCtl(args...)
	if err != nil {
		t.Fatalf("fedhubctl %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func writeCtlTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sameStringSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
