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
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

// accessClass groups the resources the host's roles treat alike.
type accessClass int

const (
	teamObject accessClass = iota // a namespaced federated kind or a preference: edit writes, view reads
	teamSecret                    // a FederatedSecret: edit writes and reads, view does not read (as Secrets)
	teamStatus                    // the /status of a federated object: view reads, nobody but the platform writes
	platform                      // KubeFedClusters, FederatedTypeConfigs, the KubeFedConfig, cluster-scoped federated kinds
	hostSecret                    // the host's Secrets holding member credentials
)

// matrixCase is one resource in one namespace, with an existing object to
// read, update and delete, and a new one to create.
type matrixCase struct {
	name      string
	resource  schema.GroupVersionResource
	namespace string
	status    bool
	class     accessClass
	existing  string
	// preexisting: existing belongs to the federation, not to this test.
	preexisting bool
	// singleton: the name is fixed (a FederatedNamespace is named like its
	// namespace), so create is the existing object's name and is answered
	// AlreadyExists once authorization and admission have let it through.
	singleton bool
	// namesSecret: create names a host Secret (spec.secretRef), which needs
	// get on that Secret besides the role's verbs.
	namesSecret bool
	create      *unstructured.Unstructured
}

// TestTenantAccessMatrix sends every verb on every resource in every
// namespace as each kind of user through the host, and compares each answer
// with what the host's roles should give. Writes are dry runs: they pass
// authorization and admission but store nothing.
func TestTenantAccessMatrix(t *testing.T) {
	f := sharedFederation(t)
	setUpTeams(t)
	admin, err := dynamic.NewForConfig(f.Host.AdminConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := matrixCases(t)
	for _, c := range cases {
		if c.preexisting || c.status {
			continue
		}
		existing := c.create.DeepCopy()
		existing.SetName(c.existing)
		_, err := admin.Resource(c.resource).Namespace(c.namespace).Create(ctx, existing, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s %s/%s: %v", c.resource.Resource, c.namespace, c.existing, err)
		}
		t.Cleanup(func() {
			resource := admin.Resource(c.resource).Namespace(c.namespace)
			_ = resource.Delete(ctx, c.existing, metav1.DeleteOptions{})
			// Federated objects go once fedhub releases them; the next test may create the same names.
			err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, propagationDeadline, true, func(ctx context.Context) (bool, error) {
				_, err := resource.Get(ctx, c.existing, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if err != nil {
				t.Errorf("%s %s/%s is not deleted: %v", c.resource.Resource, c.namespace, c.existing, err)
			}
		})
	}

	users := []struct {
		name   string
		groups []string
		allows func(c matrixCase, verb string) bool
	}{
		{"pat", []string{"platform"}, func(c matrixCase, verb string) bool {
			return c.class != hostSecret && !(c.namesSecret && verb == "create") // pat reads no host Secrets
		}},
		{"alice", []string{"team-a"}, func(c matrixCase, verb string) bool {
			switch c.class {
			case teamObject, teamSecret:
				return c.namespace == "team-a"
			case teamStatus:
				return c.namespace == "team-a" && verb == "get"
			}
			return false
		}},
		{"victor", []string{"auditors"}, func(c matrixCase, verb string) bool {
			reads := verb == "get" || verb == "list" || verb == "watch"
			return c.namespace == "team-a" && (c.class == teamObject || c.class == teamStatus) && reads
		}},
		{"nobody", nil, func(matrixCase, string) bool { return false }},
	}
	var mismatches []string
	counts := map[string][2]int{} // user → allowed, denied
	for _, user := range users {
		config := rest.CopyConfig(f.Host.AdminConfig)
		config.Impersonate = rest.ImpersonationConfig{UserName: user.name, Groups: user.groups}
		client, err := dynamic.NewForConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			for _, verb := range c.verbs() {
				err := c.send(ctx, client, admin, verb)
				allowed := err == nil
				if err != nil && !apierrors.IsForbidden(err) {
					mismatches = append(mismatches, fmt.Sprintf("%s %s %s: neither allowed nor forbidden: %v", user.name, verb, c.name, err))
					continue
				}
				count := counts[user.name]
				if allowed {
					count[0]++
				} else {
					count[1]++
				}
				counts[user.name] = count
				if want := user.allows(c, verb); allowed != want {
					mismatches = append(mismatches, fmt.Sprintf("%s %s %s: allowed=%v, want %v (%v)", user.name, verb, c.name, allowed, want, err))
				}
			}
		}
	}
	var summary []string
	for user, count := range counts {
		summary = append(summary, fmt.Sprintf("%s: %d allowed, %d denied", user, count[0], count[1]))
	}
	sort.Strings(summary)
	t.Logf("requests per user: %s", strings.Join(summary, "; "))
	for _, m := range mismatches {
		t.Error(m)
	}
	// Guard the guard: every class must have been both allowed and denied to someone.
	if counts["pat"][0] == 0 || counts["nobody"][0] != 0 || counts["alice"][0] == 0 || counts["victor"][0] == 0 {
		t.Errorf("the matrix did not exercise the roles: %v", counts)
	}
}

func (c matrixCase) verbs() []string {
	if c.status {
		return []string{"get", "update"}
	}
	return []string{"get", "list", "watch", "create", "update", "delete"}
}

// send makes one request; admin reads the object an update starts from.
func (c matrixCase) send(ctx context.Context, client, admin dynamic.Interface, verb string) error {
	resource := client.Resource(c.resource).Namespace(c.namespace)
	dryRun := []string{metav1.DryRunAll}
	var subresources []string
	if c.status {
		subresources = []string{"status"}
	}
	switch verb {
	case "get":
		_, err := resource.Get(ctx, c.existing, metav1.GetOptions{}, subresources...)
		return err
	case "list":
		_, err := resource.List(ctx, metav1.ListOptions{})
		return err
	case "watch":
		timeout := int64(1)
		w, err := resource.Watch(ctx, metav1.ListOptions{TimeoutSeconds: &timeout})
		if err == nil {
			w.Stop()
		}
		return err
	case "create":
		_, err := resource.Create(ctx, c.create, metav1.CreateOptions{DryRun: dryRun})
		if c.singleton && apierrors.IsAlreadyExists(err) {
			return nil // past authorization and admission; only the name is taken
		}
		return err
	case "update":
		current, err := admin.Resource(c.resource).Namespace(c.namespace).Get(ctx, c.existing, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading as admin: %w", err)
		}
		if c.status {
			_, err = resource.UpdateStatus(ctx, current, metav1.UpdateOptions{DryRun: dryRun})
		} else {
			_, err = resource.Update(ctx, current, metav1.UpdateOptions{DryRun: dryRun})
		}
		return err
	case "delete":
		return resource.Delete(ctx, c.existing, metav1.DeleteOptions{DryRun: dryRun})
	}
	return fmt.Errorf("unknown verb %s", verb)
}

func matrixCases(t *testing.T) []matrixCase {
	t.Helper()
	federated := func(resource string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: resource}
	}
	object := func(apiVersion, kind, namespace string, fields map[string]any) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{Object: fields}
		obj.SetAPIVersion(apiVersion)
		obj.SetKind(kind)
		obj.SetName("matrix-new")
		obj.SetNamespace(namespace)
		return obj
	}
	onMember1 := map[string]any{"clusters": []any{map[string]any{"name": "member-1"}}}
	preferences := schema.GroupVersionResource{Group: "scheduling.kubefed.io", Version: "v1alpha1", Resource: "replicaschedulingpreferences"}
	preference := func(namespace string) *unstructured.Unstructured {
		return object("scheduling.kubefed.io/v1alpha1", "ReplicaSchedulingPreference", namespace, map[string]any{"spec": map[string]any{
			"targetKind": "FederatedDeployment", "totalReplicas": int64(2), "clusters": map[string]any{"member-1": map[string]any{"weight": int64(1)}}}})
	}
	// A FederatedNamespace is named like its namespace; placed nowhere, it leaves the members alone.
	namespace := func(namespace string) *unstructured.Unstructured {
		obj := object("types.kubefed.io/v1beta1", "FederatedNamespace", namespace, map[string]any{"spec": map[string]any{
			"placement": map[string]any{"clusters": []any{}}}})
		obj.SetName(namespace)
		return obj
	}
	configMap := func(namespace string) *unstructured.Unstructured {
		return object("types.kubefed.io/v1beta1", "FederatedConfigMap", namespace, map[string]any{"spec": map[string]any{
			"template": map[string]any{"data": map[string]any{"color": "teal"}}, "placement": onMember1}})
	}
	limitRanges := typeconfig.ForTarget("kube-federation-system", corev1beta1.APIResource{
		Version: "v1", Kind: "LimitRange", PluralName: "limitranges", Scope: corev1beta1.NamespaceScoped})
	limitRanges.APIVersion, limitRanges.Kind = "core.kubefed.io/v1beta1", "FederatedTypeConfig"
	typeConfig, err := runtime.DefaultUnstructuredConverter.ToUnstructured(limitRanges)
	if err != nil {
		t.Fatal(err)
	}
	return []matrixCase{
		{name: "federatedconfigmaps in team-a", resource: federated("federatedconfigmaps"), namespace: "team-a", class: teamObject,
			existing: "matrix", create: configMap("team-a")},
		{name: "federatedconfigmaps/status in team-a", resource: federated("federatedconfigmaps"), namespace: "team-a", class: teamStatus,
			status: true, existing: "matrix"},
		{name: "federatedconfigmaps in team-b", resource: federated("federatedconfigmaps"), namespace: "team-b", class: teamObject,
			existing: "matrix", create: configMap("team-b")},
		{name: "federatedsecrets in team-a", resource: federated("federatedsecrets"), namespace: "team-a", class: teamSecret,
			existing: "matrix", create: object("types.kubefed.io/v1beta1", "FederatedSecret", "team-a", map[string]any{"spec": map[string]any{
				"template": map[string]any{"data": map[string]any{"password": "czNjcmV0"}}, "placement": onMember1}})},
		{name: "replicaschedulingpreferences in team-a", resource: preferences, namespace: "team-a", class: teamObject, existing: "matrix",
			create: preference("team-a")},
		{name: "replicaschedulingpreferences/status in team-a", resource: preferences, namespace: "team-a", class: teamStatus,
			status: true, existing: "matrix"},
		{name: "replicaschedulingpreferences in team-b", resource: preferences, namespace: "team-b", class: teamObject, existing: "matrix",
			create: preference("team-b")},
		{name: "federatednamespaces in team-a", resource: federated("federatednamespaces"), namespace: "team-a", class: teamObject,
			existing: "team-a", singleton: true, create: namespace("team-a")},
		{name: "federatednamespaces in team-b", resource: federated("federatednamespaces"), namespace: "team-b", class: teamObject,
			existing: "team-b", singleton: true, create: namespace("team-b")},
		{name: "federatedclusterroles", resource: federated("federatedclusterroles"), class: platform, existing: "matrix",
			create: object("types.kubefed.io/v1beta1", "FederatedClusterRole", "", map[string]any{"spec": map[string]any{
				"template": map[string]any{"rules": []any{}}}})},
		{name: "kubefedclusters in kube-federation-system", resource: corev1beta1.SchemeGroupVersion.WithResource("kubefedclusters"),
			namespace: "kube-federation-system", class: platform, existing: "member-1", preexisting: true, namesSecret: true,
			create: object("core.kubefed.io/v1beta1", "KubeFedCluster", "kube-federation-system", map[string]any{"spec": map[string]any{
				"apiEndpoint": "https://127.0.0.1:1", "secretRef": map[string]any{"name": "matrix-new"}}})},
		{name: "federatedtypeconfigs in kube-federation-system", resource: corev1beta1.SchemeGroupVersion.WithResource("federatedtypeconfigs"),
			namespace: "kube-federation-system", class: platform, existing: "jobs.batch", preexisting: true, create: &unstructured.Unstructured{Object: typeConfig}},
		{name: "kubefedconfigs in kube-federation-system", resource: corev1beta1.SchemeGroupVersion.WithResource("kubefedconfigs"),
			namespace: "kube-federation-system", class: platform, existing: "kubefed", preexisting: true,
			create: object("core.kubefed.io/v1beta1", "KubeFedConfig", "kube-federation-system", map[string]any{"spec": map[string]any{"scope": "Cluster"}})},
		{name: "secrets in kube-federation-system", resource: schema.GroupVersionResource{Version: "v1", Resource: "secrets"},
			namespace: "kube-federation-system", class: hostSecret, existing: "matrix",
			create: object("v1", "Secret", "kube-federation-system", map[string]any{"stringData": map[string]any{"token": "x"}})},
	}
}
