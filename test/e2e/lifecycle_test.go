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
	"os"
	"strings"
	"testing"
	"time"
)

// The lifecycle tests (issue 19) run on the shared federation, each in a
// namespace of its own made from testdata/lifecycle/namespace.yaml.

// TestLifecycleOrphanedNamespaceKeepsContents: deleting a FederatedNamespace
// with kubefed.io/orphan leaves the namespace and everything fedhub placed
// in it in the members. The contents stay managed by their federated
// objects, which report NamespaceNotFederated, and a later delete of one of
// them still removes its member object.
func TestLifecycleOrphanedNamespaceKeepsContents(t *testing.T) {
	const namespace = "lifecycle-orphan"
	host, members := lifecycleNamespace(t, namespace)

	mustKubectlAs(t, host, "annotate", "federatednamespace", namespace, "-n", namespace, "kubefed.io/orphan=true")
	mustKubectlAs(t, host, "delete", "federatednamespace", namespace, "-n", namespace, "--timeout=60s")
	for _, kind := range []string{"federatedconfigmap/settings", "federateddeployment/web"} {
		eventually(t, kind+" reports its namespace not federated", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", kind, "-n", namespace, "-o",
				`jsonpath={.status.conditions[?(@.type=="Propagation")].reason}`)
			return out, err == nil
		}, "NamespaceNotFederated")
	}
	for _, member := range []string{"member-1", "member-2"} {
		contents := func() (string, bool) {
			ns, _, nsErr := kubectlAs(members, "--context", member, "get", "namespace", namespace, "-o", `jsonpath=managed={.metadata.labels.kubefed\.io/managed}`)
			cm, _, cmErr := kubectlAs(members, "--context", member, "get", "configmap", "settings", "-n", namespace, "-o", "jsonpath={.data.color}")
			deploy, _, deployErr := kubectlAs(members, "--context", member, "get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
			return ns + " " + cm + " " + deploy, nsErr == nil && cmErr == nil && deployErr == nil
		}
		consistently(t, 5*time.Second, member+" keeps the namespace, unmanaged, with its ConfigMap and Deployment", contents, "managed= blue 1")
	}

	// Still managed: the federated object's own delete removes its member object.
	mustKubectlAs(t, host, "delete", "federatedconfigmap", "settings", "-n", namespace, "--timeout=60s")
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+"'s ConfigMap is deleted with its federated object", memberGone(members, member, "configmap", "settings", namespace), "")
	}
}

// TestLifecycleDeleteWhilePropagationDisabled: with the type's propagation
// disabled, a delete still completes and is carried out in the members as
// the object's annotations ask: deleted, or with kubefed.io/orphan left
// there without the managed label.
func TestLifecycleDeleteWhilePropagationDisabled(t *testing.T) {
	const namespace = "lifecycle-disabled"
	host, members := lifecycleNamespace(t, namespace)
	typeController := func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federatedtypeconfig", "configmaps", "-n", "kube-federation-system", "-o",
			"jsonpath={.status.propagationController} {.status.observedGeneration} {.metadata.generation}")
		state, generations, _ := strings.Cut(out, " ")
		observed, generation, _ := strings.Cut(generations, " ")
		return state, err == nil && observed == generation
	}
	setPropagation := func(value string) {
		mustKubectlAs(t, host, "patch", "federatedtypeconfig", "configmaps", "-n", "kube-federation-system", "--type=merge", "-p",
			`{"spec":{"propagation":"`+value+`"}}`)
	}
	t.Cleanup(func() {
		setPropagation("Enabled")
		eventually(t, "the configmaps type propagates again", typeController, "Running")
	})
	setPropagation("Disabled")
	eventually(t, "the FederatedTypeConfig reports its controller stopped", typeController, "NotRunning")

	mustKubectlAs(t, host, "delete", "federatedconfigmap", "settings", "kept", "-n", namespace, "--timeout=60s")
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+"'s ConfigMap settings is deleted", memberGone(members, member, "configmap", "settings", namespace), "")
		eventually(t, member+" keeps the orphaned ConfigMap, unmanaged", func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", member, "get", "configmap", "kept", "-n", namespace, "-o",
				`jsonpath={.data.color} managed={.metadata.labels.kubefed\.io/managed}`)
			return out, err == nil
		}, "green managed=")
	}
}

