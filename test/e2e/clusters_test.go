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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	typesclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/test/framework"
)

const (
	federationNamespace = join.DefaultFederationNamespace
	// The health check this test configures: quick, with thresholds above one
	// so that they matter.
	probePeriod      = time.Second
	failureThreshold = 3
	successThreshold = 2
	// healthDeadline bounds every wait for a health change: the thresholds'
	// worth of probes plus the probe timeout, with a wide margin for a busy machine.
	healthDeadline = 60 * time.Second
)

// TestClusterLifecycle joins two real members with fedhubctl, watches their
// health through an outage of one, reports broken credentials, and unjoins.
func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	f := startUnjoinedFederation(t)
	kubeconfig := filepath.Join(t.TempDir(), "federation.kubeconfig")
	if err := f.WriteCombinedKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	configureHealthCheck(t, f)

	for _, member := range []string{"member-1", "member-2"} {
		out := mustFedhubctl(t, kubeconfig, "join", member, "--cluster-context", member)
		for _, step := range []string{"ServiceAccount kube-federation-system/fedhub-" + member + " created",
			"ClusterRole fedhub-" + member + " created", "host: Secret kube-federation-system/" + member + " created",
			"fedhub: KubeFedCluster kube-federation-system/" + member + " created"} {
			if !strings.Contains(out, step) {
				t.Errorf("join %s did not print %q:\n%s", member, step, out)
			}
		}
	}
	for _, member := range []string{"member-1", "member-2"} {
		cluster := waitForHealth(t, f, member, corev1beta1.ClusterReady, corev1.ConditionTrue, "ClusterReady")
		if cluster.Status.KubernetesVersion != "v1.37.2" {
			t.Errorf("%s reports Kubernetes %q, want v1.37.2", member, cluster.Status.KubernetesVersion)
		}
	}

	t.Run("join is idempotent and can refuse existing objects", func(t *testing.T) {
		out := mustFedhubctl(t, kubeconfig, "join", "member-1")
		if !strings.Contains(out, "KubeFedCluster kube-federation-system/member-1 updated") {
			t.Errorf("a second join did not update the KubeFedCluster:\n%s", out)
		}
		out, err := fedhubctlOutput(kubeconfig, "join", "member-1", "--error-on-existing")
		if err == nil || !strings.Contains(out, "already exists (--error-on-existing)") {
			t.Errorf("join --error-on-existing of a joined cluster: err=%v\n%s", err, out)
		}
		waitForHealth(t, f, "member-1", corev1beta1.ClusterReady, corev1.ConditionTrue, "ClusterReady")
	})

	t.Run("the federation's identity holds the least rights", func(t *testing.T) {
		identity := "system:serviceaccount:kube-federation-system:fedhub-member-1"
		for _, check := range []struct {
			verb, resource string
			allowed        bool
		}{
			{"create", "deployments.apps", true}, {"delete", "configmaps", true}, {"list", "nodes", true},
			{"create", "pods", false}, {"delete", "nodes", false}, {"impersonate", "users", false}, {"escalate", "clusterroles", false},
		} {
			out, _, _ := kubectlAs(kubeconfig, "--context", "member-1", "auth", "can-i", check.verb, check.resource, "--as", identity, "-A")
			if got := strings.TrimSpace(out) == "yes"; got != check.allowed {
				t.Errorf("can %s %s %s in the member: %v, want %v", identity, check.verb, check.resource, got, check.allowed)
			}
		}
	})

	t.Run("an outage of one member leaves the other untouched", func(t *testing.T) {
		role := propagateClusterRole(t, f, "outage-reader")
		steady := getCluster(t, f, "member-1")
		unchanged := watchForChanges(t, f, "member-1", steady.ResourceVersion)
		f.Members[1].StopAPIServer()
		down := waitForHealth(t, f, "member-2", corev1beta1.ClusterReady, corev1.ConditionFalse, "ClusterNotReachable")
		// Deleting while member-2 is down completes after a bounded wait.
		if err := role.Delete(ctx, "outage-reader", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if offline := condition(down, corev1beta1.ClusterOffline); offline == nil || offline.Status != corev1.ConditionTrue {
			t.Errorf("an unreachable member is not Offline: %+v", down.Status.Conditions)
		}
		// Until it is released, the deleting object's status names the
		// cluster that may still hold it, and why.
		eventuallyWithin(t, time.Minute, "the deleting FederatedClusterRole's status names member-2", func() (string, bool) {
			obj, err := role.Get(ctx, "outage-reader", metav1.GetOptions{})
			if err != nil {
				return err.Error(), false
			}
			var held []string
			for _, c := range obj.Status.Clusters {
				held = append(held, c.Name+"="+c.Status)
			}
			return strings.Join(held, " "), true
		}, "member-2=ClusterNotReady")
		if down.Status.KubernetesVersion != "v1.37.2" {
			t.Errorf("the last known version was dropped: %q", down.Status.KubernetesVersion)
		}
		// Several probe periods more: the unreachable member's status is not
		// rewritten either, and the reachable one's never was.
		downVersion := down.ResourceVersion
		if changes := unchanged(10 * probePeriod); len(changes) > 0 {
			t.Errorf("member-1's status was rewritten while nothing changed: %v", changes)
		}
		if again := getCluster(t, f, "member-2"); again.ResourceVersion != downVersion {
			t.Errorf("member-2's unchanged status was rewritten: %+v", again.Status.Conditions)
		}
		events := mustKubectlAs(t, kubeconfig, "get", "events", "-n", federationNamespace, "--field-selector", "involvedObject.name=member-2,reason=ClusterNotReachable")
		if !strings.Contains(events, "Warning") {
			t.Errorf("no ClusterNotReachable event on member-2:\n%s", events)
		}
		err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := role.Get(ctx, "outage-reader", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("the FederatedClusterRole was not released while member-2 was down: %v", err)
		}
		incomplete := mustKubectlAs(t, kubeconfig, "get", "events", "-n", "default", "--field-selector", "involvedObject.name=outage-reader,reason=DeletionIncomplete", "-o", "jsonpath={.items[*].message}")
		if !strings.Contains(incomplete, "member-2") {
			t.Errorf("no DeletionIncomplete event naming member-2: %q", incomplete)
		}
		if _, err := f.Members[0].Client.RbacV1().ClusterRoles().Get(ctx, "outage-reader", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("member-1's ClusterRole was not deleted: %v", err)
		}

		if err := f.Members[1].StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		waitForHealth(t, f, "member-2", corev1beta1.ClusterReady, corev1.ConditionTrue, "ClusterReady")
	})

	t.Run("broken credentials are reported and harm no other cluster", func(t *testing.T) {
		steady := getCluster(t, f, "member-1")
		unchanged := watchForChanges(t, f, "member-1", steady.ResourceVersion)
		createCluster(t, f, "no-secret", f.Members[0], "missing-secret")
		if _, err := f.Host.Client.CoreV1().Secrets(federationNamespace).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "wrong-token"},
			Data:       map[string][]byte{"token": []byte("not-a-token")},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createCluster(t, f, "wrong-token", f.Members[0], "wrong-token")

		missing := waitForHealth(t, f, "no-secret", corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, "ClusterConfigMalformed")
		if msg := ptr.Deref(condition(missing, corev1beta1.ClusterConfigMalformed).Message, ""); !strings.Contains(msg, "missing-secret") {
			t.Errorf("the message does not name the missing Secret: %q", msg)
		}
		// The Secret may reach fedhub's informer after the cluster does, so
		// "missing" can come first; what the user is left with must say why.
		waitForHealthSaying(t, f, "wrong-token", corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, "ClusterConfigMalformed", "rejected the token")
		if changes := unchanged(5 * probePeriod); len(changes) > 0 {
			t.Errorf("member-1's status changed while other clusters were broken: %v", changes)
		}
		for _, name := range []string{"no-secret", "wrong-token"} {
			if err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("unjoin removes what join created and lists what it leaves", func(t *testing.T) {
		leftovers := placeOnMember(t, f, f.Members[1])
		out := mustFedhubctl(t, kubeconfig, "unjoin", "member-2")
		for _, line := range []string{"fedhub: KubeFedCluster kube-federation-system/member-2 removed",
			"host: Secret kube-federation-system/member-2 removed", "member-2: ClusterRole fedhub-member-2 removed",
			"member-2: ServiceAccount kube-federation-system/fedhub-member-2 removed",
			"FederatedConfigMap " + leftovers + " (placement.clusters)", "ConfigMap " + leftovers} {
			if !strings.Contains(out, line) {
				t.Errorf("unjoin did not print %q:\n%s", line, out)
			}
		}
		if _, err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the KubeFedCluster is still there: %v", err)
		}
		if _, err := f.Host.Client.CoreV1().Secrets(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the host Secret is still there: %v", err)
		}
		member := f.Members[1].Client
		if _, err := member.RbacV1().ClusterRoleBindings().Get(ctx, "fedhub-member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the member's ClusterRoleBinding is still there: %v", err)
		}
		namespace, err := member.CoreV1().Namespaces().Get(ctx, federationNamespace, metav1.GetOptions{})
		if err == nil && namespace.DeletionTimestamp == nil {
			t.Errorf("the namespace join created is not being deleted")
		}
		if _, err := member.CoreV1().ConfigMaps("leftovers").Get(ctx, "app-config", metav1.GetOptions{}); err != nil {
			t.Errorf("unjoin deleted a workload object: %v", err)
		}
		waitForHealth(t, f, "member-1", corev1beta1.ClusterReady, corev1.ConditionTrue, "ClusterReady")
	})

	t.Run("a join that fails part-way removes what it created", func(t *testing.T) {
		waitNamespaceGone(t, f.Members[1], federationNamespace)
		out, err := fedhubctlOutput(kubeconfig, "join", "member-2", "--secret-name", "Not_A_Name")
		if err == nil {
			t.Fatalf("join with an invalid Secret name succeeded:\n%s", out)
		}
		for _, line := range []string{"join failed; removing what it created:", "member-2: ServiceAccount kube-federation-system/fedhub-member-2 removed"} {
			if !strings.Contains(out, line) {
				t.Errorf("join did not print %q:\n%s", line, out)
			}
		}
		if _, err := f.Members[1].Client.CoreV1().ServiceAccounts(federationNamespace).Get(ctx, "fedhub-member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the ServiceAccount of the failed join is still there: %v", err)
		}
		if _, err := f.Members[1].Client.RbacV1().ClusterRoles().Get(ctx, "fedhub-member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the ClusterRole of the failed join is still there: %v", err)
		}
	})
}

