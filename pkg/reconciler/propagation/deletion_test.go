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
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corelisters "k8s.io/client-go/listers/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
)

func TestDeletionStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		outcomes map[string]clusterDeletion
		// clusters is "name=status" per listed cluster; reason the Propagation condition's.
		clusters []string
		reason   string
	}{
		{name: "a member object still being removed",
			outcomes: map[string]clusterDeletion{"member-1": {reason: WaitingForRemoval, detail: "its removal waits for the finalizers example.com/block"}},
			clusters: []string{"member-1=WaitingForRemoval"}, reason: CheckClusters},
		{name: "a failed delete is an EnsureDeletionFailed, beside a cluster that cannot be reached",
			outcomes: map[string]clusterDeletion{"member-2": {reason: DeletionFailed, detail: "forbidden"}, "member-1": {reason: ClusterNotReady}},
			clusters: []string{"member-1=ClusterNotReady", "member-2=DeletionFailed"}, reason: EnsureDeletionFailed},
		{name: "a failed label removal when orphaning",
			outcomes: map[string]clusterDeletion{"member-1": {reason: LabelRemovalFailed, detail: "conflict"}},
			clusters: []string{"member-1=LabelRemovalFailed"}, reason: EnsureDeletionFailed},
		{name: "a cluster whose cache is still filling is not reported",
			outcomes: map[string]clusterDeletion{"member-1": {reason: memberSyncing}, "member-2": {reason: CachedRetrievalFailed}},
			clusters: []string{"member-2=CachedRetrievalFailed"}, reason: CheckClusters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := deletionStatus(typesv1beta1.FederatedStatus{}, 4, tt.outcomes, now)
			var clusters []string
			for _, c := range status.Clusters {
				clusters = append(clusters, c.Name+"="+c.Status)
			}
			if strings.Join(clusters, " ") != strings.Join(tt.clusters, " ") {
				t.Errorf("clusters %v, want %v", clusters, tt.clusters)
			}
			if status.ObservedGeneration != 4 {
				t.Errorf("observedGeneration %d, want 4", status.ObservedGeneration)
			}
			if len(status.Conditions) != 1 || status.Conditions[0].Type != PropagationCondition ||
				status.Conditions[0].Status != corev1.ConditionFalse || status.Conditions[0].Reason != tt.reason {
				t.Errorf("conditions %+v, want Propagation False %s", status.Conditions, tt.reason)
			}
		})
	}
}

func TestAssessDeletion(t *testing.T) {
	tests := []struct {
		name                          string
		outcomes                      map[string]clusterDeletion
		done, onlyUnreachable, report bool
	}{
		{name: "nothing left", outcomes: map[string]clusterDeletion{}, done: true},
		{name: "deletes just sent are not worth a status write",
			outcomes: map[string]clusterDeletion{"member-1": {reason: WaitingForRemoval, requested: true}, "member-2": {reason: memberSyncing}}},
		{name: "a member object seen still there is",
			outcomes: map[string]clusterDeletion{"member-1": {reason: WaitingForRemoval}}, report: true},
		{name: "only unready clusters: the bounded wait",
			outcomes: map[string]clusterDeletion{"member-3": {reason: ClusterNotReady}}, onlyUnreachable: true, report: true},
		{name: "a failure besides an unready cluster is retried, not released",
			outcomes: map[string]clusterDeletion{"member-3": {reason: ClusterNotReady}, "member-1": {reason: DeletionFailed}}, report: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assessDeletion(tt.outcomes)
			if p.done() != tt.done || p.onlyUnreachable() != tt.onlyUnreachable || p.settled != tt.report {
				t.Errorf("done %t, only unreachable %t, report %t; want %t, %t, %t", p.done(), p.onlyUnreachable(), p.settled,
					tt.done, tt.onlyUnreachable, tt.report)
			}
		})
	}
}

// TestEnsureDeletionReportsProgress deletes a FederatedConfigMap whose
// member-1 object cannot go yet, and checks the status and the event.
func TestEnsureDeletionReportsProgress(t *testing.T) {
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	tests := []struct {
		name string
		// terminating puts member-1's object in deletion, held by a finalizer;
		// otherwise member-1 refuses the delete.
		terminating bool
		clusters    string
		reason      string
		eventReason string
		event       string
		fails       bool
	}{
		{name: "held by a member finalizer", terminating: true, clusters: "member-1=WaitingForRemoval", reason: CheckClusters,
			eventReason: WaitingForRemoval, event: "member-1 (WaitingForRemoval: its removal waits for the finalizers example.com/block)"},
		{name: "refused by the member", clusters: "member-1=DeletionFailed", reason: EnsureDeletionFailed, fails: true,
			eventReason: EnsureDeletionFailed, event: `member-1 (DeletionFailed: configmaps "web" is forbidden`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newPropagationFixture(t, configMaps, 0)
			recorder := record.NewFakeRecorder(10)
			fx.controller.recorder = recorder
			fed := fx.federated(map[string]any{"spec": map[string]any{}}, withDeleting|withFinalizer, "")
			// Just deleted: an unready member-3 is waited for, not released.
			fed.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
			fx.add(t, fed)
			member := map[string]any{"data": map[string]any{"color": "blue"}}
			fx.memberObject(t, member, false)
			if tt.terminating {
				cached, _, _ := fx.memberCache.GetByKey("demo/web")
				held, err := cached.(*compactMember).object()
				if err != nil {
					t.Fatal(err)
				}
				held.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
				held.SetFinalizers([]string{"example.com/block"})
				if err := fx.memberCache.Update(mustCompact(t, held)); err != nil {
					t.Fatal(err)
				}
			} else {
				fx.member.PrependReactor("delete", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "web", errors.New("no"))
				})
			}
			requeue, err := fx.controller.reconcile(context.Background(), "demo/web")
			if (err != nil) != tt.fails {
				t.Fatalf("reconcile: %v, want failing %t", err, tt.fails)
			}
			if !tt.fails && requeue <= 0 {
				t.Errorf("not requeued while member-1 holds the object")
			}
			stored, err := fx.fedhub.Resource(fx.controller.federated).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored.GetFinalizers()) != 1 {
				t.Errorf("released while member-1 holds the object: finalizers %v", stored.GetFinalizers())
			}
			status := currentStatus(stored)
			var clusters []string
			for _, c := range status.Clusters {
				clusters = append(clusters, c.Name+"="+c.Status)
			}
			// member-3 is not ready: it may hold the object too.
			if want := tt.clusters + " member-3=ClusterNotReady"; strings.Join(clusters, " ") != want {
				t.Errorf("status.clusters %v, want %s", clusters, want)
			}
			if len(status.Conditions) != 1 || status.Conditions[0].Reason != tt.reason {
				t.Errorf("conditions %+v, want reason %s", status.Conditions, tt.reason)
			}
			select {
			case event := <-recorder.Events:
				if !strings.Contains(event, tt.eventReason+" ") || !strings.Contains(event, tt.event) || !strings.Contains(event, "member-3 (ClusterNotReady") {
					t.Errorf("event %q, want %s naming %q and member-3", event, tt.eventReason, tt.event)
				}
			default:
				t.Errorf("no event")
			}
		})
	}
}

