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
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// memoryWorks is an in-memory workStore that records the writes made to it.
type memoryWorks struct {
	works  map[string]*agentv1alpha1.Work
	writes []string
}

func (m *memoryWorks) get(name string) (*agentv1alpha1.Work, error) { return m.works[name], nil }
func (m *memoryWorks) create(_ context.Context, w *agentv1alpha1.Work) error {
	m.writes = append(m.writes, "create "+w.Name)
	w = w.DeepCopy()
	w.Generation = 1
	m.works[w.Name] = w
	return nil
}
func (m *memoryWorks) update(_ context.Context, w *agentv1alpha1.Work) error {
	m.writes = append(m.writes, "update "+w.Name)
	w = w.DeepCopy()
	w.Generation++
	m.works[w.Name] = w
	return nil
}
func (m *memoryWorks) delete(_ context.Context, name string) error {
	m.writes = append(m.writes, "delete "+name)
	now := metav1.NewTime(time.Now())
	if w := m.works[name]; w != nil {
		w.DeletionTimestamp = &now
	}
	return nil
}

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	deploymentKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	fedDeployments = schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}
)

func pullFederatedDeployment(replicas int64, annotations map[string]string) *unstructured.Unstructured {
	fed := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedDeployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "uid": "u-1"},
		"spec": map[string]any{
			"template": map[string]any{"spec": map[string]any{"replicas": replicas}},
			"overrides": []any{map[string]any{"clusterName": "member-2",
				"clusterOverrides": []any{map[string]any{"path": "/spec/replicas", "value": int64(5)}}}},
		},
	}}
	fed.SetAnnotations(annotations)
	return fed
}

// reportedWork is w as its agent reports it once applied: in sync, with a member excerpt.
func reportedWork(w *agentv1alpha1.Work, result string, member map[string]any) *agentv1alpha1.Work {
	w = w.DeepCopy()
	w.Status.ObservedGeneration, w.Status.Result = w.Generation, result
	if member != nil {
		raw, _ := json.Marshal(member)
		w.Status.Member = &runtime.RawExtension{Raw: raw}
	}
	return w
}

func TestDecide(t *testing.T) {
	fed := pullFederatedDeployment(2, nil)
	if d := decide(fed, deploymentKind, true, "member-1", false); d.placed || d.desired != nil || d.failure != "" {
		t.Errorf("not placed: got %+v, want the zero decision", d)
	}
	d := decide(fed, deploymentKind, true, "member-2", true)
	if d.failure != "" || d.desired == nil {
		t.Fatalf("placed: got %+v", d)
	}
	if replicas, _, _ := unstructured.NestedInt64(d.desired.Object, "spec", "replicas"); replicas != 5 {
		t.Errorf("member-2's override: replicas %d, want 5", replicas)
	}
	if d.desired.GetLabels()[ManagedLabel] != "true" || d.desired.GetNamespace() != "shop" || d.desired.GetKind() != "Deployment" {
		t.Errorf("rendered object lacks identity or the managed label: %v", d.desired.Object)
	}
	bad := pullFederatedDeployment(2, nil)
	_ = unstructured.SetNestedSlice(bad.Object, []any{map[string]any{"clusterName": "member-1",
		"clusterOverrides": []any{map[string]any{"op": "remove", "path": "/spec/missing"}}}}, "spec", "overrides")
	if d := decide(bad, deploymentKind, true, "member-1", true); d.failure != ApplyOverridesFailed || d.err == nil || d.desired != nil {
		t.Errorf("an override that cannot apply: got %+v, want ApplyOverridesFailed with its error", d)
	}
}

