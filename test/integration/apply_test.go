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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	coreapply "github.com/fedhub/fedhub/generated/applyconfiguration/core/v1beta1"
)

// TestServerSideApplyKeepsSpecAndStatusOwnersApart shows that a user applying a
// spec and a controller applying a status never take each other's fields.
func TestServerSideApplyKeepsSpecAndStatusOwnersApart(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	clusters := server.client.CoreV1beta1().KubeFedClusters(federationNamespace)

	spec := func(endpoint string) *coreapply.KubeFedClusterApplyConfiguration {
		return coreapply.KubeFedCluster("member", federationNamespace).WithSpec(coreapply.KubeFedClusterSpec().
			WithAPIEndpoint(endpoint).WithSecretRef(coreapply.LocalSecretReference().WithName("member-token")))
	}
	if _, err := clusters.Apply(ctx, spec("https://member:6443"), metav1.ApplyOptions{FieldManager: "platform-team"}); err != nil {
		t.Fatal(err)
	}

	// The prober applies status, and what it says about spec is dropped.
	status := spec("https://hijacked:6443").WithStatus(coreapply.KubeFedClusterStatus().
		WithKubernetesVersion("v1.37.2").
		WithConditions(coreapply.ClusterCondition().WithType(corev1beta1.ClusterReady).
			WithStatus(corev1.ConditionTrue).WithLastProbeTime(metav1.Now())))
	probed, err := clusters.ApplyStatus(ctx, status, metav1.ApplyOptions{FieldManager: "prober"})
	if err != nil {
		t.Fatalf("apply status: %v", err)
	}
	if probed.Spec.APIEndpoint != "https://member:6443" {
		t.Errorf("a status apply changed spec.apiEndpoint to %q", probed.Spec.APIEndpoint)
	}
	if probed.Status.KubernetesVersion != "v1.37.2" {
		t.Errorf("status apply stored kubernetesVersion %q", probed.Status.KubernetesVersion)
	}

	// The user re-applies a changed spec without force: no conflict with the
	// prober, and the status stays.
	changed, err := clusters.Apply(ctx, spec("https://member.example.com:6443"), metav1.ApplyOptions{FieldManager: "platform-team"})
	if err != nil {
		t.Fatalf("re-applying the spec conflicted: %v", err)
	}
	if changed.Spec.APIEndpoint != "https://member.example.com:6443" || changed.Status.KubernetesVersion != "v1.37.2" {
		t.Errorf("after the spec apply: endpoint %q, kubernetesVersion %q", changed.Spec.APIEndpoint, changed.Status.KubernetesVersion)
	}

	// A second manager that wants a different endpoint does conflict with the owner.
	_, err = clusters.Apply(ctx, spec("https://elsewhere:6443"), metav1.ApplyOptions{FieldManager: "someone-else"})
	if !apierrors.IsConflict(err) {
		t.Errorf("a competing spec apply: got %v, want a Conflict", err)
	}
}
