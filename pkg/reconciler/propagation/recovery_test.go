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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/record"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
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
