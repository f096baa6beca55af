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
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/member"
)

// memberWithPods is a member's Deployment web asking for replicas, with
// pods of the given states (see pod).
func memberWithPods(replicas, ready int32, states ...string) *kubefake.Clientset {
	var objs []runtime.Object
	labels := map[string]string{"app": "web"}
	objs = append(objs, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:   appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: ready}})
	for i, state := range states {
		p := pod(state, t0)
		p.Name, p.Namespace, p.Labels = fmt.Sprintf("web-%d", i), "shop", labels
		objs = append(objs, &p)
	}
	// Another workload's unschedulable pod in the namespace is not web's.
	other := pod("unschedulable", t0)
	other.Name, other.Namespace, other.Labels = "db-0", "shop", map[string]string{"app": "db"}
	return kubefake.NewClientset(append(objs, &other)...)
}

// TestSyncMovesReplicasForCapacity: with member-1's pods unschedulable for
// longer than the threshold, the plan gives member-1 what it runs and the
// rest to member-2, and the status says so; member-2's pods are never
// read, its Deployment being ready.
func TestSyncMovesReplicasForCapacity(t *testing.T) {
	fx, fedhub, clusters := newCapacityFixture(t)
	resource := targetKinds["FederatedDeployment"]

	member1 := memberWithPods(4, 2, "bound", "bound", "unschedulable", "unschedulable")
	member2 := memberWithPods(2, 2, "bound", "bound")
	fx.controller.members = NewMembers(corelisters.NewSecretLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})))
	for i, client := range []*kubefake.Clientset{member1, member2} {
		fx.controller.members.members[clusters[i].Name] = &memberState{fingerprint: member.Fingerprint(clusters[i], nil), client: client}
	}
	now := t0.Add(5 * time.Minute)
	fx.controller.now = func() time.Time { return now }

	ctx := context.Background()
	if err := fx.controller.sync(ctx, "shop/web"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	stored, err := fedhub.Resource(resource).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	current, err := replicasInForce(stored, []string{"member-1", "member-2"})
	if err != nil || current["member-1"] != 2 || current["member-2"] != 4 {
		t.Errorf("the workload asks for %v (%v), want member-1=2 member-2=4", current, err)
	}
	status, err := fx.client.SchedulingV1alpha1().ReplicaSchedulingPreferences("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []schedulingv1alpha1.ClusterCapacity{{Name: "member-1", Replicas: 2, UnschedulableReplicas: 2, ObservedTime: metav1.NewTime(now),
		Message: "0/1 nodes are available: 1 Too many pods."}}
	if got := status.Status.EstimatedCapacity; len(got) != 1 || got[0].Name != want[0].Name || got[0].Replicas != want[0].Replicas ||
		got[0].UnschedulableReplicas != want[0].UnschedulableReplicas || !got[0].ObservedTime.Equal(&want[0].ObservedTime) || got[0].Message != want[0].Message {
		t.Errorf("estimatedCapacity %+v, want %+v", got, want)
	}
	condition := meta.FindStatusCondition(status.Status.Conditions, ConditionScheduled)
	if condition == nil || condition.Reason != ReasonReplicasMoved || !strings.Contains(condition.Message, "member-1 runs 2 of its preferred 4") {
		t.Errorf("Scheduled condition %+v, want %s saying member-1 runs 2 of its preferred 4", condition, ReasonReplicasMoved)
	}
	for _, action := range member2.Actions() {
		if action.GetResource().Resource == "pods" {
			t.Errorf("member-2's pods were read (%s), though its Deployment is ready", action.GetVerb())
		}
	}
}

func TestReadWorkload(t *testing.T) {
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	three := int32(3)
	member := kubefake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Selector: selector},
			Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "shop"}, Spec: appsv1.ReplicaSetSpec{Replicas: &three, Selector: selector},
			Status: appsv1.ReplicaSetStatus{ReadyReplicas: 2}})
	tests := []struct {
		kind, name string
		want       memberWorkload
		wantFound  bool
		wantErr    bool
	}{
		{kind: "FederatedDeployment", name: "web", want: memberWorkload{selector: selector, replicas: 1, readyReplicas: 1}, wantFound: true},
		{kind: "FederatedReplicaSet", name: "rs", want: memberWorkload{selector: selector, replicas: 3, readyReplicas: 2}, wantFound: true},
		{kind: "FederatedDeployment", name: "missing"},
		{kind: "FederatedReplicaSet", name: "web"},
		{kind: "FederatedJob", name: "web", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			got, found, err := readWorkload(context.Background(), member, tt.kind, "shop", tt.name)
			if (err != nil) != tt.wantErr || found != tt.wantFound || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readWorkload = %+v, %t, %v; want %+v, %t, error %t", got, found, err, tt.want, tt.wantFound, tt.wantErr)
			}
		})
	}
}
