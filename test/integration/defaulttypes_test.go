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
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
)

// TestDefaultTypesAtFirstStartOnly: a new federation serves KubeFed's default
// federated kinds (and statefulsets and daemonsets) with KubeFed's
// KubeFedConfig; a default type the user removed stays removed after a restart.
func TestDefaultTypesAtFirstStartOnly(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	server := startFedhub(t, dataDir)

	want := []string{"federatedclusterroles", "federatedconfigmaps", "federateddaemonsets", "federateddeployments",
		"federatedingresses", "federatedjobs", "federatednamespaces", "federatedreplicasets", "federatedsecrets",
		"federatedserviceaccounts", "federatedservices", "federatedstatefulsets"}
	for _, resource := range want {
		waitForDiscovery(t, server, resource, true)
	}
	client, err := discovery.NewDiscoveryClientForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := client.ServerResourcesForGroupVersion("types.kubefed.io/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, r := range resources.APIResources {
		switch r.Name {
		case "federatedclusterroles":
			if r.Namespaced {
				t.Error("FederatedClusterRole is namespaced, want cluster-scoped like ClusterRole")
			}
		case "federatednamespaces":
			if !r.Namespaced {
				t.Error("FederatedNamespace is cluster-scoped, want it in the namespace it federates")
			}
		}
		if !strings.HasSuffix(r.Name, "/status") {
			served = append(served, r.Name)
		}
	}
	sort.Strings(served)
	if len(served) != len(want) {
		t.Errorf("served %v, want %v", served, want)
	}

	config, err := server.client.CoreV1beta1().KubeFedConfigs(federationNamespace).Get(ctx, "kubefed", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the KubeFedConfig of a new federation: %v", err)
	}
	if *config.Spec.SyncController.AdoptResources != "Enabled" || config.Spec.Scope != "Cluster" {
		t.Errorf("the KubeFedConfig of a new federation is %+v", config.Spec)
	}

	if err := server.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace).Delete(ctx, "jobs.batch", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	server.stop()

	server = startFedhub(t, dataDir)
	defer server.stop()
	if _, err := server.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace).Get(ctx, "jobs.batch", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the deleted default type after a restart: %v, want NotFound", err)
	}
	waitForDiscovery(t, server, "federatedjobs", false)
	waitForDiscovery(t, server, "federateddeployments", true)
}
