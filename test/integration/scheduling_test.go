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
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	schedulingclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/cmd/server"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
)

// TestSchedulingWithoutOneWorkloadKind starts the scheduling controller while
// federateddeployments is not served (its FederatedTypeConfig was deleted):
// preferences for FederatedReplicaSets are still planned, and one for a
// FederatedDeployment says that its kind is not served.
func TestSchedulingWithoutOneWorkloadKind(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	onlyScheduling := func(o *server.Options) { o.Controllers = []string{scheduling.ControllerName} }
	fedhub := startFedhub(t, dataDir, onlyScheduling)
	// The default FederatedTypeConfigs are created at the first start only,
	// so this deletion outlives the restart below.
	typeConfigs := fedhub.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace)
	deployments, err := typeConfigs.Get(ctx, "deployments.apps", metav1.GetOptions{})
	if err == nil {
		err = typeConfigs.Delete(ctx, deployments.Name, metav1.DeleteOptions{})
	}
	if err != nil {
		fedhub.stop()
		t.Fatal(err)
	}
	waitForDiscovery(t, fedhub, "federateddeployments", false)
	fedhub.stop()
	fedhub = startFedhub(t, dataDir, onlyScheduling)
	defer fedhub.stop()
	typeConfigs = fedhub.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace)

	dynamicClient, err := dynamic.NewForConfig(fedhub.config)
	if err != nil {
		t.Fatal(err)
	}
	replicaSets := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedreplicasets"}
	replicaSet := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedReplicaSet",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec": map[string]any{
			"template": map[string]any{"spec": map[string]any{
				"replicas": int64(3),
				"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
				},
			}},
			"placement": map[string]any{"clusterSelector": map[string]any{}},
		},
	}}
	if _, err := dynamicClient.Resource(replicaSets).Namespace("default").Create(ctx, replicaSet, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	preferences := fedhub.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("default")
	for name, kind := range map[string]string{"web": "FederatedReplicaSet", "api": "FederatedDeployment"} {
		if _, err := preferences.Create(ctx, &schedulingv1alpha1.ReplicaSchedulingPreference{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec:       schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: kind, TotalReplicas: 4},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// With no member cluster, a preference whose workload exists is told so.
	waitForScheduledConditions(ctx, t, preferences, map[string]reasonAndMessage{
		"web": {scheduling.ReasonNoCandidateClusters, "no cluster is ready"},
		"api": {scheduling.ReasonTargetNotFound, "FederatedDeployment is not served"},
	})

	// Federated again, the kind is followed without a restart.
	deployments.ResourceVersion, deployments.UID = "", ""
	if _, err := typeConfigs.Create(ctx, deployments, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForScheduledConditions(ctx, t, preferences, map[string]reasonAndMessage{
		"api": {scheduling.ReasonTargetNotFound, "no FederatedDeployment default/api"},
	})
}

type reasonAndMessage struct{ reason, message string }

// waitForScheduledConditions waits until each preference's Scheduled
// condition has the reason and a message containing the text wanted.
func waitForScheduledConditions(ctx context.Context, t *testing.T, preferences schedulingclient.ReplicaSchedulingPreferenceInterface,
	want map[string]reasonAndMessage) {
	t.Helper()
	got := map[string]string{}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		done := true
		for name, w := range want {
			rsp, err := preferences.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			condition := meta.FindStatusCondition(rsp.Status.Conditions, scheduling.ConditionScheduled)
			if condition == nil {
				got[name] = "no Scheduled condition"
				done = false
				continue
			}
			got[name] = condition.Reason + ": " + condition.Message
			done = done && condition.Reason == w.reason && strings.Contains(condition.Message, w.message)
		}
		return done, nil
	})
	if err != nil {
		t.Fatalf("preferences' Scheduled conditions %v, want %v: %v", got, want, err)
	}
}
