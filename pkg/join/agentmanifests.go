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
	"bytes"
	"fmt"
	"os"
	"path"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// The objects of a pull cluster's fedhub-agent in its member (AgentObjects).
const (
	// AgentMemberNamespace holds the agent's namespaced objects in the member.
	AgentMemberNamespace = "fedhub-agent"
	// AgentMemberName names the agent's ServiceAccount, ClusterRole,
	// ClusterRoleBinding and Deployment in the member.
	AgentMemberName = "fedhub-agent"
	// AgentBootstrapSecret holds the bootstrap kubeconfig under AgentBootstrapKey.
	AgentBootstrapSecret = "fedhub-agent-bootstrap"
	AgentBootstrapKey    = "bootstrap.kubeconfig"
	// AgentStateClaim is the agent's --state-dir: its identity.kubeconfig
	// outlives the pod, and the bootstrap token it was obtained with.
	AgentStateClaim = "fedhub-agent-state"
	// DefaultAgentImage is a placeholder: this repository publishes no image.
	DefaultAgentImage = "fedhub-agent:latest"

	agentBootstrapDir = "/etc/fedhub-agent/bootstrap"
	agentStateDir     = "/var/lib/fedhub-agent"
	// agentUser runs the agent: any user but root (the image's own USER is
	// not relied on, so runAsNonRoot holds for any image).
	agentUser = 65532
)

// AgentManifestOptions say what the member-side objects of a pull cluster's
// agent hold.
type AgentManifestOptions struct {
	// ClusterName is the pull cluster (the agent's --cluster-name).
	ClusterName string
	// FederationNamespace is passed as --federation-namespace when not the default.
	FederationNamespace string
	// Image is the agent's image; DefaultAgentImage when empty.
	Image string
	// Rules are the agent's rights in the member: ReconcilerRules.
	Rules []rbacv1.PolicyRule
	// BootstrapKubeconfig is the serialized bootstrap kubeconfig (BootstrapKubeconfig).
	BootstrapKubeconfig []byte
	// TokenExpires, when set, is said in the file's header.
	TokenExpires time.Time
}

// AgentObjects are the objects that run a pull cluster's fedhub-agent in
// its member, in apply order: the namespace, the agent's ServiceAccount,
// its ClusterRole (o.Rules) and binding, the Secret with the bootstrap
// kubeconfig, the claim holding its state, and the Deployment (one
// replica, Recreate: one agent per cluster at a time, and the claim is
// ReadWriteOnce) that runs it with the member's in-cluster configuration.
func AgentObjects(o AgentManifestOptions) []runtime.Object {
	image := o.Image
	if image == "" {
		image = DefaultAgentImage
	}
	labels := map[string]string{"app.kubernetes.io/name": AgentMemberName, "app.kubernetes.io/part-of": "fedhub"}
	meta := func(name, namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels}
	}
	namespace := &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: AgentMemberNamespace, Labels: map[string]string{
			"app.kubernetes.io/name": AgentMemberName, "app.kubernetes.io/part-of": "fedhub",
			// The agent's pod meets the restricted Pod Security Standard.
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		}},
	}
	account := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(AgentMemberName, AgentMemberNamespace),
	}
	role := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: meta(AgentMemberName, ""),
		Rules:      o.Rules,
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: meta(AgentMemberName, ""),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AgentMemberName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AgentMemberName, Namespace: AgentMemberNamespace}},
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(AgentBootstrapSecret, AgentMemberNamespace),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{AgentBootstrapKey: o.BootstrapKubeconfig},
	}
	claim := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: meta(AgentStateClaim, AgentMemberNamespace),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("10Mi"),
			}},
		},
	}
	args := []string{"--cluster-name", o.ClusterName,
		"--hub-kubeconfig", path.Join(agentBootstrapDir, AgentBootstrapKey),
		"--state-dir", agentStateDir}
	if o.FederationNamespace != "" && o.FederationNamespace != DefaultFederationNamespace {
		args = append(args, "--federation-namespace", o.FederationNamespace)
	}
	args = append(args, "-v=2")
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: meta(AgentMemberName, AgentMemberNamespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			// The old pod is gone before the new one starts: two agents of
			// one cluster would apply the same Works, and the claim is
			// ReadWriteOnce.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": AgentMemberName}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: AgentMemberName,
					// The in-cluster configuration: the agent reaches its
					// member with this ServiceAccount's token.
					AutomountServiceAccountToken: ptr.To(true),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true),
						RunAsUser:    ptr.To[int64](agentUser),
						RunAsGroup:   ptr.To[int64](agentUser),
						// The state volume and the bootstrap Secret's files
						// belong to this group, so the agent can use them.
						FSGroup:        ptr.To[int64](agentUser),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  AgentMemberName,
						Image: image,
						Args:  args,
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("50m"),
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "bootstrap", MountPath: agentBootstrapDir, ReadOnly: true},
							{Name: "state", MountPath: agentStateDir},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "bootstrap", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: AgentBootstrapSecret, DefaultMode: ptr.To[int32](0o440),
						}}},
						{Name: "state", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: AgentStateClaim,
						}}},
					},
				},
			},
		},
	}
	return []runtime.Object{namespace, account, role, binding, secret, claim, deployment}
}

// AgentManifests is AgentObjects as one multi-document YAML file, for
// kubectl apply -f in the member. It holds the bootstrap token.
func AgentManifests(o AgentManifestOptions) ([]byte, error) {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# fedhub-agent of the pull cluster %s, to apply in that cluster as its administrator:\n", o.ClusterName)
	fmt.Fprintf(&out, "#   kubectl --context MEMBER apply -f THIS-FILE\n")
	fmt.Fprintf(&out, "# The Secret %s holds a bootstrap token of the host: keep this file private.\n", AgentBootstrapSecret)
	if !o.TokenExpires.IsZero() {
		fmt.Fprintf(&out, "# The token is valid until %s: the agent must register before then.\n", o.TokenExpires.UTC().Format(time.RFC3339))
	}
	for _, object := range AgentObjects(o) {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(object)
		if err != nil {
			return nil, err
		}
		// Nothing a server sets (no empty status), and no empty spec.
		delete(content, "status")
		if spec, ok := content["spec"].(map[string]any); ok && len(spec) == 0 {
			delete(content, "spec")
		}
		data, err := yaml.Marshal(content)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	return out.Bytes(), nil
}

// writePrivate writes data to path with mode 0600, also when path exists
// with another mode: the mode is set before anything is written.
func writePrivate(path string, data []byte) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := file.Chmod(0o600); err != nil {
		file.Close()
		return err
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
