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
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// proxyPath is the proxy subresource of member-1 through the host's aggregator.
const proxyPath = "/apis/core.kubefed.io/v1beta1/namespaces/" + federationNamespace + "/kubefedclusters/member-1/proxy"

// TestClusterProxy: member-1 (push) reached through the host with the host's
// kubeconfig, as the hub user with the fedhub: prefix; the host's RBAC on
// kubefedclusters/proxy and then the member's RBAC decide.
func TestClusterProxy(t *testing.T) {
	sharedFederation(t)
	host, federation := hostKubeconfig(), federationKubeconfig()
	onMember1 := func(args ...string) string {
		t.Helper()
		return mustKubectlAs(t, federation, append([]string{"--context", "member-1"}, args...)...)
	}
	hostURL := strings.TrimSpace(mustKubectlAs(t, host, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	server := []string{"--server", strings.TrimSuffix(hostURL, "/") + proxyPath}
	admin := strings.TrimSpace(mustKubectlAs(t, host, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"))

	// The host's administrator is no one in member-1 until member-1 says so.
	t.Cleanup(func() {
		_, _, _ = kubectlAs(federation, "--context", "member-1", "delete", "clusterrolebinding", "clusterproxy-e2e-admin", "--ignore-not-found")
		_, _, _ = kubectlAs(federation, "--context", "member-1", "delete", "configmap", "-n", "default", "proxy-e2e", "proxy-e2e-watched", "proxy-e2e-alice", "--ignore-not-found")
		_, _, _ = kubectlAs(federation, "--context", "member-1", "delete", "role,rolebinding", "-n", "default", "clusterproxy-e2e-alice", "--ignore-not-found")
		_, _, _ = kubectlAs(host, "delete", "role,rolebinding", "-n", federationNamespace, "clusterproxy-e2e-alice", "--ignore-not-found")
	})
	_, errOut, err := kubectlAs(host, "get", "--raw", proxyPath+"/api/v1/namespaces")
	if err == nil || !strings.Contains(errOut, `User "fedhub:`+admin+`" cannot list resource "namespaces"`) {
		t.Fatalf("the host's admin without a binding in member-1: err %v, %s; want the member's refusal of fedhub:%s", err, errOut, admin)
	}
	onMember1("create", "clusterrolebinding", "clusterproxy-e2e-admin", "--clusterrole", "cluster-admin", "--user", "fedhub:"+admin)

	t.Run("admin: get --raw", func(t *testing.T) {
		out := mustKubectlAs(t, host, "get", "--raw", proxyPath+"/api/v1/namespaces")
		if !strings.Contains(out, `"kind":"NamespaceList"`) || !strings.Contains(out, `"name":"`+federationNamespace+`"`) {
			t.Errorf("namespaces of member-1 through the proxy: %.300s", out)
		}
	})

	t.Run("admin: kubectl with the proxy URL as server", func(t *testing.T) {
		if out := mustKubectlAs(t, host, append(server, "get", "ns", federationNamespace, "-o", "name")...); strings.TrimSpace(out) != "namespace/"+federationNamespace {
			t.Errorf("get ns: %q", out)
		}
		out, errOut, err := kubectlStdin(host, configMap("proxy-e2e", "1"), append(server, "apply", "--server-side", "-f", "-")...)
		if err != nil || !strings.Contains(out, "serverside-applied") {
			t.Fatalf("apply --server-side: %v %s %s", err, out, errOut)
		}
		if got := onMember1("get", "configmap", "-n", "default", "proxy-e2e", "-o", "jsonpath={.data.value}/{.metadata.managedFields[0].manager}"); got != "1/kubectl" {
			t.Errorf("member-1's ConfigMap: %q, want 1/kubectl", got)
		}

		// A watch through the proxy sees a change made in member-1.
		watch := exec.Command("kubectl", append([]string{"--kubeconfig", host}, append(server, "get", "configmaps", "-n", "default", "-w", "-o", "name")...)...)
		stdout, err := watch.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var watchErr bytes.Buffer
		watch.Stderr = &watchErr
		if err := watch.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = watch.Process.Kill(); _ = watch.Wait() }()
		lines := make(chan string, 100)
		go func() {
			scanner := bufio.NewScanner(stdout)
			for scanner.Scan() {
				lines <- scanner.Text()
			}
			close(lines)
		}()
		waitLine(t, lines, "configmap/proxy-e2e", &watchErr)
		onMember1("create", "configmap", "-n", "default", "proxy-e2e-watched", "--from-literal=value=2")
		waitLine(t, lines, "configmap/proxy-e2e-watched", &watchErr)
		_ = watch.Process.Kill()

		if out := mustKubectlAs(t, host, append(server, "delete", "configmap", "-n", "default", "proxy-e2e", "proxy-e2e-watched")...); !strings.Contains(out, "deleted") {
			t.Errorf("delete: %q", out)
		}
		if _, errOut, _ := kubectlAs(federation, "--context", "member-1", "get", "configmap", "-n", "default", "proxy-e2e"); !strings.Contains(errOut, "NotFound") {
			t.Errorf("member-1's ConfigMap after the delete through the proxy: %s", errOut)
		}
	})

	t.Run("alice: the host's RBAC, then the member's", func(t *testing.T) {
		alice := []string{"--as", "alice"}
		list := append(alice, "get", "--raw", proxyPath+"/api/v1/namespaces/default/configmaps")
		_, errOut, err := kubectlAs(host, list...)
		if err == nil || !strings.Contains(errOut, `User "alice" cannot get resource "kubefedclusters/proxy"`) {
			t.Fatalf("alice without kubefedclusters/proxy: err %v, %s", err, errOut)
		}
		_, errOut, err = kubectlStdin(host, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: clusterproxy-e2e-alice, namespace: `+federationNamespace+`}
rules:
- apiGroups: [core.kubefed.io]
  resources: [kubefedclusters/proxy]
  resourceNames: [member-1]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: clusterproxy-e2e-alice, namespace: `+federationNamespace+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: clusterproxy-e2e-alice}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
`, "apply", "-f", "-")
		if err != nil {
			t.Fatal(errOut)
		}
		// fedhub caches the host's answers for 10 s.
		eventually(t, "alice's list reaches member-1, which refuses fedhub:alice", func() (string, bool) {
			_, errOut, err := kubectlAs(host, list...)
			if err != nil && strings.Contains(errOut, `User "fedhub:alice" cannot list resource "configmaps"`) {
				return "member refuses", true
			}
			return errOut, false
		}, "member refuses")
		// Another cluster is still refused by the host.
		other := strings.Replace(proxyPath, "member-1", "member-2", 1)
		if _, errOut, err := kubectlAs(host, append(alice, "get", "--raw", other+"/api/v1/namespaces/default/configmaps")...); err == nil ||
			!strings.Contains(errOut, `User "alice" cannot get resource "kubefedclusters/proxy"`) {
			t.Errorf("alice on member-2: err %v, %s", err, errOut)
		}

		// API-only members have no controller manager to aggregate the edit role: a Role of the test's own.
		onMember1("create", "role", "-n", "default", "clusterproxy-e2e-alice", "--resource", "configmaps",
			"--verb", "get,list,watch,create,update,patch,delete")
		onMember1("create", "rolebinding", "-n", "default", "clusterproxy-e2e-alice", "--role", "clusterproxy-e2e-alice", "--user", "fedhub:alice")
		// The member's RBAC takes the binding from its informer a moment later.
		eventually(t, "alice's list with both grants", func() (string, bool) {
			out, errOut, err := kubectlAs(host, list...)
			if err == nil && strings.Contains(out, `"kind":"ConfigMapList"`) {
				return "listed", true
			}
			return out + errOut, false
		}, "listed")
		out, errOut, err := kubectlStdin(host, configMap("proxy-e2e-alice", "3"), append(append(alice, server...), "apply", "--server-side", "-f", "-")...)
		if err != nil || !strings.Contains(out, "serverside-applied") {
			t.Errorf("alice's apply --server-side: %v %s %s", err, out, errOut)
		}
		// Outside her member grant she is refused, also when the host takes her for a member of system:masters:
		// member-1 sees fedhub:alice in fedhub:system:masters.
		for _, identity := range [][]string{alice, {"--as", "alice", "--as-group", "system:masters"}} {
			_, errOut, err := kubectlAs(host, append(append(identity, server...), "get", "secrets", "-n", "kube-system")...)
			if err == nil || !strings.Contains(errOut, `User "fedhub:alice" cannot list resource "secrets"`) {
				t.Errorf("%v: secrets of kube-system: err %v, %s", identity, err, errOut)
			}
		}
	})
}

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\ndata: {value: \"" + value + "\"}\n"
}

// waitLine waits up to 30 s for a line of a running kubectl's output.
func waitLine(t *testing.T, lines <-chan string, want string, stderr *bytes.Buffer) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("kubectl ended before printing %q: %s", want, stderr)
			}
			if strings.TrimSpace(line) == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from kubectl in 30 s: %s", want, stderr)
		}
	}
}
