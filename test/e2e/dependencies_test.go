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
	"strings"
	"testing"
)

// dependentDeployment is a FederatedDeployment whose dependencies follow it,
// placed on the clusters named; podSpec is its pod template's spec (YAML flow).
func dependentDeployment(namespace, name, clusters, podSpec string) string {
	return `apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata:
  name: ` + name + `
  namespace: ` + namespace + `
  annotations: {fedhub.io/propagate-dependencies: "true"}
spec:
  placement: {clusters: [` + clusters + `]}
  template:
    spec:
      replicas: 1
      selector: {matchLabels: {app: ` + name + `}}
      template:
        metadata: {labels: {app: ` + name + `}}
        spec: ` + podSpec + `
`
}

// dependenciesCondition reads a workload's DependenciesResolved condition: "status reason: message".
func dependenciesCondition(namespace, resource, name string) func() (string, bool) {
	return func() (string, bool) {
		out, _, err := kubectlAs(hostKubeconfig(), "get", resource, name, "-n", namespace, "-o",
			`jsonpath={.status.conditions[?(@.type=="DependenciesResolved")].status} {.status.conditions[?(@.type=="DependenciesResolved")].reason}: {.status.conditions[?(@.type=="DependenciesResolved")].message}`)
		return out, err == nil
	}
}

// dependencyNamespace creates a namespace on the host, federated to both
// members, and waits until both have it.
func dependencyNamespace(t *testing.T, namespace string) {
	t.Helper()
	host := hostKubeconfig()
	mustKubectlAs(t, host, "create", "namespace", namespace)
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", namespace, "--wait=false") })
	mustApplyAs(t, nil, federatedNamespace(namespace, "clusters: [{name: member-1}, {name: member-2}]"))
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+" has the namespace "+namespace, onMember(member, "namespace", "", namespace, "{.status.phase}"), "Active")
	}
}