// TestDeletionWithPropagationDisabled: a controller that only handles
// deletions reads the members directly, deletes or orphans as the object
// asks, releases the object, and leaves objects not being deleted alone.
func TestDeletionWithPropagationDisabled(t *testing.T) {
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	for _, orphan := range []bool{false, true} {
		fx := newPropagationFixture(t, configMaps, 0)
		c := fx.controller
		c.deletionOnly = true
		// Its clients come from the cluster set, as no member informer runs.
		c.clusters.secrets = corelisters.NewSecretLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}))
		for _, name := range []string{"member-1", "member-2"} {
			kfc, err := c.clusters.clusters.KubeFedClusters(c.clusters.namespace).Get(name)
			if err != nil {
				t.Fatal(err)
			}
			c.clusters.clients[name] = memberClient{fingerprint: member.Fingerprint(kfc, nil), client: c.members[name].client}
		}
		flags := uint8(withDeleting | withFinalizer)
		if orphan {
			flags |= withOrphan
		}
		fed := fx.federated(map[string]any{"spec": map[string]any{}}, flags, "")
		fx.add(t, fed)
		fx.memberObject(t, map[string]any{"data": map[string]any{"color": "blue"}}, false)
		if _, err := c.reconcile(context.Background(), "demo/web"); err != nil {
			t.Fatal(err)
		}
		live, err := fx.member.Resource(c.target).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
		switch {
		case orphan && (err != nil || live.GetLabels()[ManagedLabel] != ""):
			t.Errorf("orphaning: member object %v, %v; want it kept without the managed label", live, err)
		case !orphan && !apierrors.IsNotFound(err):
			t.Errorf("deleting: member object %v, %v; want it deleted", live, err)
		}
		// The next pass finds the member object gone or unmanaged and releases it.
		if _, err := c.reconcile(context.Background(), "demo/web"); err != nil {
			t.Fatal(err)
		}
		stored, err := fx.fedhub.Resource(c.federated).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil || len(stored.GetFinalizers()) != 0 {
			t.Errorf("orphan %t: not released: %v %v", orphan, stored, err)
		}
	}

	fx := newPropagationFixture(t, configMaps, 0)
	fx.controller.deletionOnly = true
	fed := fx.federated(map[string]any{"spec": map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}}}, 0, "")
	fx.add(t, fed)
	if _, err := fx.controller.reconcile(context.Background(), "demo/web"); err != nil {
		t.Fatal(err)
	}
	for _, action := range append(fx.fedhub.Actions(), fx.member.Actions()...) {
		if action.GetVerb() != "get" && action.GetVerb() != "list" {
			t.Errorf("a type with propagation disabled wrote: %v", action)
		}
	}
}

// TestNamespaceNotFederatedHoldsMemberObjects: an object whose
// FederatedNamespace is gone (deleted with kubefed.io/orphan, say) reports
// NamespaceNotFederated and leaves its member objects as they are.
func TestNamespaceNotFederatedHoldsMemberObjects(t *testing.T) {
	configMaps := corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}
	fx := newPropagationFixture(t, configMaps, withNamespaces) // namespaces federated, this one not
	fed := fx.federated(map[string]any{"spec": map[string]any{"template": map[string]any{"data": map[string]any{"color": "red"}},
		"placement": map[string]any{"clusterSelector": map[string]any{}}}}, withFinalizer, "")
	fx.add(t, fed)
	fx.memberObject(t, map[string]any{"data": map[string]any{"color": "blue"}}, false)
	if _, err := fx.controller.reconcile(context.Background(), "demo/web"); err != nil {
		t.Fatal(err)
	}
	for _, action := range fx.member.Actions() {
		t.Errorf("the member was written: %v", action)
	}
	stored, err := fx.fedhub.Resource(fx.controller.federated).Namespace("demo").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if status := currentStatus(stored); len(status.Conditions) != 1 || status.Conditions[0].Reason != NamespaceNotFederated {
		t.Errorf("status %+v, want Propagation False NamespaceNotFederated", status)
	}
}