func TestPullDeliver(t *testing.T) {
	fed := pullFederatedDeployment(2, map[string]string{DeleteOptionAnnotation: `{"propagationPolicy":"Orphan"}`})
	name := WorkName("member-2", "federateddeployments", "shop", "web")
	newDeliverer := func(works map[string]*agentv1alpha1.Work) (*pullDeliverer, *memoryWorks) {
		store := &memoryWorks{works: works}
		return &pullDeliverer{works: store, federated: fedDeployments, target: deploymentsGVR, namespaced: true,
			adopt: func() bool { return true }, reportStatus: true}, store
	}
	// The Work fedhub publishes for fed, as stored and applied by the agent.
	published := func() *agentv1alpha1.Work {
		p, store := newDeliverer(map[string]*agentv1alpha1.Work{})
		p.deliver(context.Background(), fed, "member-2", decide(fed, deploymentKind, true, "member-2", true), &memberWrites{})
		return store.works[name]
	}
	member := map[string]any{"metadata": map[string]any{"generation": int64(3)}, "spec": map[string]any{"replicas": int64(5)},
		"status": map[string]any{"observedGeneration": int64(3), "readyReplicas": int64(5), "availableReplicas": int64(5), "updatedReplicas": int64(5)}}
	stale := published()
	stale.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"}}`)}
	terminating := published()
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}

	tests := []struct {
		name        string
		existing    *agentv1alpha1.Work
		placed      bool
		wantOutcome string
		wantMember  bool
		wantWrites  []string
		wantEvent   string
	}{
		{name: "placed, no Work yet: published, waiting for the agent", placed: true, wantOutcome: WaitingForAgent,
			wantWrites: []string{"create " + name}, wantEvent: createInCluster},
		{name: "in sync and reported: the agent's result and member excerpt, no write", existing: reportedWork(published(), "", member),
			placed: true, wantOutcome: "", wantMember: true},
		{name: "reported on an older generation: waiting, no member", existing: func() *agentv1alpha1.Work {
			w := reportedWork(published(), "", member)
			w.Generation++
			return w
		}(), placed: true, wantOutcome: WaitingForAgent},
		{name: "the agent failed: its result", existing: reportedWork(published(), CreationFailed, nil), placed: true, wantOutcome: CreationFailed},
		{name: "template changed: the Work is updated", existing: reportedWork(stale, "", member), placed: true, wantOutcome: WaitingForAgent,
			wantWrites: []string{"update " + name}, wantEvent: updateInCluster},
		{name: "no longer placed: the Work is withdrawn", existing: reportedWork(published(), "", member), placed: false,
			wantWrites: []string{"delete " + name}, wantEvent: deleteInCluster},
		{name: "no longer placed, withdrawn already: nothing", existing: terminating, placed: false},
		{name: "placed again while withdrawn: waits for the removal", existing: terminating, placed: true, wantOutcome: WaitingForRemoval},
		{name: "not placed, no Work: nothing", placed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			works := map[string]*agentv1alpha1.Work{}
			if tt.existing != nil {
				works[name] = tt.existing.DeepCopy()
			}
			p, store := newDeliverer(works)
			writes := &memberWrites{}
			outcome, got := p.deliver(context.Background(), fed, "member-2", decide(fed, deploymentKind, true, "member-2", tt.placed), writes)
			if outcome != tt.wantOutcome {
				t.Errorf("outcome %q, want %q", outcome, tt.wantOutcome)
			}
			if (got != nil) != tt.wantMember {
				t.Errorf("member excerpt %v, want one: %v", got, tt.wantMember)
			}
			if tt.wantMember {
				if counts := workloadCounts(deploymentKind, got); !counts.complete() || counts.ready != 5 {
					t.Errorf("the excerpt does not read as the member's rollout: %+v", counts)
				}
			}
			if len(store.writes) != len(tt.wantWrites) || (len(tt.wantWrites) > 0 && store.writes[0] != tt.wantWrites[0]) {
				t.Errorf("writes %v, want %v", store.writes, tt.wantWrites)
			}
			if tt.wantEvent != "" && len(writes.clusters[tt.wantEvent]) != 1 {
				t.Errorf("no %s recorded for member-2: %v", tt.wantEvent, writes.clusters)
			}
		})
	}

	t.Run("the published Work", func(t *testing.T) {
		w := published()
		if w.Spec.ClusterName != "member-2" || w.Spec.Source.Resource != "federateddeployments" || w.Spec.Source.Name != "web" ||
			w.Spec.Source.Namespace != "shop" || w.Spec.Source.UID != "u-1" || w.Spec.Resource.Resource != "deployments" ||
			!w.Spec.Resource.Namespaced || !w.Spec.Adopt || !w.Spec.ReportStatus || w.Spec.Orphan {
			t.Errorf("spec %+v", w.Spec)
		}
		if w.Spec.DeleteOptions == nil || w.Spec.DeleteOptions.PropagationPolicy == nil || *w.Spec.DeleteOptions.PropagationPolicy != metav1.DeletePropagationOrphan {
			t.Errorf("delete options %v, want the annotation's", w.Spec.DeleteOptions)
		}
		if len(w.Finalizers) != 1 || w.Finalizers[0] != agentidentity.WorkFinalizer {
			t.Errorf("finalizers %v", w.Finalizers)
		}
		var manifest map[string]any
		if err := utiljson.Unmarshal(w.Spec.Manifest.Raw, &manifest); err != nil {
			t.Fatal(err)
		}
		if replicas, _, _ := unstructured.NestedInt64(manifest, "spec", "replicas"); replicas != 5 {
			t.Errorf("manifest replicas %d, want member-2's override 5", replicas)
		}
	})
}