// TestDependencies: with fedhub.io/propagate-dependencies, the
// FederatedConfigMaps (and Secrets, …) a FederatedDeployment's pod template
// names go wherever it runs, besides their own placement, which stays as
// the user wrote it; they leave a cluster once no workload there names them.
func TestDependencies(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps", "federateddeployments", "federatedsecrets")
	const namespace = "deps-e2e"
	dependencyNamespace(t, namespace)
	settings := func(member string) func() (string, bool) {
		return onMember(member, "configmap", namespace, "settings", "{.data.color}")
	}

	// settings has no placement of its own: it goes nowhere by itself.
	mustApplyAs(t, nil, federatedConfigMap(namespace, "settings", "", ""))
	mustApplyAs(t, nil, dependentDeployment(namespace, "web", "{name: member-1}",
		`{containers: [{name: app, image: nginx}], volumes: [{name: config, configMap: {name: settings}}]}`))

	eventually(t, "member-1 gets the ConfigMap web mounts", settings("member-1"), "teal")
	if out, _ := settings("member-2")(); out != "NotFound" {
		t.Errorf("member-2, where no workload runs, has the ConfigMap: %q", out)
	}
	eventually(t, "web reports its dependencies resolved", dependenciesCondition(namespace, "federateddeployment", "web"), "True DependenciesFound: ")
	eventually(t, "the FederatedConfigMap reports member-1", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federatedconfigmap", "settings", "-n", namespace, "-o", "jsonpath={.status.clusters[*].name}")
		return out, err == nil
	}, "member-1")
	if out := mustKubectlAs(t, host, "get", "federatedconfigmap", "settings", "-n", namespace, "-o", "jsonpath={.spec.placement}"); out != "{}" && out != "" {
		t.Errorf("the FederatedConfigMap's placement was rewritten: %s", out)
	}

	t.Run("moving the workload moves its ConfigMap", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federateddeployment", "web", "-n", namespace, "--type=merge", "-p",
			`{"spec":{"placement":{"clusters":[{"name":"member-2"}]}}}`)
		eventually(t, "member-2 gets the ConfigMap", settings("member-2"), "teal")
		eventually(t, "member-1 loses it", settings("member-1"), "NotFound")
	})

	t.Run("a ConfigMap shared by workloads on different clusters is in both", func(t *testing.T) {
		mustApplyAs(t, nil, dependentDeployment(namespace, "api", "{name: member-1}",
			`{containers: [{name: app, image: nginx, envFrom: [{configMapRef: {name: settings}}]}]}`))
		eventually(t, "member-1 gets the ConfigMap for api", settings("member-1"), "teal")
		if out, _ := settings("member-2")(); out != "teal" {
			t.Errorf("member-2, where web runs, lost the ConfigMap: %q", out)
		}
	})

	t.Run("dropping the reference removes it where no workload needs it", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federateddeployment", "web", "-n", namespace, "--type=json", "-p",
			`[{"op":"remove","path":"/spec/template/spec/template/spec/volumes"}]`)
		eventually(t, "member-2, where only web ran, loses the ConfigMap", settings("member-2"), "NotFound")
		if out, _ := settings("member-1")(); out != "teal" {
			t.Errorf("member-1, where api still needs it, lost the ConfigMap: %q", out)
		}
	})

	t.Run("a missing dependency is a condition, not a block", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federateddeployment", "api", "-n", namespace, "--type=json", "-p",
			`[{"op":"add","path":"/spec/template/spec/template/spec/imagePullSecrets","value":[{"name":"registry"}]},`+
				`{"op":"replace","path":"/spec/template/spec/replicas","value":2}]`)
		eventually(t, "api reports the missing Secret", dependenciesCondition(namespace, "federateddeployment", "api"),
			"False DependencyNotFound: not federated in namespace "+namespace+": Secret registry")
		eventually(t, "api is still propagated", onMember("member-1", "deployment", namespace, "api", "{.spec.replicas}"), "2")
		mustApplyAs(t, nil, `apiVersion: types.kubefed.io/v1beta1
kind: FederatedSecret
metadata: {name: registry, namespace: `+namespace+`}
spec:
  template: {type: Opaque, data: {token: czNjcmV0}}
`)
		eventually(t, "once federated, the Secret follows api", onMember("member-1", "secret", namespace, "registry", "{.data.token}"), "czNjcmV0")
		eventually(t, "api reports its dependencies resolved", dependenciesCondition(namespace, "federateddeployment", "api"), "True DependenciesFound: ")
	})

	t.Run("deleting the workloads takes their dependencies away", func(t *testing.T) {
		mustKubectlAs(t, host, "delete", "federateddeployments", "web", "api", "-n", namespace, "--timeout=90s")
		eventually(t, "member-1 loses the ConfigMap", settings("member-1"), "NotFound")
		eventually(t, "member-1 loses the Secret", onMember("member-1", "secret", namespace, "registry", "{.data.token}"), "NotFound")
	})
}

