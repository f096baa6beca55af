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
	"os/exec"
	"strings"
	"testing"
)

// TestTenants: through the host, with kubectl --as, the host's RBAC decides
// what a team may do with federated objects, and the verb propagate on
// KubeFedClusters decides which clusters it may send them to.
func TestTenants(t *testing.T) {
	sharedFederation(t)
	host, members := hostKubeconfig(), federationKubeconfig()
	setUpTeams(t)
	alice := []string{"--as", "alice", "--as-group", "team-a"}
	victor := []string{"--as", "victor", "--as-group", "auditors"}
	nobody := []string{"--as", "nobody"}
	t.Cleanup(func() {
		_, _, _ = kubectlAs(host, "delete", "federatedconfigmaps,federatednamespaces", "--all", "-n", "team-a", "--timeout=60s")
	})

	t.Run("an editor manages federated objects in its namespace only", func(t *testing.T) {
		mustApplyAs(t, alice, federatedNamespace("team-a", "clusters: [{name: member-1}]"))
		mustApplyAs(t, alice, federatedConfigMap("team-a", "settings", "clusters: [{name: member-1}]", ""))
		eventually(t, "member-1 has team-a's ConfigMap", func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", "member-1", "get", "configmap", "settings", "-n", "team-a", "-o", "jsonpath={.data.color}")
			return out, err == nil
		}, "teal")
		eventually(t, "the FederatedConfigMap reports member-1 propagated", func() (string, bool) {
			out, _, err := kubectlAs(host, append(alice, "get", "federatedconfigmap", "settings", "-n", "team-a", "-o",
				`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.clusters[*].name}`)...)
			return out, err == nil
		}, "True member-1")
		mustKubectlAs(t, host, append(alice, "get", "federatedconfigmaps", "-n", "team-a")...)
		mustWatchAs(t, alice, "/apis/types.kubefed.io/v1beta1/namespaces/team-a/federatedconfigmaps")

		_, errOut, err := createAs(alice, federatedConfigMap("team-b", "settings", "clusters: [{name: member-1}]", ""))
		assertForbidden(t, "creating in team-b", err, errOut, `cannot create resource "federatedconfigmaps" in API group "types.kubefed.io" in the namespace "team-b"`)
		_, errOut, err = kubectlAs(host, append(alice, "get", "kubefedclusters", "-n", "kube-federation-system")...)
		assertForbidden(t, "listing KubeFedClusters", err, errOut, `cannot list resource "kubefedclusters"`)
		_, errOut, err = kubectlAs(host, append(alice, "get", "secrets", "-n", "kube-federation-system")...)
		assertForbidden(t, "listing the clusters' Secrets", err, errOut, `cannot list resource "secrets"`)
		_, errOut, err = createAs(alice, `apiVersion: core.kubefed.io/v1beta1
kind: FederatedTypeConfig
metadata: {name: limitranges, namespace: kube-federation-system}
spec:
  targetType: {version: v1, kind: LimitRange, pluralName: limitranges, scope: Namespaced}
  federatedType: {group: types.kubefed.io, version: v1beta1, kind: FederatedLimitRange, pluralName: federatedlimitranges, scope: Namespaced}
  propagation: Enabled
`)
		assertForbidden(t, "creating a FederatedTypeConfig", err, errOut, `cannot create resource "federatedtypeconfigs"`)
	})

	t.Run("a team places objects on its clusters only", func(t *testing.T) {
		_, errOut, err := applyAs(alice, federatedConfigMap("team-a", "elsewhere", "clusters: [{name: member-1}, {name: member-2}]", ""))
		assertForbidden(t, "placing on member-2", err, errOut, `"alice" may not propagate to cluster(s) member-2`)
		_, errOut, err = applyAs(alice, federatedConfigMap("team-a", "everywhere", "clusterSelector: {}", ""))
		assertForbidden(t, "placing by selector", err, errOut, `"alice" may not propagate to every cluster`)
		_, errOut, err = kubectlAs(host, append(alice, "patch", "federatedconfigmap", "settings", "-n", "team-a", "--type=merge", "-p",
			`{"spec":{"placement":{"clusters":[{"name":"member-1"},{"name":"member-2"}]}}}`)...)
		assertForbidden(t, "adding member-2 to a placement", err, errOut, "cluster(s) member-2")
		// Overrides for clusters outside the placement do nothing, and are allowed.
		mustApplyAs(t, alice, federatedConfigMap("team-a", "settings", "clusters: [{name: member-1}]",
			"overrides: [{clusterName: member-2, clusterOverrides: [{path: /data/color, value: red}]}]"))

		if out := mustKubectlAs(t, host, "get", "federatedconfigmaps", "-n", "team-a", "-o", "name"); strings.TrimSpace(out) != "federatedconfigmap.types.kubefed.io/settings" {
			t.Errorf("refused objects were stored: %q", out)
		}
		if out := mustKubectlAs(t, host, "get", "federatedconfigmap", "settings", "-n", "team-a", "-o", "jsonpath={.spec.placement.clusters[*].name}"); out != "member-1" {
			t.Errorf("a refused patch changed the placement to %q", out)
		}
		if out := mustKubectlAs(t, members, "--context", "member-2", "get", "namespaces,configmaps", "-A", "-l", "kubefed.io/managed=true", "-o", "name"); strings.Contains(out, "team-a") {
			t.Errorf("member-2 has objects of team-a:\n%s", out)
		}

		// The template cannot name another namespace: member objects go where the federated object is.
		_, errOut, err = applyAs(alice, `apiVersion: types.kubefed.io/v1beta1
kind: FederatedConfigMap
metadata: {name: escape, namespace: team-a}
spec:
  template: {metadata: {namespace: team-b}, data: {color: black}}
  placement: {clusters: [{name: member-1}]}
`)
		if err == nil || !strings.Contains(errOut, "spec.template.metadata.namespace") {
			t.Errorf("a template in another namespace: err=%v, stderr=%s", err, errOut)
		}
	})

	t.Run("a viewer reads and watches but does not write", func(t *testing.T) {
		out := mustKubectlAs(t, host, append(victor, "get", "federatedconfigmaps", "-n", "team-a", "-o", "name")...)
		if !strings.Contains(out, "settings") {
			t.Errorf("the viewer lists %q", out)
		}
		mustWatchAs(t, victor, "/apis/types.kubefed.io/v1beta1/namespaces/team-a/federatedconfigmaps")
		_, errOut, err := createAs(victor, federatedConfigMap("team-a", "viewer-made", "clusters: []", ""))
		assertForbidden(t, "a viewer creating", err, errOut, `cannot create resource "federatedconfigmaps"`)
		_, errOut, err = kubectlAs(host, append(victor, "delete", "federatedconfigmap", "settings", "-n", "team-a")...)
		assertForbidden(t, "a viewer deleting", err, errOut, `cannot delete resource "federatedconfigmaps"`)
	})

	t.Run("a user without bindings is refused every verb", func(t *testing.T) {
		for _, verb := range [][]string{
			{"get", "federatedconfigmap", "settings", "-n", "team-a"},
			{"get", "federatedconfigmaps", "-n", "team-a"},
			{"get", "--raw", "/apis/types.kubefed.io/v1beta1/namespaces/team-a/federatedconfigmaps?watch=1&timeoutSeconds=1"},
			{"patch", "federatedconfigmap", "settings", "-n", "team-a", "--type=merge", "-p", `{"metadata":{"labels":{"x":"y"}}}`},
			{"delete", "federatedconfigmap", "settings", "-n", "team-a"},
			{"get", "federatedconfigmap", "settings", "-n", "team-a", "--subresource=status"},
		} {
			_, errOut, err := kubectlAs(host, append(nobody, verb...)...)
			assertForbidden(t, "nobody: "+strings.Join(verb, " "), err, errOut, "")
		}
		_, errOut, err := createAs(nobody, federatedConfigMap("team-a", "nobody-made", "clusters: []", ""))
		assertForbidden(t, "nobody creating", err, errOut, `cannot create resource "federatedconfigmaps"`)
	})

	t.Run("kubectl auth can-i answers for propagate", func(t *testing.T) {
		bob := []string{"--as", "bob", "--as-group", "team-b"}
		for _, tt := range []struct {
			who  []string
			args []string
			want string
		}{
			{alice, []string{"propagate", "kubefedclusters.core.kubefed.io/member-1", "-n", "kube-federation-system"}, "yes"},
			{alice, []string{"propagate", "kubefedclusters.core.kubefed.io/member-2", "-n", "kube-federation-system"}, "no"},
			{alice, []string{"propagate", "kubefedclusters.core.kubefed.io", "-n", "kube-federation-system"}, "no"},
			{bob, []string{"propagate", "kubefedclusters.core.kubefed.io/member-2", "-n", "kube-federation-system"}, "yes"},
			{victor, []string{"propagate", "kubefedclusters.core.kubefed.io/member-1", "-n", "kube-federation-system"}, "no"},
			{alice, []string{"create", "federatedconfigmaps.types.kubefed.io", "-n", "team-a"}, "yes"},
			{alice, []string{"create", "federatedconfigmaps.types.kubefed.io", "-n", "team-b"}, "no"},
			{alice, []string{"get", "kubefedclusters.core.kubefed.io", "-n", "kube-federation-system"}, "no"},
			{victor, []string{"watch", "federatedconfigmaps.types.kubefed.io", "-n", "team-a"}, "yes"},
			{victor, []string{"get", "federatedsecrets.types.kubefed.io", "-n", "team-a"}, "no"},
			{nobody, []string{"list", "federatedconfigmaps.types.kubefed.io", "-n", "team-a"}, "no"},
		} {
			out, _, _ := kubectlAs(host, append(append([]string{"auth", "can-i"}, tt.args...), tt.who...)...)
			if got := strings.TrimSpace(out); got != tt.want {
				t.Errorf("kubectl auth can-i %s %s: %q, want %q", strings.Join(tt.args, " "), strings.Join(tt.who, " "), got, tt.want)
			}
		}
	})

	t.Run("an editor deletes its federated objects, and their member objects go", func(t *testing.T) {
		mustKubectlAs(t, host, append(alice, "delete", "federatedconfigmap", "settings", "-n", "team-a", "--timeout=60s")...)
		eventually(t, "member-1's ConfigMap is deleted", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-1", "get", "configmap", "settings", "-n", "team-a")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
	})
}

