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
	"github.com/fedhub/fedhub/test/objects"
)

// TestPlanOnMalformedWorkloads writes plans into workloads of shapes
// admission should never let through, but which a store written by an older
// fedhub (or KubeFed) may hold: each must give an error or a patch, never a
// panic. Before, a workload without a spec panicked the worker, and with it
// fedhub.
func TestPlanOnMalformedWorkloads(t *testing.T) {
	tests := []struct {
		name, spec string
		replicas   map[string]int64
		// wantErr is part of the error; "" means a patch is made.
		wantErr string
	}{
		{name: "no spec, planning nothing (the reported panic)", spec: "", replicas: map[string]int64{}, wantErr: "spec is missing or null"},
		{name: "no spec", spec: "", replicas: map[string]int64{"member-1": 2}, wantErr: "spec is missing or null"},
		{name: "spec null", spec: "spec: null", replicas: map[string]int64{"member-1": 2}, wantErr: "spec is missing or null"},
		{name: "spec a string", spec: `spec: "x"`, replicas: map[string]int64{"member-1": 2}, wantErr: "spec is a string"},
		{name: "spec a list", spec: `spec: [1]`, replicas: map[string]int64{"member-1": 2}, wantErr: "spec is a list"},
		{name: "placement a number", spec: "spec: {placement: 5}", replicas: map[string]int64{"member-1": 2}, wantErr: "spec.placement"},
		{name: "placement clusters a map", spec: "spec: {placement: {clusters: {member-1: {}}}}", replicas: map[string]int64{"member-1": 2},
			wantErr: "spec.placement.clusters"},
		{name: "overrides not a list", spec: "spec: {overrides: {member-1: 3}}", replicas: map[string]int64{"member-1": 2}, wantErr: "spec.overrides"},
		{name: "overrides with null entries are kept as they are", spec: "spec: {overrides: [null, {clusterName: null, clusterOverrides: [null]}]}",
			replicas: map[string]int64{"member-1": 2}},
		{name: "an empty spec, planning nothing", spec: "spec: {}", replicas: map[string]int64{}},
		{name: "overrides to remove", spec: "spec: {overrides: [{clusterName: member-2, clusterOverrides: [{path: /spec/replicas, value: 1}]}]}",
			replicas: map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := objects.FromYAML(t, "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedDeployment\nmetadata: {name: web, namespace: shop}\n"+tt.spec)
			var patch []byte
			planned, _, err := applyPlan(w, tt.replicas)
			if err == nil {
				patch, err = planPatch(w, planned)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v, want a patch", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v (patch %s), want one saying %q", err, patch, tt.wantErr)
			case tt.wantErr == "" && !strings.Contains(string(patch), `"path":"/spec/placement"`):
				t.Errorf("patch %s does not write the placement", patch)
			}
		})
	}
}

// TestSyncReportsMalformedWorkloads: a preference whose workload cannot take
// a plan says so in its status, and the sync ends without an error, since
// retrying would not help until the workload changes.
func TestSyncReportsMalformedWorkloads(t *testing.T) {
	for name, spec := range map[string]string{"no spec": "", "spec null": "spec: null", "overrides not a list": "spec: {overrides: 3}"} {
		t.Run(name, func(t *testing.T) {
			rsp := &schedulingv1alpha1.ReplicaSchedulingPreference{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
				Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{TargetKind: "FederatedDeployment", TotalReplicas: 2}}
			workload := objects.FromYAML(t, "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedDeployment\nmetadata: {name: web, namespace: shop}\n"+spec)
			fx := newServedFixture(t, rsp, workload)

			ctx := context.Background()
			if err := fx.controller.sync(ctx, "shop/web"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			stored, err := fx.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("shop").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			condition := meta.FindStatusCondition(stored.Status.Conditions, ConditionScheduled)
			if condition == nil || condition.Status != metav1.ConditionFalse || condition.Reason != ReasonTargetMalformed ||
				!strings.Contains(condition.Message, "FederatedDeployment shop/web cannot take a plan") {
				t.Errorf("Scheduled condition %+v, want False/%s naming the workload", condition, ReasonTargetMalformed)
			}
		})
	}
}
