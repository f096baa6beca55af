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
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/test/framework"
)

// TestClusterAccessUX: a hub user allowed to use the proxy of every
// KubeFedCluster, and granted reading namespaces in each member under the
// prefixed name, reaches member-1 with plain kubectl through the kubeconfig
// fedhubctl writes, and sees both members in one table of kubectl fedhub get.
func TestClusterAccessUX(t *testing.T) {
	f := sharedFederation(t)
	ctx := context.Background()
	const user = "ux-alice"
	grantClusterAccess(ctx, t, f, user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}})
	onlyInMember1 := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ux-only-in-member-1"}}
	if _, err := f.Members[0].Client.CoreV1().Namespaces().Create(ctx, onlyInMember1, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.Members[0].Client.CoreV1().Namespaces().Delete(context.Background(), onlyInMember1.Name, metav1.DeleteOptions{})
	})
	hostConfig := userKubeconfig(t, f, user)

	// fedhubctl kubeconfig, then plain kubectl with its output.
	memberConfig := filepath.Join(t.TempDir(), "member-1.kubeconfig")
	if out, err := exec.Command(fedhubctl, "--kubeconfig", hostConfig, "kubeconfig", "member-1", "-o", memberConfig).CombinedOutput(); err != nil {
		t.Fatalf("fedhubctl kubeconfig member-1: %v\n%s", err, out)
	}
	names := strings.Fields(mustKubectlAs(t, memberConfig, "get", "ns", "-o", "name"))
	for _, want := range []string{"namespace/default", "namespace/" + onlyInMember1.Name} {
		if !slices.Contains(names, want) {
			t.Errorf("kubectl get ns with the kubeconfig of member-1 lacks %s: %v", want, names)
		}
	}
	if out, err := exec.Command(fedhubctl, "--kubeconfig", hostConfig, "kubeconfig", "member-9").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `Error from server (NotFound): kubefedclusters.core.kubefed.io "member-9" not found`) {
		t.Errorf("fedhubctl kubeconfig member-9: %v\n%s", err, out)
	}

	// kubectl fedhub get: one table, a CLUSTER column, both members.
	plugins := t.TempDir()
	if err := os.Symlink(fedhubctl, filepath.Join(plugins, "kubectl-fedhub")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kubectl", "fedhub", "--kubeconfig", hostConfig, "get", "ns", "--clusters", "all")
	cmd.Env = append(os.Environ(), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl fedhub get ns --clusters all: %v\n%s", err, stderrOf(err))
	}
	t.Logf("kubectl fedhub get ns --clusters all:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if header := strings.Fields(lines[0]); !slices.Equal(header, []string{"CLUSTER", "NAME", "STATUS", "AGE"}) {
		t.Errorf("header %v, want CLUSTER NAME STATUS AGE:\n%s", header, out)
	}
	rows := map[string]bool{}
	var clusters []string
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		rows[fields[0]+" "+fields[1]] = true
		clusters = append(clusters, fields[0])
	}
	for _, want := range []string{"member-1 default", "member-2 default", "member-1 " + onlyInMember1.Name} {
		if !rows[want] {
			t.Errorf("no row %q:\n%s", want, out)
		}
	}
	if rows["member-2 "+onlyInMember1.Name] {
		t.Errorf("member-2 shows member-1's namespace:\n%s", out)
	}
	if !slices.IsSorted(clusters) {
		t.Errorf("rows are not sorted by cluster:\n%s", out)
	}
}

// grantClusterAccess lets user use every KubeFedCluster's proxy (host RBAC)
// and do what memberRules allow in every member as fedhub:<user> (member
// RBAC); the grants are removed when the test ends.
func grantClusterAccess(ctx context.Context, t *testing.T, f *framework.Federation, user string, memberRules ...rbacv1.PolicyRule) {
	t.Helper()
	name := "fedhub-e2e-" + user
	namespace := join.DefaultFederationNamespace
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"core.kubefed.io"}, Resources: []string{"kubefedclusters"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"core.kubefed.io"}, Resources: []string{"kubefedclusters/proxy"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := f.Host.Client.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Host.Client.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.Host.Client.RbacV1().RoleBindings(namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = f.Host.Client.RbacV1().Roles(namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	for _, member := range f.Members {
		// Members' API-only controller managers do not aggregate "view"; the role says what the test needs.
		clusterRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: memberRules}
		clusterBinding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "fedhub:" + user}},
		}
		if _, err := member.Client.RbacV1().ClusterRoles().Create(ctx, clusterRole, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := member.Client.RbacV1().ClusterRoleBindings().Create(ctx, clusterBinding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = member.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
			_ = member.Client.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
}

// TestClusterAccessWorkloads: on full members, kubectl fedhub get pods lists
// both members' pods, and kubectl with fedhubctl's kubeconfig reads a pod's
// logs and runs a command in it through the proxy (kwok plays the kubelet).
func TestClusterAccessWorkloads(t *testing.T) {
	f := workloads.get(t)
	ctx := context.Background()
	const user, namespace = "ux-bob", "ux-workloads"
	grantClusterAccess(ctx, t, f, user,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}})
	pods := map[string]string{}
	for _, member := range f.Members {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "ux-" + member.Name, Namespace: namespace},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
		}
		if _, err := member.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = member.Client.CoreV1().Namespaces().Delete(context.Background(), namespace, metav1.DeleteOptions{})
		})
		if _, err := member.Client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := member.Client.CoreV1().Pods(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			return err == nil && got.Status.Phase == corev1.PodRunning, nil
		})
		if err != nil {
			t.Fatalf("pod %s in %s is not Running: %v", pod.Name, member.Name, err)
		}
		pods[member.Name] = pod.Name
	}
	hostConfig := userKubeconfig(t, f, user)

	out, err := exec.Command(fedhubctl, "--kubeconfig", hostConfig, "get", "pods", "-n", namespace, "--clusters", "all").Output()
	if err != nil {
		t.Fatalf("fedhubctl get pods --clusters all: %v\n%s", err, stderrOf(err))
	}
	t.Logf("fedhubctl get pods -n %s --clusters all:\n%s", namespace, out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if header := strings.Fields(lines[0]); len(header) < 3 || header[0] != "CLUSTER" || header[1] != "NAME" || header[2] != "READY" {
		t.Errorf("header %v, want CLUSTER NAME READY ...", header)
	}
	var got []string
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		got = append(got, fields[0]+" "+fields[1])
	}
	if want := []string{"member-1 " + pods["member-1"], "member-2 " + pods["member-2"]}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}

	memberConfig := filepath.Join(t.TempDir(), "member-1.kubeconfig")
	if out, err := exec.Command(fedhubctl, "--kubeconfig", hostConfig, "kubeconfig", "member-1", "-o", memberConfig).CombinedOutput(); err != nil {
		t.Fatalf("fedhubctl kubeconfig member-1: %v\n%s", err, out)
	}
	if got := mustKubectlAs(t, memberConfig, "logs", "-n", namespace, pods["member-1"]); got != framework.KwokPodLog+"\n" {
		t.Errorf("kubectl logs through the proxy = %q, want %q", got, framework.KwokPodLog+"\n")
	}
	if got := mustKubectlAs(t, memberConfig, "exec", "-n", namespace, pods["member-1"], "--", "echo", "ok"); got != "ok\n" {
		t.Errorf("kubectl exec -- echo ok through the proxy = %q, want %q", got, "ok\n")
	}
}

// stderrOf is what a command that failed wrote to stderr, when Output kept it.
func stderrOf(err error) string {
	if exitErr, ok := err.(*exec.ExitError); ok {
		return string(exitErr.Stderr)
	}
	return ""
}