func startUnjoinedFederation(t *testing.T) *framework.Federation {
	t.Helper()
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	binaries.FedhubAPIServer = fedhubAPIServer
	dir, err := os.MkdirTemp("", "fedhub-e2e-clusters-")
	if err != nil {
		t.Fatal(err)
	}
	f, err := framework.StartFederation(context.Background(), framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: 2, MembersAPIOnly: true, Unjoined: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop()
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("process logs are in %s", dir)
		}
	})
	return f
}

// configureHealthCheck sets KubeFedConfig.spec.clusterHealthCheck as a user would.
func configureHealthCheck(t *testing.T, f *framework.Federation) {
	t.Helper()
	configs := f.Client.CoreV1beta1().KubeFedConfigs(federationNamespace)
	config, err := configs.Get(context.Background(), "kubefed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	config.Spec.ClusterHealthCheck = &corev1beta1.ClusterHealthCheckConfig{
		Period: &metav1.Duration{Duration: probePeriod}, Timeout: &metav1.Duration{Duration: probePeriod},
		FailureThreshold: ptr.To[int64](failureThreshold), SuccessThreshold: ptr.To[int64](successThreshold),
	}
	if _, err := configs.Update(context.Background(), config, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func fedhubctlOutput(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(fedhubctl, append([]string{"--kubeconfig", kubeconfig, "--host-cluster-context", "host"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustFedhubctl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := fedhubctlOutput(kubeconfig, args...)
	if err != nil {
		t.Fatalf("fedhubctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func getCluster(t *testing.T, f *framework.Federation, name string) *corev1beta1.KubeFedCluster {
	t.Helper()
	cluster, err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cluster
}

func condition(cluster *corev1beta1.KubeFedCluster, conditionType corev1beta1.ClusterConditionType) *corev1beta1.ClusterCondition {
	for i, c := range cluster.Status.Conditions {
		if c.Type == conditionType {
			return &cluster.Status.Conditions[i]
		}
	}
	return nil
}

// waitForHealth waits until the cluster's condition has the status and reason.
func waitForHealth(t *testing.T, f *framework.Federation, name string, conditionType corev1beta1.ClusterConditionType, status corev1.ConditionStatus, reason string) *corev1beta1.KubeFedCluster {
	t.Helper()
	return waitForHealthSaying(t, f, name, conditionType, status, reason, "")
}

// waitForHealthSaying is waitForHealth that also waits for the condition's
// message to contain message.
func waitForHealthSaying(t *testing.T, f *framework.Federation, name string, conditionType corev1beta1.ClusterConditionType, status corev1.ConditionStatus, reason, message string) *corev1beta1.KubeFedCluster {
	t.Helper()
	var last *corev1beta1.KubeFedCluster
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, healthDeadline, true, func(ctx context.Context) (bool, error) {
		cluster, err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = cluster
		c := condition(cluster, conditionType)
		return c != nil && c.Status == status && ptr.Deref(c.Reason, "") == reason && strings.Contains(ptr.Deref(c.Message, ""), message), nil
	})
	if err != nil {
		var conditions any
		if last != nil {
			conditions = last.Status.Conditions
		}
		t.Fatalf("%s did not report %s=%s (%s) saying %q within %s; conditions: %+v", name, conditionType, status, reason, message, healthDeadline, conditions)
	}
	return last
}

// watchForChanges watches a cluster from resourceVersion; the returned
// function waits for the given span and returns what changed in it.
func watchForChanges(t *testing.T, f *framework.Federation, name, resourceVersion string) func(time.Duration) []string {
	t.Helper()
	w, err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Watch(context.Background(), metav1.ListOptions{
		FieldSelector: "metadata.name=" + name, ResourceVersion: resourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for event := range w.ResultChan() {
			// Stopping the watch closes its stream, which may end it with an error event.
			if event.Type == watch.Bookmark || stopped.Load() {
				continue
			}
			if cluster, ok := event.Object.(*corev1beta1.KubeFedCluster); ok {
				changes = append(changes, string(event.Type)+" at resourceVersion "+cluster.ResourceVersion)
			} else {
				changes = append(changes, fmt.Sprintf("%s %+v", event.Type, event.Object))
			}
		}
	}()
	return func(span time.Duration) []string {
		// An absence of writes can only be seen over a span of time.
		time.Sleep(span)
		stopped.Store(true)
		w.Stop()
		<-done
		return changes
	}
}

func createCluster(t *testing.T, f *framework.Federation, name string, member *framework.Cluster, secret string) {
	t.Helper()
	_, err := f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Create(context.Background(), &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: member.URL, CABundle: member.CA.CertPEM,
			SecretRef: corev1beta1.LocalSecretReference{Name: secret}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// placeOnMember creates a FederatedConfigMap placed on the member and the
// ConfigMap propagation would have created there; it returns namespace/name.
func placeOnMember(t *testing.T, f *framework.Federation, member *framework.Cluster) string {
	t.Helper()
	ctx := context.Background()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "leftovers"}}
	if _, err := f.Host.Client.CoreV1().Namespaces().Create(ctx, namespace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(f.Host.AdminConfig)
	if err != nil {
		t.Fatal(err)
	}
	federated := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": "app-config", "namespace": "leftovers"},
		"spec": map[string]any{
			"template":  map[string]any{"data": map[string]any{"color": "blue"}},
			"placement": map[string]any{"clusters": []any{map[string]any{"name": member.Name}}},
		},
	}}
	resource := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedconfigmaps"}
	if _, err := client.Resource(resource).Namespace("leftovers").Create(ctx, federated, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	memberClient := member.Client
	if _, err := memberClient.CoreV1().Namespaces().Create(ctx, namespace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := memberClient.CoreV1().ConfigMaps("leftovers").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-config", Labels: map[string]string{join.ManagedLabel: "true"}},
		Data:       map[string]string{"color": "blue"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return "leftovers/app-config"
}

func waitNamespaceGone(t *testing.T, member *framework.Cluster, name string) {
	t.Helper()
	// The member's namespace controller deletes the content first; after the
	// member's kube-apiserver restarted it took up to a minute here.
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := member.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace %s in %s was not deleted: %v", name, member.Name, err)
	}
}

// TestKubectlPlugin: installed as kubectl-fedhub on PATH, fedhubctl is the
// kubectl plugin "kubectl fedhub" and says so in its usage.
func TestKubectlPlugin(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(fedhubctl, filepath.Join(dir, "kubectl-fedhub")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kubectl", "fedhub", "join", "--help")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl fedhub join --help: %v\n%s", err, out)
	}
	for _, want := range []string{"kubectl fedhub join NAME [--cluster-context CONTEXT | --mode pull]", "--error-on-existing", "--host-cluster-context", "--kubefed-namespace"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the plugin's help lacks %q:\n%s", want, out)
		}
	}
}

// propagateClusterRole creates a FederatedClusterRole placed on every cluster
// and waits until both members have the ClusterRole.
func propagateClusterRole(t *testing.T, f *framework.Federation, name string) typesclient.FederatedClusterRoleInterface {
	t.Helper()
	ctx := context.Background()
	roles := f.Client.TypesV1beta1().FederatedClusterRoles()
	_, err := roles.Create(ctx, &typesv1beta1.FederatedClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: typesv1beta1.FederatedClusterRoleSpec{
			Template: typesv1beta1.ClusterRoleTemplate{Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
			Placement: typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range f.Members {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, propagationDeadline, true, func(ctx context.Context) (bool, error) {
			_, err := member.Client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("%s did not get ClusterRole %s: %v", member.Name, name, err)
		}
	}
	return roles
}
