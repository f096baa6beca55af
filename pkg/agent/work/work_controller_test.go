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

package work

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// newTestController is a controller on a fake fedhub holding works, whose
// member is m; its informer has synced.
func newTestController(t *testing.T, m Member, works ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	hub := fake.NewSimpleClientset(works...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := NewController(ctx, "member-2", "kube-federation-system", hub, dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()))
	c.reconciler.Member = m
	go c.informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		t.Fatal("the Work informer did not sync")
	}
	hub.ClearActions()
	return c, hub
}

// writes lists the hub writes as verb/subresource.
func writes(hub *fake.Clientset) []string {
	var out []string
	for _, a := range hub.Actions() {
		if a.GetVerb() == "list" || a.GetVerb() == "watch" || a.GetVerb() == "get" {
			continue
		}
		out = append(out, a.GetVerb()+"/"+a.GetSubresource())
	}
	return out
}

// TestControllerWritesStatusOnce: the first reconcile creates the member
// object and reports; reconciles after it (the echo of the report, a
// restart) write nothing, even while the cache still shows the old Work.
func TestControllerWritesStatusOnce(t *testing.T) {
	m := newFakeMember()
	w := newWork(deployment(3, managedLabels()))
	c, hub := newTestController(t, m, w)
	ctx := context.Background()
	c.process(ctx, w.Name)
	if got := writes(hub); !slices.Equal(got, []string{"update/status"}) {
		t.Fatalf("hub writes %v, want one status update", got)
	}
	stored, err := hub.AgentV1alpha1().Works(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status.ObservedGeneration != 3 || stored.Status.Result != "" || stored.Status.Member == nil {
		t.Errorf("status %+v, want generation 3 reported in sync with a member excerpt", stored.Status)
	}
	hub.ClearActions()
	for range 3 {
		c.process(ctx, w.Name)
	}
	if got := writes(hub); len(got) != 0 {
		t.Errorf("hub writes after the first report: %v, want none", got)
	}
	if applies := slices.DeleteFunc(slices.Clone(m.calls), func(c string) bool { return c != "apply" }); len(applies) != 1 {
		t.Errorf("member applies %d, want 1", len(applies))
	}
}

// TestControllerReleases: a Work being deleted loses only its finalizer
// once the member object is deleted; no status is written.
func TestControllerReleases(t *testing.T) {
	m := newFakeMember(liveDeployment(3, managedLabels()))
	w := newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) {
		w.DeletionTimestamp = ptr.To(metav1.NewTime(time.Now()))
		w.Finalizers = []string{"other", Finalizer}
	})
	c, hub := newTestController(t, m, w)
	c.process(context.Background(), w.Name)
	if got := writes(hub); !slices.Equal(got, []string{"update/"}) {
		t.Fatalf("hub writes %v, want one update", got)
	}
	updated := hub.Actions()[len(hub.Actions())-1].(clienttesting.UpdateAction).GetObject().(*agentv1alpha1.Work)
	want := w.DeepCopy()
	want.Finalizers = []string{"other"}
	if !equalJSON(updated, want) {
		t.Errorf("update %+v, want the Work with only its finalizer removed", updated)
	}
	if m.object(deploymentRef) != nil {
		t.Errorf("the member object remains")
	}
}

// TestControllerReportsPanic: a reconcile that panics is recovered by the
// worker and reported on the Work.
func TestControllerReportsPanic(t *testing.T) {
	w := newWork(deployment(3, managedLabels()))
	c, hub := newTestController(t, panickingMember{}, w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.queue.Add(w.Name)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.process, ReportPanic: c.reportPanic}, 1)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stored, err := hub.AgentV1alpha1().Works(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err == nil && stored.Status.Result == ResultReconcileError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the panic was not reported: %+v", stored.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

type panickingMember struct{ Member }

func (panickingMember) Get(context.Context, Ref) (*unstructured.Unstructured, error) {
	var m map[string]interface{}
	m["boom"] = 1
	return nil, nil
}