func TestPullRemove(t *testing.T) {
	name := WorkName("member-2", "federateddeployments", "shop", "web")
	ready := Cluster{KubeFedCluster: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-2"}}, Ready: true, Pull: true}
	unready := ready
	unready.Ready = false
	published := func() *agentv1alpha1.Work {
		fed := pullFederatedDeployment(2, nil)
		store := &memoryWorks{works: map[string]*agentv1alpha1.Work{}}
		p := &pullDeliverer{works: store, federated: fedDeployments, target: deploymentsGVR, namespaced: true, adopt: func() bool { return true }}
		p.deliver(context.Background(), fed, "member-2", decide(fed, deploymentKind, true, "member-2", true), &memberWrites{})
		return store.works[name]
	}
	withdrawn := published()
	withdrawn.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	withdrawn.Status.Message = "its removal waits for the finalizers example.com/block"

	tests := []struct {
		name       string
		existing   *agentv1alpha1.Work
		cluster    Cluster
		orphan     bool
		wantReason string
		wantWrites []string
		requested  bool
	}{
		{name: "no Work: nothing left", cluster: ready},
		{name: "published: withdrawn, the agent removes it", existing: published(), cluster: ready, wantReason: WaitingForRemoval,
			wantWrites: []string{"delete " + name}, requested: true},
		{name: "orphaning: the Work says so before it is withdrawn", existing: published(), cluster: ready, orphan: true,
			wantReason: WaitingForRemoval, wantWrites: []string{"update " + name, "delete " + name}, requested: true},
		{name: "withdrawn already: waiting, with the agent's message", existing: withdrawn, cluster: ready, wantReason: WaitingForRemoval},
		{name: "agent offline: withdrawn anyway, counted unreachable", existing: published(), cluster: unready, wantReason: ClusterNotReady,
			wantWrites: []string{"delete " + name}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			works := map[string]*agentv1alpha1.Work{}
			if tt.existing != nil {
				works[name] = tt.existing.DeepCopy()
			}
			store := &memoryWorks{works: works}
			p := &pullDeliverer{works: store, federated: fedDeployments, target: deploymentsGVR, namespaced: true, adopt: func() bool { return true }}
			fed := pullFederatedDeployment(2, nil)
			if tt.orphan {
				fed.SetAnnotations(map[string]string{OrphanAnnotation: "true"})
			}
			got := p.remove(context.Background(), fed, tt.cluster, tt.orphan, &memberWrites{})
			if got.reason != tt.wantReason || got.requested != tt.requested {
				t.Errorf("got %+v, want reason %q requested %v", got, tt.wantReason, tt.requested)
			}
			if tt.existing == withdrawn && got.detail != "waiting for the cluster's agent: "+withdrawn.Status.Message {
				t.Errorf("detail %q", got.detail)
			}
			if len(store.writes) != len(tt.wantWrites) {
				t.Fatalf("writes %v, want %v", store.writes, tt.wantWrites)
			}
			for i := range tt.wantWrites {
				if store.writes[i] != tt.wantWrites[i] {
					t.Errorf("writes %v, want %v", store.writes, tt.wantWrites)
				}
			}
			if tt.orphan && !works[name].Spec.Orphan {
				t.Errorf("the withdrawn Work does not say orphan")
			}
		})
	}
}

func TestWorkName(t *testing.T) {
	a := WorkName("member-1", "federateddeployments", "shop", "web")
	if a != WorkName("member-1", "federateddeployments", "shop", "web") {
		t.Error("not deterministic")
	}
	for _, other := range []string{WorkName("member-2", "federateddeployments", "shop", "web"), WorkName("member-1", "federatedconfigmaps", "shop", "web"),
		WorkName("member-1", "federateddeployments", "shop2", "web"), WorkName("member-1", "federateddeployments", "shop", "web2")} {
		if other == a {
			t.Errorf("%s names two objects", a)
		}
	}
	long := WorkName(string(make([]byte, 250)), "r", "n", "x")
	if len(long) > 253 {
		t.Errorf("a name of %d characters", len(long))
	}
}
