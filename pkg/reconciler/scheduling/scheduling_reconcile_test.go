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
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/scheduling/planner"
	"github.com/fedhub/fedhub/test/objects"
)

func workload(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	manifest := "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedDeployment\nmetadata: {name: web, namespace: shop}\nspec:\n" + spec
	return objects.FromYAML(t, manifest)
}

func TestApplyPlan(t *testing.T) {
	tests := []struct {
		name        string
		spec        string
		replicas    map[string]int64
		wantSpec    string
		wantChanged bool
	}{
		{name: "a first plan sets placement and overrides",
			spec:     `  template: {spec: {replicas: 1}}`,
			replicas: map[string]int64{"member-2": 2, "member-1": 4},
			wantSpec: `
template: {spec: {replicas: 1}}
placement: {clusters: [{name: member-1}, {name: member-2}]}
overrides:
- {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 4}]}
- {clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}`,
			wantChanged: true},
		{name: "the same plan again changes nothing, whatever the order",
			spec: `
  placement: {clusters: [{name: member-2}, {name: member-1}]}
  overrides:
  - {clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}
  - {clusterName: member-1, clusterOverrides: [{path: /spec/replicas, value: 4}]}`,
			replicas: map[string]int64{"member-1": 4, "member-2": 2},
			wantSpec: `
placement: {clusters: [{name: member-2}, {name: member-1}]}
overrides:
- {clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}
- {clusterName: member-1, clusterOverrides: [{path: /spec/replicas, value: 4}]}`},
		{name: "users' other overrides stay; a cluster no longer planned keeps them without replicas",
			spec: `
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides:
  - {clusterName: member-1, clusterOverrides: [{path: /spec/template/spec/containers/0/image, value: "nginx:2"}, {path: /spec/replicas, value: 4}]}
  - {clusterName: member-2, clusterOverrides: [{path: /spec/replicas, value: 2}, {op: add, path: /metadata/labels/zone, value: b}]}
  - {clusterName: member-3, clusterOverrides: [{path: /spec/paused, value: true}]}`,
			replicas: map[string]int64{"member-1": 6},
			wantSpec: `
placement: {clusters: [{name: member-1}]}
overrides:
- {clusterName: member-1, clusterOverrides: [{path: /spec/template/spec/containers/0/image, value: "nginx:2"}, {path: /spec/replicas, value: 6}]}
- {clusterName: member-2, clusterOverrides: [{op: add, path: /metadata/labels/zone, value: b}]}
- {clusterName: member-3, clusterOverrides: [{path: /spec/paused, value: true}]}`,
			wantChanged: true},
		{name: "an entry holding only the plan's override goes with it",
			spec: `
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides:
  - {clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}`,
			replicas: map[string]int64{"member-1": 6},
			wantSpec: `
placement: {clusters: [{name: member-1}]}
overrides:
- {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 6}]}`,
			wantChanged: true},
		{name: "a selector placement gets the planned clusters listed, the selector kept",
			spec:     `  placement: {clusterSelector: {matchLabels: {tier: gold}}}`,
			replicas: map[string]int64{"member-1": 3},
			wantSpec: `
placement: {clusterSelector: {matchLabels: {tier: gold}}, clusters: [{name: member-1}]}
overrides:
- {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 3}]}`,
			wantChanged: true},
		{name: "an entry without changes is left alone",
			spec: `
  placement: {clusters: [{name: member-1}]}
  overrides:
  - {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 3}]}
  - {clusterName: member-9}`,
			replicas: map[string]int64{"member-1": 3},
			wantSpec: `
placement: {clusters: [{name: member-1}]}
overrides:
- {clusterName: member-1, clusterOverrides: [{op: add, path: /spec/replicas, value: 3}]}
- {clusterName: member-9}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			original := workload(t, tt.spec)
			before := original.DeepCopy()
			planned, changed, err := applyPlan(original, tt.replicas)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			var want map[string]any
			if err := yaml.Unmarshal([]byte(tt.wantSpec), &want); err != nil {
				t.Fatal(err)
			}
			got, _ := yaml.Marshal(planned.Object["spec"])
			wantYAML, _ := yaml.Marshal(want)
			if string(got) != string(wantYAML) {
				t.Errorf("spec:\n%s\nwant:\n%s", got, wantYAML)
			}
			if !reflect.DeepEqual(original.Object, before.Object) {
				t.Error("applyPlan modified the workload it was given")
			}
		})
	}
}

func TestCandidateClusters(t *testing.T) {
	cluster := func(name string, ready bool, labels map[string]string) *corev1beta1.KubeFedCluster {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Status: corev1beta1.KubeFedClusterStatus{Conditions: []corev1beta1.ClusterCondition{{Type: corev1beta1.ClusterReady, Status: status}}}}
	}
	clusters := []*corev1beta1.KubeFedCluster{
		cluster("member-3", true, map[string]string{"tier": "gold"}),
		cluster("member-1", true, nil),
		cluster("member-2", false, map[string]string{"tier": "gold"}),
		{ObjectMeta: metav1.ObjectMeta{Name: "never-checked"}},
	}
	tests := []struct {
		name      string
		spec      string
		intersect bool
		want      []string
	}{
		{name: "ready clusters, sorted", spec: `  placement: {clusters: []}`, want: []string{"member-1", "member-3"}},
		{name: "intersected with the selector", spec: `  placement: {clusterSelector: {matchLabels: {tier: gold}}}`, intersect: true, want: []string{"member-3"}},
		{name: "the placement's list is not read back", spec: `  placement: {clusters: [{name: member-1}], clusterSelector: {}}`, intersect: true,
			want: []string{"member-1", "member-3"}},
		{name: "no selector to intersect with selects nothing", spec: `  placement: {clusters: [{name: member-1}]}`, intersect: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := candidateClusters(clusters, workload(t, tt.spec), tt.intersect)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("candidates %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextStatus(t *testing.T) {
	earlier := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(earlier.Add(time.Hour))
	planned := &schedulingv1alpha1.ReplicaSchedulingPreference{ObjectMeta: metav1.ObjectMeta{Generation: 2},
		Status: schedulingv1alpha1.ReplicaSchedulingPreferenceStatus{
			ObservedGeneration: 2, LastChangeTime: &earlier,
			Clusters: []schedulingv1alpha1.ClusterReplicas{{Name: "member-1", Replicas: 4}, {Name: "member-2", Replicas: 2}},
			Conditions: []metav1.Condition{{Type: ConditionScheduled, Status: metav1.ConditionTrue, Reason: ReasonScheduled,
				Message: "6 replicas on 2 clusters", ObservedGeneration: 2, LastTransitionTime: earlier}},
		}}
	replicas := map[string]int64{"member-1": 4, "member-2": 2}

	same := nextStatus(planned, replicas, outcomeOf(planner.Result{}, replicas), now)
	if !reflect.DeepEqual(same, planned.Status) {
		t.Errorf("the same plan changed the status:\n%+v\nwas\n%+v", same, planned.Status)
	}

	moved := map[string]int64{"member-1": 6}
	status := nextStatus(planned, moved, outcomeOf(planner.Result{}, moved), now)
	if status.LastChangeTime == nil || !status.LastChangeTime.Equal(&now) {
		t.Errorf("a new plan kept lastChangeTime %v", status.LastChangeTime)
	}
	if want := []schedulingv1alpha1.ClusterReplicas{{Name: "member-1", Replicas: 6}}; !reflect.DeepEqual(status.Clusters, want) {
		t.Errorf("clusters %+v, want %+v", status.Clusters, want)
	}
	if c := status.Conditions[0]; c.Message != "6 replicas on 1 clusters" || !c.LastTransitionTime.Equal(&earlier) {
		t.Errorf("condition %+v: want the new message and the old transition time", c)
	}

	unplaced := nextStatus(planned, moved, outcomeOf(planner.Result{Unplaced: 3, Reason: "every cluster is at its maxReplicas"}, moved), now)
	if c := unplaced.Conditions[0]; unplaced.UnplacedReplicas != 3 || c.Reason != ReasonReplicasUnplaced || c.Status != metav1.ConditionTrue {
		t.Errorf("unplaced replicas: %d, condition %+v", unplaced.UnplacedReplicas, c)
	}

	lost := nextStatus(planned, nil, outcome{reason: ReasonNoCandidateClusters, message: "no cluster is ready"}, now)
	if c := lost.Conditions[0]; c.Status != metav1.ConditionFalse || c.Reason != ReasonNoCandidateClusters || !c.LastTransitionTime.Equal(&now) {
		t.Errorf("no candidates: condition %+v", c)
	}
	if !reflect.DeepEqual(lost.Clusters, planned.Status.Clusters) {
		t.Errorf("no candidates: the last plan %+v was not kept: %+v", planned.Status.Clusters, lost.Clusters)
	}
}

func TestReplicasOf(t *testing.T) {
	got := replicasOf(planner.Result{Plan: map[string]int64{"a": 3, "b": 0, "c": 1}, Overflow: map[string]int64{"c": 2, "d": 1}})
	if want := map[string]int64{"a": 3, "c": 3, "d": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("replicasOf = %v, want %v", got, want)
	}
}

func TestPlanPatchTestsTheGenerationNotTheVersion(t *testing.T) {
	original := workload(t, `
  placement: {clusters: [{name: member-1}]}
  overrides: [{clusterName: member-2, clusterOverrides: [{op: add, path: /spec/replicas, value: 2}]}]`)
	original.SetGeneration(7)
	original.SetResourceVersion("42")
	planned, _, err := applyPlan(original, map[string]int64{"member-1": 6})
	if err != nil {
		t.Fatal(err)
	}
	patch, err := planPatch(original, planned)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"test","path":"/metadata/generation","value":7},` +
		`{"op":"add","path":"/spec/placement","value":{"clusters":[{"name":"member-1"}]}},` +
		`{"op":"add","path":"/spec/overrides","value":[{"clusterName":"member-1","clusterOverrides":[{"op":"add","path":"/spec/replicas","value":6}]}]}]`
	if string(patch) != want {
		t.Errorf("patch\n%s\nwant\n%s", patch, want)
	}
}

func TestReplicasInForce(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want map[string]int64
	}{
		{name: "a workload no plan was written to asks for nothing in particular",
			spec: `  template: {spec: {replicas: 3}}
  placement: {clusters: [{name: member-1}, {name: member-2}]}`,
			want: map[string]int64{}},
		{name: "replica overrides of candidates, whatever their op",
			spec: `
  overrides:
  - {clusterName: member-1, clusterOverrides: [{path: /spec/template/spec/hostname, value: a}, {op: add, path: /spec/replicas, value: 4}]}
  - {clusterName: member-2, clusterOverrides: [{op: replace, path: /spec/replicas, value: 2}]}
  - {clusterName: member-3, clusterOverrides: [{path: /spec/replicas, value: 7}]}`,
			want: map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "removals, other paths and values that are not whole numbers ask for nothing",
			spec: `
  overrides:
  - {clusterName: member-1, clusterOverrides: [{op: remove, path: /spec/replicas}]}
  - {clusterName: member-2, clusterOverrides: [{path: /spec/replicas, value: "2"}, {path: /spec/paused, value: true}]}
  - {clusterName: member-1, clusterOverrides: [{path: /spec/replicas, value: 1.5}]}`,
			want: map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replicasInForce(workload(t, tt.spec), []string{"member-1", "member-2"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := replicasInForce(workload(t, "  overrides: {member-1: 3}"), nil); err == nil {
		t.Error("overrides that are not a list: no error")
	}
}
