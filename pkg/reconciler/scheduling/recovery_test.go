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

package scheduling

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// TestReportPanic reports a panic on a preference: a Warning event with the
// panic and Ready=False (ReconcileError), written once however often the
// same panic is reported; the Scheduled condition stays; and the first
// planning that completes afterwards drops the Ready condition.
func TestReportPanic(t *testing.T) {
	w := workload(t, "  template: {spec: {replicas: 1}}")
	w.SetGeneration(1)
	rsp := &schedulingv1alpha1.ReplicaSchedulingPreference{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Generation: 2},
		Spec:   schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: "FederatedDeployment", TotalReplicas: 2},
		Status: schedulingv1alpha1.ReplicaSchedulingPreferenceStatus{Conditions: []metav1.Condition{{Type: ConditionScheduled, Status: metav1.ConditionTrue, Reason: ReasonScheduled}}}}
	fx := newServedFixture(t, rsp, w)
	ctx := context.Background()
	stored := func() *schedulingv1alpha1.ReplicaSchedulingPreference {
		rsp, err := fx.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rsp
	}

	fx.client.ClearActions()
	for range 2 {
		if err := fx.controller.reportPanic(ctx, "shop/web", "fedhub failed to handle this object (boom)"); err != nil {
			t.Fatal(err)
		}
	}
	if updates := len(fx.client.Actions()); updates != 3 {
		t.Errorf("%d requests for two reports of the same panic, want get, update, get", updates)
	}
	reported := stored()
	ready := meta.FindStatusCondition(reported.Status.Conditions, ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != reconciler.ReasonReconcileError || !strings.Contains(ready.Message, "boom") {
		t.Errorf("Ready condition %+v, want False with reason ReconcileError and the panic", ready)
	}
	if !meta.IsStatusConditionTrue(reported.Status.Conditions, ConditionScheduled) {
		t.Errorf("the Scheduled condition did not stay: %+v", reported.Status.Conditions)
	}
	if event := <-fx.recorder.Events; !strings.HasPrefix(event, "Warning ReconcileError ") || !strings.Contains(event, "boom") {
		t.Errorf("event %q, want a Warning ReconcileError with the panic", event)
	}

	// The informer brings the report back; then planning completes.
	if err := fx.preferences.Update(reported); err != nil {
		t.Fatal(err)
	}
	fx.controller.processNext(ctx, "shop/web")
	planned := stored()
	if ready := meta.FindStatusCondition(planned.Status.Conditions, ConditionReady); ready != nil {
		t.Errorf("Ready condition %+v after planning completed, want none", ready)
	}
	if scheduled := meta.FindStatusCondition(planned.Status.Conditions, ConditionScheduled); scheduled == nil || scheduled.Message != "2 replicas on 1 clusters" {
		t.Errorf("Scheduled condition %+v, want the plan", scheduled)
	}
	if requeues := fx.controller.queue.NumRequeues("shop/web"); requeues != 0 {
		t.Errorf("%d requeues after planning completed, want 0", requeues)
	}
}
