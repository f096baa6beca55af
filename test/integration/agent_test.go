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
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// TestAgentGroup serves agent.fedhub.io/v1alpha1 from a standalone server:
// discovery, registrations and their /status and /token, and Works with their
// finalizer, field selector and agent scoping, through the generated clientset.
func TestAgentGroup(t *testing.T) {
	dataDir := t.TempDir()
	server := startFedhub(t, dataDir)
	defer server.stop()
	ctx := context.Background()

	discovery, err := kubernetes.NewForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := discovery.Discovery().ServerResourcesForGroupVersion(agentv1alpha1.SchemeGroupVersion.String())
	if err != nil {
		t.Fatalf("discovery of agent.fedhub.io/v1alpha1: %v", err)
	}
	served := map[string]metav1.APIResource{}
	for _, r := range resources.APIResources {
		served[r.Name] = r
	}
	for _, name := range []string{"clusterregistrations", "clusterregistrations/status", "clusterregistrations/token", "works", "works/status"} {
		if _, ok := served[name]; !ok {
			t.Errorf("discovery lacks %s: %v", name, served)
		}
	}
	if r := served["clusterregistrations"]; !slices.Equal(r.ShortNames, []string{"creg"}) || !r.Namespaced {
		t.Errorf("clusterregistrations: short names %v namespaced %v, want [creg] and true", r.ShortNames, r.Namespaced)
	}
	if r := served["clusterregistrations/token"]; r.Kind != "AgentToken" || !slices.Equal(r.Verbs, metav1.Verbs{"create"}) {
		t.Errorf("clusterregistrations/token: kind %s verbs %v, want AgentToken and create", r.Kind, r.Verbs)
	}

	agents := server.client.AgentV1alpha1()
	registrations := agents.ClusterRegistrations(federationNamespace)
	registration, err := registrations.Create(ctx, &agentv1alpha1.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2"},
		Spec:       agentv1alpha1.ClusterRegistrationSpec{APIEndpoint: "https://10.0.0.2:6443", Approved: true},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create registration: %v", err)
	}
	registration.Status = agentv1alpha1.ClusterRegistrationStatus{RenewTime: ptrMicro(metav1.NowMicro()), LeaseDurationSeconds: 40, KubernetesVersion: "v1.37.2"}
	if _, err := registrations.UpdateStatus(ctx, registration, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status of registration: %v", err)
	}
	_, err = registrations.CreateToken(ctx, "member-2", &agentv1alpha1.AgentToken{}, metav1.CreateOptions{})
	if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "pull mode needs a host cluster") {
		t.Errorf("token without a host: got %v, want 503 saying pull mode needs a host cluster", err)
	}

	works := agents.Works(federationNamespace)
	newWork := func(cluster string) *agentv1alpha1.Work {
		return &agentv1alpha1.Work{
			ObjectMeta: metav1.ObjectMeta{Name: cluster + "-0123456789abcdef"},
			Spec: agentv1alpha1.WorkSpec{
				ClusterName: cluster,
				Source: agentv1alpha1.WorkSource{APIVersion: "types.kubefed.io/v1beta1", Kind: "FederatedConfigMap",
					Resource: "federatedconfigmaps", Namespace: "default", Name: "settings"},
				Resource: agentv1alpha1.WorkResource{Version: "v1", Resource: "configmaps", Namespaced: true},
				Manifest: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"}}`)},
			},
		}
	}
	for _, cluster := range []string{"member-2", "member-3"} {
		created, err := works.Create(ctx, newWork(cluster), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create Work: %v", err)
		}
		if !slices.Contains(created.Finalizers, agentidentity.WorkFinalizer) {
			t.Errorf("created Work has finalizers %v, want %s", created.Finalizers, agentidentity.WorkFinalizer)
		}
	}
	selected, err := works.List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
	if err != nil {
		t.Fatalf("list Works by cluster: %v", err)
	}
	if len(selected.Items) != 1 || selected.Items[0].Spec.ClusterName != "member-2" {
		t.Errorf("list by spec.clusterName=member-2 returned %d Works", len(selected.Items))
	}

	// The agent of member-2, as the storage sees it (standalone authorizes system:masters only).
	agentClient := clientAs(t, server.config, dataDir, agentidentity.AgentUser("member-2")).AgentV1alpha1().Works(federationNamespace)
	if _, err := agentClient.List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent list without a selector: got %v, want Forbidden", err)
	}
	watcher, err := agentClient.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
	if err != nil {
		t.Fatalf("agent watch of its Works: %v", err)
	}
	watcher.Stop()
	if _, err := agentClient.Get(ctx, "member-3-0123456789abcdef", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent get of another cluster's Work: got %v, want Forbidden", err)
	}
	mine, err := agentClient.Get(ctx, "member-2-0123456789abcdef", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("agent get of its Work: %v", err)
	}
	mine.Status = agentv1alpha1.WorkStatus{ObservedGeneration: mine.Generation}
	if _, err := agentClient.UpdateStatus(ctx, mine, metav1.UpdateOptions{}); err != nil {
		t.Errorf("agent status write: %v", err)
	}
	if _, err := agentClient.Patch(ctx, mine.Name, types.MergePatchType, []byte(`{"spec":{"orphan":true}}`), metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent spec patch: got %v, want Forbidden", err)
	}

	// A deleted Work stays until the agent removes the finalizer.
	if err := works.Delete(ctx, mine.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete Work: %v", err)
	}
	deleting, err := works.Get(ctx, mine.Name, metav1.GetOptions{})
	if err != nil || deleting.DeletionTimestamp == nil {
		t.Fatalf("deleted Work: %v, %+v; want it kept, being deleted", err, deleting)
	}
	patch, _ := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/finalizers", "value": deleting.Finalizers},
		{"op": "remove", "path": "/metadata/finalizers"},
	})
	if _, err := agentClient.Patch(ctx, mine.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("agent removes the finalizer: %v", err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := works.Get(ctx, mine.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Errorf("Work still there after its finalizer was removed: %v", err)
	}
}

func ptrMicro(t metav1.MicroTime) *metav1.MicroTime { return &t }