// TestLifecycleStuckDeletionIsReported: while a member object's finalizer
// holds its removal, the deleting federated object's status names the
// cluster with WaitingForRemoval and an event says what it waits for; once
// the finalizer goes, the delete completes.
func TestLifecycleStuckDeletionIsReported(t *testing.T) {
	const namespace = "lifecycle-stuck"
	host, members := lifecycleNamespace(t, namespace)
	unblock := func() {
		_, _, _ = kubectlAs(members, "--context", "member-1", "patch", "configmap", "settings", "-n", namespace, "--type=merge", "-p",
			`{"metadata":{"finalizers":null}}`)
	}
	t.Cleanup(unblock)
	mustKubectlAs(t, members, "--context", "member-1", "patch", "configmap", "settings", "-n", namespace, "--type=merge", "-p",
		`{"metadata":{"finalizers":["example.com/block"]}}`)

	mustKubectlAs(t, host, "delete", "federatedconfigmap", "settings", "-n", namespace, "--wait=false")
	eventually(t, "the status names member-1 as still holding the object", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federatedconfigmap", "settings", "-n", namespace, "-o",
			`jsonpath={range .status.clusters[*]}{.name}={.status} {end}{.status.conditions[?(@.type=="Propagation")].status}/{.status.conditions[?(@.type=="Propagation")].reason}`)
		return out, err == nil
	}, "member-1=WaitingForRemoval False/CheckClusters")
	eventually(t, "member-2's ConfigMap is deleted", memberGone(members, "member-2", "configmap", "settings", namespace), "")
	eventually(t, "an event says what member-1 waits for", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "events", "-n", namespace, "--field-selector", "reason=WaitingForRemoval,involvedObject.name=settings",
			"-o", "jsonpath={.items[*].message}")
		return out, err == nil && strings.Contains(out, "member-1 (WaitingForRemoval: its removal waits for the finalizers example.com/block)")
	}, "")

	unblock()
	eventually(t, "the delete completes once the member's finalizer is gone", func() (string, bool) {
		_, errOut, err := kubectlAs(host, "get", "federatedconfigmap", "settings", "-n", namespace)
		return "", err != nil && strings.Contains(errOut, "NotFound")
	}, "")
}

// lifecycleNamespace creates namespace on the host, applies
// testdata/lifecycle/namespace.yaml into it and waits until both members
// have its objects; cleanup deletes the namespace everywhere. It returns
// the host's and the members' kubeconfigs.
func lifecycleNamespace(t *testing.T, namespace string) (host, members string) {
	t.Helper()
	sharedFederation(t)
	host, members = hostKubeconfig(), federationKubeconfig()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps", "federateddeployments")
	manifest, err := os.ReadFile("testdata/lifecycle/namespace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustKubectlAs(t, host, "create", "namespace", namespace)
	t.Cleanup(func() {
		_, _, _ = kubectlAs(host, "delete", "namespace", namespace, "--wait=false")
		for _, member := range []string{"member-1", "member-2"} {
			_, _, _ = kubectlAs(members, "--context", member, "delete", "namespace", namespace, "--wait=false")
		}
	})
	mustApplyAs(t, nil, strings.ReplaceAll(string(manifest), "NAMESPACE", namespace))
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+" has the namespace's objects", func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", member, "get", "configmaps,deployments", "-n", namespace,
				"-l", "kubefed.io/managed=true", "-o", "name")
			return strings.Join(strings.Fields(out), " "), err == nil
		}, "configmap/kept configmap/settings deployment.apps/web")
	}
	return host, members
}

// memberGone succeeds once the member no longer has the object.
func memberGone(members, member, kind, name, namespace string) func() (string, bool) {
	return func() (string, bool) {
		_, errOut, err := kubectlAs(members, "--context", member, "get", kind, name, "-n", namespace)
		return "", err != nil && strings.Contains(errOut, "NotFound")
	}
}