// setUpTeams applies the two teams of docs/tenancy.md and waits until the
// host's controller manager has aggregated fedhub's rules into edit and view.
func setUpTeams(t *testing.T) {
	t.Helper()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps", "federatedsecrets", "federatedclusterroles")
	// kubectl apply validates against the host's OpenAPI; before the host
	// describes a kind, kubectl looks for a CRD, which a team may not read.
	waitHostOpenAPI(t, "types.kubefed.io/v1beta1", "FederatedNamespace", "FederatedConfigMap")
	mustKubectlAs(t, hostKubeconfig(), "apply", "-f", "testdata/tenancy/teams.yaml")
	for _, check := range [][]string{
		{"create", "federatedconfigmaps.types.kubefed.io", "-n", "team-a", "--as", "alice", "--as-group", "team-a"},
		{"get", "federatedconfigmaps.types.kubefed.io", "-n", "team-a", "--as", "victor", "--as-group", "auditors"},
	} {
		eventually(t, "the host's edit and view roles include fedhub's rules", func() (string, bool) {
			out, _, _ := kubectlAs(hostKubeconfig(), append([]string{"auth", "can-i"}, check...)...)
			return strings.TrimSpace(out), true
		}, "yes")
	}
}

func federatedNamespace(namespace, placement string) string {
	return "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedNamespace\nmetadata: {name: " + namespace + ", namespace: " + namespace +
		"}\nspec:\n  placement: {" + placement + "}\n"
}