// TestDependenciesTenancy: a dependency follows a workload only to the
// clusters both its last author and the workload's last author may
// propagate to. alice (team-a) may target member-1 only: a Secret she
// writes must not reach member-2 because someone allowed there runs a
// workload that names it.
func TestDependenciesTenancy(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	setUpTeams(t)
	waitHostDiscovers(t, "federateddeployments", "federatedsecrets")
	waitHostOpenAPI(t, "types.kubefed.io/v1beta1", "FederatedDeployment", "FederatedSecret")
	const namespace = "deps-tenancy"
	dependencyNamespace(t, namespace)
	mustKubectlAs(t, host, "create", "rolebinding", "team-a-edit", "-n", namespace, "--clusterrole", "edit", "--group", "team-a")
	eventually(t, "alice may write FederatedSecrets in "+namespace, canI([]string{"create", "federatedsecrets.types.kubefed.io",
		"-n", namespace, "--as", "alice", "--as-group", "team-a"}), "yes")
	alice := []string{"--as", "alice", "--as-group", "team-a"}
	secret := func(data string) string {
		return `apiVersion: types.kubefed.io/v1beta1
kind: FederatedSecret
metadata: {name: db, namespace: ` + namespace + `}
spec:
  template: {type: Opaque, data: {password: ` + data + `}}
  placement: {clusters: [{name: member-1}]}
`
	}
	db := func(member string) func() (string, bool) {
		return onMember(member, "secret", namespace, "db", "{.data.password}")
	}

	mustApplyAs(t, alice, secret("YWxpY2U="))
	// The platform team's workload runs on both clusters and names alice's Secret.
	mustApplyAs(t, nil, dependentDeployment(namespace, "web", "{name: member-1}, {name: member-2}",
		`{containers: [{name: app, image: nginx, env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]}]}`))

	eventually(t, "web reports the Secret withheld from member-2", dependenciesCondition(namespace, "federateddeployment", "web"),
		"False DependencyNotPropagated: Secret db is not propagated to member-2: its last author may not propagate there")
	eventually(t, "member-1 has alice's Secret", db("member-1"), "YWxpY2U=")
	eventually(t, "the platform team's Deployment runs on member-2", onMember("member-2", "deployment", namespace, "web", "{.spec.replicas}"), "1")
	if out, _ := db("member-2")(); out != "NotFound" {
		t.Errorf("member-2 has the Secret alice wrote: %q", out)
	}

	t.Run("alice cannot opt another's workload in or out", func(t *testing.T) {
		_, errOut, err := kubectlAs(host, append([]string{"annotate", "--overwrite", "federateddeployment", "web", "-n", namespace,
			"fedhub.io/propagate-dependencies=false"}, alice...)...)
		assertForbidden(t, "alice annotating the workload placed on member-2", err, errOut, "member-2")
	})

	t.Run("once written by someone allowed on member-2, it follows there", func(t *testing.T) {
		mustApplyAs(t, nil, secret("cGxhdGZvcm0="))
		eventually(t, "member-2 gets the platform team's Secret", db("member-2"), "cGxhdGZvcm0=")
		eventually(t, "web reports its dependencies resolved", dependenciesCondition(namespace, "federateddeployment", "web"), "True DependenciesFound: ")
	})

	t.Run("alice's next write takes it back out of member-2", func(t *testing.T) {
		mustApplyAs(t, alice, secret("bWluZQ=="))
		eventually(t, "member-2 loses the Secret", db("member-2"), "NotFound")
		eventually(t, "member-1 has alice's new Secret", db("member-1"), "bWluZQ==")
	})
}

// TestDependenciesPull: a dependency follows a workload to a pull member
// too, through a Work its agent applies; the decision is the one push
// members get. The federation is pullShared: API-only members, member-2 in
// pull mode.
func TestDependenciesPull(t *testing.T) {
	pullShared.get(t)
	host, members := pullShared.kubeconfig("host"), pullShared.kubeconfig("federation")
	waitDiscovers(t, host, "federatednamespaces", "federatedconfigmaps", "federateddeployments")
	const namespace = "deps-pull"
	apply := func(manifest string) {
		t.Helper()
		if _, errOut, err := kubectlStdin(host, manifest, "apply", "-f", "-"); err != nil {
			t.Fatalf("kubectl apply: %v\n%s\n%s", err, errOut, manifest)
		}
	}
	onPullMember := func(resource, name string) func() (string, bool) {
		return func() (string, bool) {
			out, errOut, err := kubectlAs(members, "--context", "member-2", "get", resource, name, "-n", namespace, "-o", "name")
			if err != nil && strings.Contains(errOut, "NotFound") {
				return "NotFound", true
			}
			return strings.TrimSpace(out), err == nil
		}
	}
	mustKubectlAs(t, host, "create", "namespace", namespace)
	apply(federatedNamespace(namespace, "clusters: [{name: member-2}]"))
	apply(federatedConfigMap(namespace, "settings", "", ""))
	apply(dependentDeployment(namespace, "web", "{name: member-2}",
		`{containers: [{name: app, image: nginx}], volumes: [{name: config, configMap: {name: settings}}]}`))

	eventually(t, "the pull member runs the Deployment", onPullMember("deployment", "web"), "deployment.apps/web")
	eventually(t, "the pull member gets the ConfigMap it mounts", onPullMember("configmap", "settings"), "configmap/settings")
	mustKubectlAs(t, host, "patch", "federateddeployment", "web", "-n", namespace, "--type=json", "-p",
		`[{"op":"remove","path":"/spec/template/spec/template/spec/volumes"}]`)
	eventually(t, "the pull member loses it once nothing there mounts it", onPullMember("configmap", "settings"), "NotFound")
}
