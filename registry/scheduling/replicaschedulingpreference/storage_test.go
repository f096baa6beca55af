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

package replicaschedulingpreference_test

import (
	"context"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/utils/ptr"

	"github.com/fedhub/fedhub/apis/scheduling"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry"
	"github.com/fedhub/fedhub/registry/registrytest"
	"github.com/fedhub/fedhub/registry/scheduling/replicaschedulingpreference"
)

func newStorage(t *testing.T) (*registry.REST, *registry.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := replicaschedulingpreference.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

func validNewPreference() *scheduling.ReplicaSchedulingPreference {
	return &scheduling.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "web",
			Namespace: metav1.NamespaceDefault,
		},
		Spec: scheduling.ReplicaSchedulingPreferenceSpec{
			TargetKind:    "FederatedDeployment",
			TotalReplicas: 9,
			Rebalance:     true,
			Clusters: map[string]scheduling.ClusterPreferences{
				"member-1": {MinReplicas: 2, MaxReplicas: ptr.To[int64](6), Weight: 2},
				"*":        {Weight: 1},
			},
		},
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	preference := validNewPreference()
	preference.ObjectMeta = metav1.ObjectMeta{}

	negativeTotal := validNewPreference()
	negativeTotal.Namespace = test.TestNamespace()
	negativeTotal.Spec.TotalReplicas = -1
	maxBelowMin := validNewPreference()
	maxBelowMin.Namespace = test.TestNamespace()
	maxBelowMin.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 4, MaxReplicas: ptr.To[int64](2)}
	badKind := validNewPreference()
	badKind.Namespace = test.TestNamespace()
	badKind.Spec.TargetKind = "FederatedStatefulSet"

	test.TestCreate(
		// valid
		preference,
		// invalid
		negativeTotal,
		maxBelowMin,
		badKind,
	)
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestUpdate(
		// valid
		validNewPreference(),
		// updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*scheduling.ReplicaSchedulingPreference)
			object.Spec.TotalReplicas = 30
			object.Spec.Rebalance = false
			object.Spec.Clusters["member-2"] = scheduling.ClusterPreferences{Weight: 3}
			return object
		},
		// invalid updateFunc
		func(obj runtime.Object) runtime.Object {
			object := obj.(*scheduling.ReplicaSchedulingPreference)
			object.Spec.TotalReplicas = -5
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*scheduling.ReplicaSchedulingPreference)
			object.Spec.Clusters["member-1"] = scheduling.ClusterPreferences{MinReplicas: 3, MaxReplicas: ptr.To[int64](1)}
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestDelete(validNewPreference())
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestGet(validNewPreference())
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestList(validNewPreference())
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	preference := validNewPreference()
	preference.Namespace = test.TestNamespace()
	preference.Labels = map[string]string{"app": "web"}
	test.TestWatch(
		preference,
		// matching labels
		[]labels.Set{
			{},
			{"app": "web"},
		},
		// not matching labels
		[]labels.Set{
			{"app": "api"},
			{"foo": "bar"},
		},
		// matching fields
		[]fields.Set{
			{"metadata.name": "web"},
			{"metadata.name": "web", "metadata.namespace": test.TestNamespace()},
		},
		// not matching fields
		[]fields.Set{
			{"metadata.name": "api"},
			{"metadata.namespace": "elsewhere"},
			{"spec.targetKind": "FederatedDeployment"},
		},
	)
}

