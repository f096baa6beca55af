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

package clusterhealth

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestReportPanic reports a panic on a cluster that was ready: a Warning
// event with the panic and Ready=False (ReconcileError) alone, since
// reachability is not known either; the next probe that completes writes
// the conditions afresh (here: the Secret is missing).
func TestReportPanic(t *testing.T) {
	ready := "ClusterReady"
	cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: "member-1", ResourceVersion: "1"},
		Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://member-1.example:6443", SecretRef: corev1beta1.LocalSecretReference{Name: "member-1"}},
		Status: corev1beta1.KubeFedClusterStatus{KubernetesVersion: "v1.37.2", Conditions: []corev1beta1.ClusterCondition{
			{Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue, Reason: &ready},
			{Type: corev1beta1.ClusterOffline, Status: corev1.ConditionFalse}}}}
	fx := newHealthFixture(t, cluster, nil, nil)
	ctx := context.Background()
	conditions := func() map[corev1beta1.ClusterConditionType]string {
		stored, err := fx.client.CoreV1beta1().KubeFedClusters(fixtureNamespace).Get(ctx, "member-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status.KubernetesVersion != "v1.37.2" {
			t.Errorf("kubernetesVersion %q: what only the member can tell must be kept", stored.Status.KubernetesVersion)
		}
		got := map[corev1beta1.ClusterConditionType]string{}
		for _, c := range stored.Status.Conditions {
			got[c.Type] = string(c.Status) + " " + *c.Reason
		}
		return got
	}

	if err := fx.controller.reportPanic(ctx, "member-1", "fedhub failed to handle this object (boom)"); err != nil {
		t.Fatal(err)
	}
	if got := conditions(); len(got) != 1 || got[corev1beta1.ClusterReady] != "False ReconcileError" {
		t.Errorf("conditions %v after the report, want Ready False ReconcileError alone", got)
	}
	if event := <-fx.recorder.Events; !strings.HasPrefix(event, "Warning ReconcileError ") || !strings.Contains(event, "boom") {
		t.Errorf("event %q, want a Warning ReconcileError with the panic", event)
	}

	stored, err := fx.client.CoreV1beta1().KubeFedClusters(fixtureNamespace).Get(ctx, "member-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The cache still shows the version before the report; the prober reads
	// the report instead, as it does after a write of its own.
	p := &prober{name: "member-1", backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, time.Minute)}
	p.written, p.replaced = stored, cluster.ResourceVersion
	fx.controller.probeOnce(ctx, p)
	if got := conditions(); got[corev1beta1.ClusterReady] != "False ClusterConfigMalformed" || got[corev1beta1.ClusterConfigMalformed] != "True ClusterConfigMalformed" {
		t.Errorf("conditions %v after a probe, want those of a missing Secret", got)
	}
}