// federatedConfigMap is a FederatedConfigMap with data color=teal; more is added to its spec as is.
func federatedConfigMap(namespace, name, placement, more string) string {
	return "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata: {name: " + name + ", namespace: " + namespace +
		"}\nspec:\n  template: {data: {color: teal}}\n  placement: {" + placement + "}\n  " + more + "\n"
}

// applyAs runs kubectl apply of manifest against the host as the user in identity (--as, --as-group).
func applyAs(identity []string, manifest string) (stdout, stderr string, err error) {
	return kubectlManifestAs(identity, "apply", manifest)
}

// createAs runs kubectl create: unlike apply it does not read the object first,
// so a refusal is about the verb create.
func createAs(identity []string, manifest string) (stdout, stderr string, err error) {
	return kubectlManifestAs(identity, "create", manifest)
}

func kubectlManifestAs(identity []string, verb, manifest string) (stdout, stderr string, err error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", hostKubeconfig(), verb, "-f", "-"}, identity...)...)
	cmd.Stdin = strings.NewReader(manifest)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func mustApplyAs(t *testing.T, identity []string, manifest string) {
	t.Helper()
	if _, errOut, err := applyAs(identity, manifest); err != nil {
		t.Fatalf("kubectl apply %s: %v\n%s\n%s", strings.Join(identity, " "), err, errOut, manifest)
	}
}

// mustWatchAs opens a watch on path as the user and reads it until the server
// ends it a second later: a refused watch fails.
func mustWatchAs(t *testing.T, identity []string, path string) {
	t.Helper()
	mustKubectlAs(t, hostKubeconfig(), append([]string{"get", "--raw", path + "?watch=1&timeoutSeconds=1"}, identity...)...)
}

// assertForbidden checks that a kubectl command was refused with 403, and
// with want in the message when want is not empty.
func assertForbidden(t *testing.T, what string, err error, stderr, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed, want Forbidden", what)
		return
	}
	if !strings.Contains(stderr, "Forbidden") && !strings.Contains(stderr, "forbidden") {
		t.Errorf("%s: refused, but not as Forbidden: %s", what, stderr)
	}
	if want != "" && !strings.Contains(stderr, want) {
		t.Errorf("%s: the message does not say %q: %s", what, want, stderr)
	}
}
