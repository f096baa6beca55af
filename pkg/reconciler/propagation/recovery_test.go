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

package propagation

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// TestReportPanic reports a panic on a federated object: a Warning event
// with the panic and Ready=False (ReconcileError), written once however
// often the same panic is reported, remembered as fedhub's own write so that
// its echo is not reconciled at once, and gone after the next reconcile.
func TestReportPanic(t *testing.T) {
	tests := []struct {
		name   string
		target int
		// wantReady is the Ready condition's reason after a reconcile; ""
		// when the kind has none.
		wantReady string
	}{
		{name: "a workload's Ready condition tells its rollout again", target: 0, wantReady: NotPropagated},
		{name: "a kind without rollout has no Ready condition again", target: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newPropagationFixture(t, fixtureTargets[tt.target], withFinalizer)
			recorder := record.NewFakeRecorder(10)
			fx.controller.recorder = recorder
			fed := fx.federated(map[string]any{"spec": map[string]any{
				"placement": map[string]any{"clusters": []any{map[string]any{"name": "member-2"}, map[string]any{"name": "member-3"}}}}}, withFinalizer, "")
			fx.add(t, fed)
			ctx := context.Background()

			for range 2 {
				if err := fx.controller.reportPanic(ctx, "demo/web", "fedhub failed to handle this object (boom)"); err != nil {
					t.Fatal(err)
				}
			}
			if writes := len(fx.fedhub.Actions()); writes != 3 {
				t.Errorf("%d requests for two reports of the same panic, want get, update, get", writes)
			}
			stored := fx.stored(t)
			ready := conditionOf(t, stored, ReadyCondition)
			if ready == nil || ready.Status != "False" || ready.Reason != reconciler.ReasonReconcileError {
				t.Errorf("Ready condition %+v, want False with reason ReconcileError", ready)
			}
			if !fx.controller.ownStatus(stored) {
				t.Error("the status write is not known as fedhub's own: its echo would be reconciled at once")
			}
			if event := <-recorder.Events; !strings.HasPrefix(event, "Warning ReconcileError ") || !strings.Contains(event, "boom") {
				t.Errorf("event %q, want a Warning ReconcileError with the panic", event)
			}

			if err := fx.fedCache.Update(stored); err != nil {
				t.Fatal(err)
			}
			if _, err := fx.controller.reconcile(ctx, "demo/web"); err != nil {
				t.Fatal(err)
			}
			ready = conditionOf(t, fx.stored(t), ReadyCondition)
			switch {
			case tt.wantReady == "" && ready != nil:
				t.Errorf("Ready condition %+v after a reconcile, want none", ready)
			case tt.wantReady != "" && (ready == nil || ready.Reason != tt.wantReady):
				t.Errorf("Ready condition %+v after a reconcile, want reason %s", ready, tt.wantReady)
			}
		})
	}
}

// stored is the federated object as fedhub stores it.
func (fx *propagationFixture) stored(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	obj, err := fx.fedhub.Resource(fx.controller.federated).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func conditionOf(t *testing.T, obj *unstructured.Unstructured, conditionType string) *typesv1beta1.FederatedCondition {
	t.Helper()
	for _, c := range currentStatus(obj).Conditions {
		if c.Type == conditionType {
			return &c
		}
	}
	return nil
}

// TestManagerRecoversATypeController runs a type whose controller panics as
// it starts (the manager was given no ClusterSet): the manager reports it on
// the FederatedTypeConfig, no longer counts the type as running, and asks
// for another pass, which starts it again, after backoff.
func TestManagerRecoversATypeController(t *testing.T) {
	const namespace = "kube-federation-system"
	target := fixtureTargets[0]
	tc := &corev1beta1.FederatedTypeConfig{ObjectMeta: metav1.ObjectMeta{Name: "deployments.apps", Namespace: namespace},
		Spec: corev1beta1.FederatedTypeConfigSpec{TargetType: target, Propagation: corev1beta1.PropagationEnabled,
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment",
				PluralName: "federateddeployments", Scope: corev1beta1.NamespaceScoped}}}
	client := fedfake.NewSimpleClientset(tc)
	factory := fedinformers.NewSharedInformerFactory(client, 0)
	if err := factory.Core().V1beta1().FederatedTypeConfigs().Informer().GetIndexer().Add(tc); err != nil {
		t.Fatal(err)
	}
	recorder := record.NewFakeRecorder(10)
	m, err := NewManager(namespace, newFakeServer(tc.Spec.FederatedType), client.CoreV1beta1(), factory.Core().V1beta1().FederatedTypeConfigs(),
		factory.Core().V1beta1().KubeFedConfigs(), nil, recorder)
	if err != nil {
		t.Fatal(err)
	}
	m.backoff = workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	m.syncTypes(ctx)
	select {
	case event := <-recorder.Events:
		if !strings.HasPrefix(event, "Warning ReconcileError ") {
			t.Errorf("event %q, want a Warning ReconcileError", event)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event reported the panic")
	}
	select {
	case <-m.changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no other pass was asked for")
	}
	m.mu.Lock()
	_, running := m.running[tc.Name]
	m.mu.Unlock()
	if running {
		t.Error("the type whose controller panicked still counts as running")
	}
}
