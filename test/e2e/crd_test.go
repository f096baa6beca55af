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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// crdDeadline bounds the waits of the CRD test: a member's informer that was
// refused before its rights were granted retries with a backoff of up to 30 s.
const crdDeadline = 3 * time.Minute

// TestCRDPropagatesToMembers: a CRD installed in the members only is enabled
// with fedhubctl, the members are joined again so the federation may manage
// it, and a federated object of it propagates like a built-in one.
func TestCRDPropagatesToMembers(t *testing.T) {
	f := sharedFederation(t)
	host, members := hostKubeconfig(), federationKubeconfig()
	for _, member := range []string{"member-1", "member-2"} {
		mustKubectlAs(t, members, "--context", member, "apply", "-f", "testdata/propagation/gizmo-crd.yaml")
		mustKubectlAs(t, members, "--context", member, "wait", "--for=condition=Established", "crd/gizmos.e2e.fedhub.io", "--timeout=60s")
	}
	t.Cleanup(func() {
		for _, member := range []string{"member-1", "member-2"} {
			_, _, _ = kubectlAs(members, "--context", member, "delete", "-f", "testdata/propagation/gizmo-crd.yaml", "--wait=false")
		}
	})
	mustFedhubctl(t, members, "enable", "gizmos.e2e.fedhub.io")
	t.Cleanup(func() {
		_, _ = fedhubctlOutput(members, "disable", "gizmos.e2e.fedhub.io", "--delete-federated-objects")
	})
	for _, member := range []string{"member-1", "member-2"} {
		mustFedhubctl(t, members, "join", member)
	}

	mustKubectlAs(t, host, "create", "namespace", "gizmos-e2e")
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", "gizmos-e2e", "--wait=false") })
	client, err := dynamic.NewForConfig(f.Host.AdminConfig)
	if err != nil {
		t.Fatal(err)
	}
	create := func(resource, kind string, spec map[string]any) {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "types.kubefed.io/v1beta1", "kind": kind,
			"metadata": map[string]any{"name": "gizmos-e2e", "namespace": "gizmos-e2e"}, "spec": spec,
		}}
		gvr := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: resource}
		// The host proxies the new kind to fedhub at once; fedhub serves it as
		// soon as it has seen the FederatedTypeConfig.
		eventuallyWithin(t, crdDeadline, "creating a "+kind, func() (string, bool) {
			_, err := client.Resource(gvr).Namespace("gizmos-e2e").Create(context.Background(), obj, metav1.CreateOptions{})
			if err != nil {
				return err.Error(), false
			}
			return "", true
		}, "")
	}
	everywhere := map[string]any{"clusterSelector": map[string]any{}}
	create("federatednamespaces", "FederatedNamespace", map[string]any{"placement": everywhere})
	create("federatedgizmos", "FederatedGizmo", map[string]any{
		"template":  map[string]any{"spec": map[string]any{"size": int64(3)}},
		"placement": everywhere,
		"overrides": []any{map[string]any{"clusterName": "member-2", "clusterOverrides": []any{
			map[string]any{"path": "/spec/size", "value": int64(5)}}}},
	})
	for member, size := range map[string]string{"member-1": "3", "member-2": "5"} {
		eventuallyWithin(t, crdDeadline, member+" has the Gizmo", func() (string, bool) {
			out, _, err := kubectlAs(members, "--context", member, "get", "gizmo", "gizmos-e2e", "-n", "gizmos-e2e", "-o",
				`jsonpath={.spec.size} {.metadata.labels.kubefed\.io/managed}`)
			return strings.TrimSpace(out), err == nil
		}, size+" true")
	}

	// Disabling the type deletes its federated objects, then its FTC; the
	// controller of a deleted FTC stops.
	running := `fedhub_propagation_running_controllers{type="federatedgizmos"}`
	if value, found, err := fedhubMetric(f, running); err != nil || !found || value != 1 {
		t.Fatalf("%s = %v (found %v, %v) while the type is enabled, want 1", running, value, found, err)
	}
	mustFedhubctl(t, members, "disable", "gizmos.e2e.fedhub.io", "--delete-federated-objects")
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+"'s Gizmo is deleted with the federated one", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", member, "get", "gizmo", "gizmos-e2e", "-n", "gizmos-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
	}
	eventually(t, "the controller of the deleted type stops", func() (string, bool) {
		_, found, err := fedhubMetric(f, running)
		return "", err == nil && !found
	}, "")
}