// TestUpdateStatus checks that the status subresource cannot change the spec
// and that the main resource cannot change the status. The status has no
// fields yet, so only the first half can see a difference.
func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	obj, err := storage.Create(ctx, validNewPreference(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	created := obj.(*scheduling.ReplicaSchedulingPreference)
	if created.Generation != 1 {
		t.Errorf("created generation = %d, want 1", created.Generation)
	}

	// A status write keeps the stored spec, even an invalid one it was sent.
	statusUpdate := created.DeepCopy()
	statusUpdate.Spec.TotalReplicas = -1
	statusUpdate.Spec.TargetKind = "FederatedReplicaSet"
	obj, _, err = statusStorage.Update(ctx, statusUpdate.Name, rest.DefaultUpdatedObjectInfo(statusUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	// With the spec put back there is nothing left to change, so nothing is written.
	if written := obj.(*scheduling.ReplicaSchedulingPreference); written.ResourceVersion != created.ResourceVersion {
		t.Errorf("status write that changes only the spec stored resourceVersion %s, want it unchanged at %s",
			written.ResourceVersion, created.ResourceVersion)
	}
	afterStatus := getPreference(t, storage, ctx, created.Name)
	if !apiequality.Semantic.DeepEqual(afterStatus.Spec, created.Spec) {
		t.Errorf("spec after a status write = %#v, want it unchanged: %#v", afterStatus.Spec, created.Spec)
	}
	if afterStatus.Generation != 1 {
		t.Errorf("generation after a status write = %d, want 1", afterStatus.Generation)
	}

	// A write to the main resource changes the spec and keeps the stored status.
	specUpdate := afterStatus.DeepCopy()
	specUpdate.Spec.TotalReplicas = 12
	if _, _, err := storage.Update(ctx, specUpdate.Name, rest.DefaultUpdatedObjectInfo(specUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	afterSpec := getPreference(t, storage, ctx, created.Name)
	if afterSpec.Spec.TotalReplicas != 12 {
		t.Errorf("totalReplicas after a spec write = %d, want 12", afterSpec.Spec.TotalReplicas)
	}
	if !apiequality.Semantic.DeepEqual(afterSpec.Status, afterStatus.Status) {
		t.Errorf("status after a spec write = %#v, want it unchanged: %#v", afterSpec.Status, afterStatus.Status)
	}
	if afterSpec.Generation != 2 {
		t.Errorf("generation after a spec write = %d, want 2", afterSpec.Generation)
	}

	// A status write keeps the stored metadata: labels it carries are dropped.
	relabelled := afterSpec.DeepCopy()
	relabelled.Labels = map[string]string{"scheduled": "true"}
	if _, _, err := statusStorage.Update(ctx, afterSpec.Name, rest.DefaultUpdatedObjectInfo(relabelled),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if afterRelabel := getPreference(t, storage, ctx, created.Name); !apiequality.Semantic.DeepEqual(afterRelabel.Labels, afterSpec.Labels) {
		t.Errorf("labels after a status write = %v, want them unchanged: %v", afterRelabel.Labels, afterSpec.Labels)
	}

	// A status write never creates a preference, even when asked to.
	missing := validNewPreference()
	missing.Name = "missing"
	if _, _, err := statusStorage.Update(ctx, missing.Name, rest.DefaultUpdatedObjectInfo(missing),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, true, &metav1.UpdateOptions{}); !errors.IsNotFound(err) {
		t.Errorf("status write to a missing preference: got %v, want NotFound", err)
	}
}

func getPreference(t *testing.T, storage *registry.REST, ctx context.Context, name string) *scheduling.ReplicaSchedulingPreference {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return obj.(*scheduling.ReplicaSchedulingPreference)
}

func TestKubectlNames(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, []string{"rsp"}, []string{"kubefed"})
}

func TestConvertToTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	preference := validNewPreference()
	preference.CreationTimestamp = metav1.NewTime(time.Now().Add(-10 * time.Hour))
	replicaSet := validNewPreference()
	replicaSet.Name = "cache"
	replicaSet.Spec.TargetKind = "FederatedReplicaSet"
	replicaSet.Spec.TotalReplicas = 0
	replicaSet.Spec.Rebalance = false
	planned := validNewPreference()
	planned.Name = "planned"
	planned.Status.Clusters = []scheduling.ClusterReplicas{{Name: "member-1", Replicas: 4}, {Name: "member-2", Replicas: 2}}
	many := validNewPreference()
	many.Name = "many"
	many.Status.UnplacedReplicas = 3
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		many.Status.Clusters = append(many.Status.Clusters, scheduling.ClusterReplicas{Name: name, Replicas: 1})
	}
	unplaced := validNewPreference()
	unplaced.Name = "unplaced"
	unplaced.Status.UnplacedReplicas = 9

	wantColumns := []string{"Name", "Age", "Target-Kind", "Total", "Plan", "Rebalance"}
	wantPriorities := []int32{0, 0, 0, 0, 0, 1}
	tests := []struct {
		name       string
		preference *scheduling.ReplicaSchedulingPreference
		want       []interface{}
	}{
		{
			name:       "deployment",
			preference: preference,
			want:       []interface{}{"web", "10h", "FederatedDeployment", int64(9), "", true},
		},
		{
			name:       "replica set",
			preference: replicaSet,
			want:       []interface{}{"cache", "<unknown>", "FederatedReplicaSet", int64(0), "", false},
		},
		{
			name:       "a plan",
			preference: planned,
			want:       []interface{}{"planned", "<unknown>", "FederatedDeployment", int64(9), "member-1=4,member-2=2", true},
		},
		{
			name:       "a long plan with unplaced replicas",
			preference: many,
			want:       []interface{}{"many", "<unknown>", "FederatedDeployment", int64(9), "a=1,b=1,c=1,+2 more (3 unplaced)", true},
		},
		{
			name:       "nothing placed",
			preference: unplaced,
			want:       []interface{}{"unplaced", "<unknown>", "FederatedDeployment", int64(9), "(9 unplaced)", true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
				registrytest.AssertTable(t, name, convertor, tt.preference, wantColumns, wantPriorities, tt.want)
			}
		})
	}

	// A stored preference prints the same way; a list prints a row per item.
	for _, p := range []*scheduling.ReplicaSchedulingPreference{preference, replicaSet} {
		if _, err := storage.Create(ctx, p.DeepCopy(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	list, err := storage.List(ctx, nil)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	table, err := storage.ConvertToTable(ctx, list, nil)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	var rows [][]interface{}
	for _, row := range table.Rows {
		if row.Cells[1] == "<unknown>" {
			t.Errorf("stored preference %v has no age", row.Cells[0])
		}
		rows = append(rows, []interface{}{row.Cells[0], row.Cells[2], row.Cells[3], row.Cells[5]})
	}
	want := [][]interface{}{
		{"cache", "FederatedReplicaSet", int64(0), false},
		{"web", "FederatedDeployment", int64(9), true},
	}
	if !apiequality.Semantic.DeepEqual(rows, want) {
		t.Errorf("list rows %v, want %v", rows, want)
	}
}
