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

package framework

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

func TestWorkloadsRollOutDeployment(t *testing.T) {
	binaries, err := DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	etcd, err := StartEtcd(ctx, binaries.Etcd, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Stop()
	cluster, err := StartCluster(ctx, binaries, ClusterOptions{Name: "member", Dir: dir + "/member", EtcdURL: etcd.ClientURL})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	if err := cluster.StartWorkloads(ctx, binaries, NodeOptions{Count: 2, Region: "region-a", Zone: "zone-a1"}); err != nil {
		t.Fatal(err)
	}

	nodes := checkNodeTopology(ctx, t, cluster, "region-a", "zone-a1")
	deployment := pauseDeployment("pause", 3)
	if _, err := cluster.Client.AppsV1().Deployments("default").Create(ctx, deployment, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var state string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		state = rolloutState(ctx, cluster, deployment, nodes)
		return state == "", nil
	})
	if err != nil {
		t.Fatalf("deployment did not roll out: %s: %v", state, err)
	}
	checkLogsAndExec(ctx, t, cluster, deployment)
}

// checkLogsAndExec asserts that kubectl reads a pod's logs and runs a
// command in it through the kube-apiserver, which reaches kwok as the
// node's kubelet.
func checkLogsAndExec(ctx context.Context, t *testing.T, cluster *Cluster, deployment *appsv1.Deployment) {
	t.Helper()
	pods, err := cluster.Client.CoreV1().Pods(deployment.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + deployment.Name})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("listing pods: %v (%d)", err, len(pods.Items))
	}
	pod := pods.Items[0].Name
	kubectl := func(args ...string) string {
		t.Helper()
		args = append([]string{"--kubeconfig", cluster.AdminKubeconfig, "-n", deployment.Namespace}, args...)
		out, err := exec.CommandContext(ctx, "kubectl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if got := kubectl("logs", pod); got != KwokPodLog+"\n" {
		t.Errorf("kubectl logs %s = %q, want %q", pod, got, KwokPodLog+"\n")
	}
	if got := kubectl("exec", pod, "--", "echo", "ok"); got != "ok\n" {
		t.Errorf("kubectl exec %s -- echo ok = %q, want %q", pod, got, "ok\n")
	}
}

// checkNodeTopology asserts that the cluster's nodes carry the region and
// zone labels, and returns their names.
func checkNodeTopology(ctx context.Context, t *testing.T, cluster *Cluster, region, zone string) map[string]bool {
	t.Helper()
	list, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("got %d kwok nodes, want 2", len(list.Items))
	}
	names := map[string]bool{}
	for _, node := range list.Items {
		names[node.Name] = true
		if got := node.Labels[corev1.LabelTopologyRegion]; got != region {
			t.Errorf("node %s: region %q, want %q", node.Name, got, region)
		}
		if got := node.Labels[corev1.LabelTopologyZone]; got != zone {
			t.Errorf("node %s: zone %q, want %q", node.Name, got, zone)
		}
	}
	return names
}

// pauseDeployment is an ordinary Deployment: nothing in it knows about kwok.
func pauseDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: name, Image: "registry.k8s.io/pause:3.10",
				}}},
			},
		},
	}
}

// rolloutState returns "" once the deployment reports all replicas ready and
// each of its pods runs on one of nodes, and otherwise what is still missing.
func rolloutState(ctx context.Context, cluster *Cluster, deployment *appsv1.Deployment, nodes map[string]bool) string {
	got, err := cluster.Client.AppsV1().Deployments(deployment.Namespace).Get(ctx, deployment.Name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	want := *deployment.Spec.Replicas
	if got.Status.ReadyReplicas != want {
		return fmt.Sprintf("readyReplicas %d, want %d", got.Status.ReadyReplicas, want)
	}
	pods, err := cluster.Client.CoreV1().Pods(deployment.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + deployment.Name})
	if err != nil {
		return err.Error()
	}
	if int32(len(pods.Items)) != want {
		return fmt.Sprintf("%d pods, want %d", len(pods.Items), want)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase != corev1.PodRunning || !nodes[pod.Spec.NodeName] {
			return fmt.Sprintf("pod %s is %s on node %q", pod.Name, pod.Status.Phase, pod.Spec.NodeName)
		}
	}
	return ""
}
