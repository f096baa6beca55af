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

package join

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
)

func typeConfig(group, version, kind, plural string) *corev1beta1.FederatedTypeConfig {
	name := plural
	if group != "" {
		name += "." + group
	}
	return &corev1beta1.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: DefaultFederationNamespace, Name: name},
		Spec: corev1beta1.FederatedTypeConfigSpec{TargetType: corev1beta1.APIResource{
			Group: group, Version: version, Kind: kind, PluralName: plural, Scope: corev1beta1.NamespaceScoped,
		}},
	}
}

// decodeManifests decodes a multi-document YAML file into typed objects, in order.
func decodeManifests(t *testing.T, data []byte) []runtime.Object {
	t.Helper()
	decoder := serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()
	var objects []runtime.Object
	for _, document := range strings.Split(string(data), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(document, "---\n")) == "" || !strings.Contains(document, "kind:") {
			continue
		}
		object, _, err := decoder.Decode([]byte(document), nil, nil)
		if err != nil {
			t.Fatalf("decoding %q: %v", document, err)
		}
		objects = append(objects, object)
	}
	return objects
}

// TestJoinPullAgentManifests: join --mode pull --agent-manifests writes,
// mode 0600, the objects that run the agent in its member: its ClusterRole
// holds exactly ReconcilerRules for the FederatedTypeConfigs that exist,
// the Secret the bootstrap kubeconfig, and the Deployment runs one agent
// with the member's in-cluster configuration and its state on the claim.
func TestJoinPullAgentManifests(t *testing.T) {
	ctx := context.Background()
	hostConfig := &rest.Config{Host: "https://hub.example:6443", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("host CA")}}
	dir := t.TempDir()
	kubeconfigPath, manifestsPath := filepath.Join(dir, "bootstrap.kubeconfig"), filepath.Join(dir, "agent.yaml")
	// An existing file readable by others must not stay so once it holds the token.
	if err := os.WriteFile(manifestsPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, _ := fakeHost(agentNamespace())
	federation := fedfake.NewSimpleClientset(
		typeConfig("apps", "v1", "Deployment", "deployments"),
		typeConfig("", "v1", "ConfigMap", "configmaps"),
		typeConfig("", "v1", "Namespace", "namespaces"),
		typeConfig("example.com", "v1", "Gizmo", "gizmos"),
	)
	_, err := JoinPull(ctx, PullJoinOptions{
		TokenOptions: TokenOptions{ClusterName: "member-2", Host: host, Progress: io.Discard},
		HostConfig:   hostConfig, Federation: federation,
		KubeconfigPath: kubeconfigPath, AgentManifestsPath: manifestsPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(manifestsPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("agent manifests mode %v, want 0600", info.Mode().Perm())
	}
	data, err := os.ReadFile(manifestsPath)
	if err != nil {
		t.Fatal(err)
	}
	bootstrapKubeconfig, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	wantRules, err := ReconcilerRules(ctx, federation, DefaultFederationNamespace)
	if err != nil {
		t.Fatal(err)
	}

	objects := decodeManifests(t, data)
	var got []string
	for _, object := range objects {
		accessor, err := meta.Accessor(object)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s/%s", object.GetObjectKind().GroupVersionKind().Kind, accessor.GetNamespace(), accessor.GetName()))
	}
	want := []string{
		"Namespace /fedhub-agent",
		"ServiceAccount fedhub-agent/fedhub-agent",
		"ClusterRole /fedhub-agent",
		"ClusterRoleBinding /fedhub-agent",
		"Secret fedhub-agent/fedhub-agent-bootstrap",
		"PersistentVolumeClaim fedhub-agent/fedhub-agent-state",
		"Deployment fedhub-agent/fedhub-agent",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("objects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	role := objects[2].(*rbacv1.ClusterRole)
	if !equality.Semantic.DeepEqual(role.Rules, wantRules) {
		t.Errorf("ClusterRole rules %+v, want ReconcilerRules' %+v", role.Rules, wantRules)
	}
	managed := map[string]bool{}
	for _, rule := range role.Rules {
		for _, resource := range rule.Resources {
			if slices.Contains(rule.Verbs, "patch") {
				managed[rule.APIGroups[0]+"/"+resource] = true
			}
		}
	}
	for _, resource := range []string{"apps/deployments", "/configmaps", "/namespaces", "example.com/gizmos"} {
		if !managed[resource] {
			t.Errorf("the ClusterRole does not let the agent patch (server-side apply) %s: %+v", resource, role.Rules)
		}
	}
	binding := objects[3].(*rbacv1.ClusterRoleBinding)
	if binding.RoleRef.Name != "fedhub-agent" || len(binding.Subjects) != 1 ||
		binding.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: "fedhub-agent", Namespace: "fedhub-agent"}) {
		t.Errorf("ClusterRoleBinding %+v %+v, want the ClusterRole bound to the ServiceAccount", binding.RoleRef, binding.Subjects)
	}
	secret := objects[4].(*corev1.Secret)
	if string(secret.Data["bootstrap.kubeconfig"]) != string(bootstrapKubeconfig) || !strings.Contains(string(bootstrapKubeconfig), "token-of-bootstrap-member-2") {
		t.Errorf("Secret holds %q, want the bootstrap kubeconfig %q", secret.Data["bootstrap.kubeconfig"], bootstrapKubeconfig)
	}
	claim := objects[5].(*corev1.PersistentVolumeClaim)
	if !slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) ||
		claim.Spec.Resources.Requests.Storage().Cmp(resource.MustParse("10Mi")) != 0 {
		t.Errorf("claim %+v, want ReadWriteOnce, 10Mi", claim.Spec)
	}

	deployment := objects[6].(*appsv1.Deployment)
	if *deployment.Spec.Replicas != 1 || deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment: %d replicas, strategy %q; want 1, Recreate", *deployment.Spec.Replicas, deployment.Spec.Strategy.Type)
	}
	pod := deployment.Spec.Template.Spec
	if pod.ServiceAccountName != "fedhub-agent" {
		t.Errorf("pod ServiceAccount %q", pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	container := pod.Containers[0]
	if container.Image != DefaultAgentImage {
		t.Errorf("image %q, want %q", container.Image, DefaultAgentImage)
	}
	wantArgs := []string{"--cluster-name", "member-2", "--hub-kubeconfig", "/etc/fedhub-agent/bootstrap/bootstrap.kubeconfig",
		"--state-dir", "/var/lib/fedhub-agent", "-v=2"}
	if !slices.Equal(container.Args, wantArgs) {
		t.Errorf("args %q, want %q (no --member-kubeconfig: the in-cluster configuration)", container.Args, wantArgs)
	}
	security := container.SecurityContext
	if security == nil || !*security.RunAsNonRoot || !*security.ReadOnlyRootFilesystem || *security.AllowPrivilegeEscalation ||
		!slices.Equal(security.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		security.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v, want non-root, read-only root, no escalation, ALL capabilities dropped, RuntimeDefault seccomp", security)
	}
	if container.Resources.Requests.Cpu().IsZero() || container.Resources.Requests.Memory().IsZero() {
		t.Errorf("no resource requests: %+v", container.Resources)
	}
	mounts := map[string]string{}
	for _, mount := range container.VolumeMounts {
		mounts[mount.Name] = mount.MountPath
	}
	sources := map[string]string{}
	for _, volume := range pod.Volumes {
		switch {
		case volume.Secret != nil:
			sources[volume.Name] = "secret " + volume.Secret.SecretName
		case volume.PersistentVolumeClaim != nil:
			sources[volume.Name] = "claim " + volume.PersistentVolumeClaim.ClaimName
		}
	}
	for _, want := range []struct{ source, path string }{
		{"secret fedhub-agent-bootstrap", "/etc/fedhub-agent/bootstrap"},
		{"claim fedhub-agent-state", "/var/lib/fedhub-agent"},
	} {
		found := false
		for name, source := range sources {
			found = found || (source == want.source && mounts[name] == want.path)
		}
		if !found {
			t.Errorf("no %s mounted at %s: volumes %v, mounts %v", want.source, want.path, sources, mounts)
		}
	}
}

// TestAgentObjectsOptions: the image asked for, and a federation namespace
// other than the default, reach the Deployment.
func TestAgentObjectsOptions(t *testing.T) {
	objects := AgentObjects(AgentManifestOptions{ClusterName: "m", FederationNamespace: "other", Image: "registry.example.com/fedhub-agent:v1"})
	container := objects[len(objects)-1].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
	if container.Image != "registry.example.com/fedhub-agent:v1" {
		t.Errorf("image %q", container.Image)
	}
	if !strings.Contains(strings.Join(container.Args, " "), "--federation-namespace other") {
		t.Errorf("args %q do not pass the federation namespace", container.Args)
	}
}

// TestJoinPullAgentManifestsDryRun writes neither file.
func TestJoinPullAgentManifestsDryRun(t *testing.T) {
	dir := t.TempDir()
	host, _ := fakeHost(agentNamespace())
	_, err := JoinPull(context.Background(), PullJoinOptions{
		TokenOptions: TokenOptions{ClusterName: "member-2", Host: host, DryRun: true, Progress: io.Discard},
		HostConfig:   &rest.Config{Host: "https://hub.example:6443"}, Federation: fedfake.NewSimpleClientset(),
		KubeconfigPath: filepath.Join(dir, "b"), AgentManifestsPath: filepath.Join(dir, "m"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a dry run wrote %v", entries)
	}
}
