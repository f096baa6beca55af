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

package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// TestRestartKeepsEveryObject stops fedhub-apiserver and starts it again on the
// same embedded etcd data: every object, with its status, is still there.
func TestRestartKeepsEveryObject(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	server := startFedhub(t, dataDir)
	before := createOneOfEach(ctx, t, server.client)
	server.stop()

	server = startFedhub(t, dataDir)
	defer server.stop()
	after := readOneOfEach(ctx, t, server.client)
	for kind, want := range before {
		got := after[kind]
		if objectMeta(t, got).GetUID() != objectMeta(t, want).GetUID() {
			t.Errorf("%s has UID %s after the restart, want %s", kind, objectMeta(t, got).GetUID(), objectMeta(t, want).GetUID())
		}
		if !apiequality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s changed across the restart:\nbefore: %+v\nafter:  %+v", kind, want, got)
		}
	}
}

func createOneOfEach(ctx context.Context, t *testing.T, client clientset.Interface) map[string]runtime.Object {
	t.Helper()
	core := client.CoreV1beta1()
	cluster, err := core.KubeFedClusters(federationNamespace).Create(ctx, &corev1beta1.KubeFedCluster{
		ObjectMeta: objectMetaIn("member", nil),
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://member:6443", SecretRef: corev1beta1.LocalSecretReference{Name: "member"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cluster.Status.Conditions = []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue, LastProbeTime: metav1.Now().Rfc3339Copy()}}
	if cluster, err = core.KubeFedClusters(federationNamespace).UpdateStatus(ctx, cluster, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	config, err := core.KubeFedConfigs(federationNamespace).Create(ctx, &corev1beta1.KubeFedConfig{
		ObjectMeta: objectMetaIn("tuned", nil), Spec: corev1beta1.KubeFedConfigSpec{Scope: corev1beta1.NamespaceScoped},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	typeConfig, err := core.FederatedTypeConfigs(federationNamespace).Create(ctx, &corev1beta1.FederatedTypeConfig{
		ObjectMeta: objectMetaIn("widgets", nil), Spec: typeConfigSpec("widgets"),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	preference, err := client.SchedulingV1alpha1().ReplicaSchedulingPreferences("default").Create(ctx, &schedulingv1alpha1.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: "FederatedDeployment", TotalReplicas: 4},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]runtime.Object{"KubeFedCluster": cluster, "KubeFedConfig": config, "FederatedTypeConfig": typeConfig, "ReplicaSchedulingPreference": preference}
}

func readOneOfEach(ctx context.Context, t *testing.T, client clientset.Interface) map[string]runtime.Object {
	t.Helper()
	core := client.CoreV1beta1()
	read := map[string]func() (runtime.Object, error){
		"KubeFedCluster": func() (runtime.Object, error) {
			return core.KubeFedClusters(federationNamespace).Get(ctx, "member", metav1.GetOptions{})
		},
		"KubeFedConfig": func() (runtime.Object, error) {
			return core.KubeFedConfigs(federationNamespace).Get(ctx, "tuned", metav1.GetOptions{})
		},
		"FederatedTypeConfig": func() (runtime.Object, error) {
			return core.FederatedTypeConfigs(federationNamespace).Get(ctx, "widgets", metav1.GetOptions{})
		},
		"ReplicaSchedulingPreference": func() (runtime.Object, error) {
			return client.SchedulingV1alpha1().ReplicaSchedulingPreferences("default").Get(ctx, "web", metav1.GetOptions{})
		},
	}
	objects := map[string]runtime.Object{}
	for kind, get := range read {
		obj, err := get()
		if err != nil {
			t.Fatalf("reading the %s after the restart: %v", kind, err)
		}
		objects[kind] = obj
	}
	return objects
}
