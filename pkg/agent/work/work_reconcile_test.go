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
	"errors"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

var testNow = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

func inSync(generation int64) func(*agentv1alpha1.Work) {
	return func(w *agentv1alpha1.Work) {
		w.Status.ObservedGeneration = generation
		w.Status.Result = ""
	}
}

type reconcileCase struct {
	name   string
	work   *agentv1alpha1.Work
	live   *unstructured.Unstructured
	errs   map[string]error
	action Action
	// calls are the member calls in order.
	calls    []string
	result   string
	message  string
	retry    bool
	drift    int64
	driftMsg string
	member   string
	// replicasIn is spec.replicas of the applied body.
	replicasIn *int64
}

func TestReconcile(t *testing.T) {
	boom := errors.New("boom")
	tests := []reconcileCase{{
		name:   "missing: created with the manifest",
		work:   newWork(deployment(3, managedLabels())),
		action: ActionCreate, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":1}}`, replicasIn: ptr.To[int64](3),
	}, {
		name:   "a manifest without the managed label gets it",
		work:   newWork(deployment(3, nil)),
		action: ActionCreate, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":1}}`,
	}, {
		name:   "managed and equal in what the manifest sets: nothing written",
		work:   newWork(deployment(3, managedLabels()), inSync(3)),
		live:   liveDeployment(3, map[string]string{managedLabel: "true", "team": "a"}),
		action: ActionNone, calls: []string{"get"},
		member: `{"metadata":{"generation":4}}`,
	}, {
		name:   "managed and different, new generation: updated, no drift",
		work:   newWork(deployment(5, managedLabels()), inSync(2)),
		live:   liveDeployment(3, managedLabels()),
		action: ActionUpdate, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":5}}`, replicasIn: ptr.To[int64](5),
	}, {
		name: "managed and different after this generation was applied: drift restored and counted",
		work: newWork(deployment(3, managedLabels()), inSync(3), func(w *agentv1alpha1.Work) {
			w.Status.DriftCorrections = 1
		}),
		live:   liveDeployment(7, managedLabels()),
		action: ActionDrift, calls: []string{"get", "apply"},
		drift: 2, driftMsg: "Deployment shop/web was changed in cluster member-2; restored",
		member: `{"metadata":{"generation":5}}`, replicasIn: ptr.To[int64](3),
	}, {
		name: "different after a failed update of this generation: not drift",
		work: newWork(deployment(3, managedLabels()), inSync(3), func(w *agentv1alpha1.Work) {
			w.Status.Result, w.Status.Message = ResultUpdateFailed, "old failure"
		}),
		live:   liveDeployment(7, managedLabels()),
		action: ActionUpdate, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":5}}`,
	}, {
		name: "retainReplicas keeps the member's count: in sync",
		work: newWork(deployment(3, managedLabels()), inSync(3), func(w *agentv1alpha1.Work) {
			w.Spec.RetainReplicas = true
		}),
		live:   liveDeployment(9, managedLabels()),
		action: ActionNone, calls: []string{"get"},
		member: `{"metadata":{"generation":4}}`,
	}, {
		name: "retainReplicas: an update applies the member's count",
		work: newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) { w.Spec.RetainReplicas = true }),
		live: liveDeployment(9, managedLabels(), func(o *unstructured.Unstructured) {
			o.Object["spec"].(map[string]interface{})["template"] = map[string]interface{}{}
		}),
		action: ActionUpdate, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":5}}`, replicasIn: ptr.To[int64](9),
	}, {
		name:   "unlabelled and adopt: adopted",
		work:   newWork(deployment(3, managedLabels())),
		live:   liveDeployment(3, map[string]string{"team": "a"}),
		action: ActionAdopt, calls: []string{"get", "apply"},
		member: `{"metadata":{"generation":5}}`,
	}, {
		name:   "unlabelled and no adopt: AlreadyExists, nothing written",
		work:   newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) { w.Spec.Adopt = false }),
		live:   liveDeployment(3, nil),
		action: ActionNotOwned, calls: []string{"get"},
		result: ResultAlreadyExists, message: "apps/v1, Resource=deployments shop/web already exists in cluster member-2 and adopting resources is disabled",
	}, {
		name:   "labelled managed=false: left alone",
		work:   newWork(deployment(3, managedLabels())),
		live:   liveDeployment(3, map[string]string{managedLabel: "false"}),
		action: ActionNotOwned, calls: []string{"get"},
		result: ResultManagedLabelFalse, message: "apps/v1, Resource=deployments shop/web in cluster member-2 is labelled kubefed.io/managed=false",
	}, {
		name:   "reportStatus: spec.replicas and status in the excerpt",
		work:   newWork(deployment(3, managedLabels()), inSync(3), func(w *agentv1alpha1.Work) { w.Spec.ReportStatus = true }),
		live:   liveDeployment(3, managedLabels()),
		action: ActionNone, calls: []string{"get"},
		member: `{"metadata":{"generation":4},"spec":{"replicas":3},"status":{"observedGeneration":4,"readyReplicas":3}}`,
	}, {
		name:   "read fails: RetrievalFailed, retried",
		work:   newWork(deployment(3, managedLabels())),
		errs:   map[string]error{"get": boom},
		action: ActionFail, calls: []string{"get"}, retry: true,
		result: ResultRetrievalFailed, message: "reading apps/v1, Resource=deployments shop/web: boom",
	}, {
		name:   "create fails: CreationFailed, retried",
		work:   newWork(deployment(3, managedLabels())),
		errs:   map[string]error{"apply": boom},
		action: ActionFail, calls: []string{"get", "apply"}, retry: true,
		result: ResultCreationFailed, message: "boom",
	}, {
		name:   "update fails: UpdateFailed, retried",
		work:   newWork(deployment(5, managedLabels())),
		live:   liveDeployment(3, managedLabels()),
		errs:   map[string]error{"apply": boom},
		action: ActionFail, calls: []string{"get", "apply"}, retry: true,
		result: ResultUpdateFailed, message: "boom",
	}}
	for _, bad := range []struct{ name, manifest, message string }{
		{"manifest a list", `[1,2]`, "the Work's manifest is not a JSON object"},
		{"manifest null", `null`, "the Work's manifest is not a JSON object"},
		{"manifest empty", ``, "the Work's manifest is not a JSON object"},
		{"manifest a number", `5`, "the Work's manifest is not a JSON object"},
		{"metadata a string", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":"x"}`, "the Work's manifest has no metadata object"},
		{"no kind", `{"apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop"}}`, "the Work's manifest needs apiVersion and kind"},
		{"kind a number", `{"apiVersion":"apps/v1","kind":5,"metadata":{"name":"web","namespace":"shop"}}`, "the Work's manifest needs apiVersion and kind"},
		{"other group", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"web","namespace":"shop"}}`, `the Work's manifest has apiVersion "batch/v1", not the group and version of apps/v1, Resource=deployments`},
		{"no name", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"namespace":"shop"}}`, "the Work's manifest has no metadata.name"},
		{"name a path", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a/b","namespace":"shop"}}`, `the Work's manifest has an invalid name "a/b": may not contain '/'`},
		{"no namespace", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"}}`, "the Work's manifest has no metadata.namespace, and apps/v1, Resource=deployments is namespaced"},
		{"labels a list", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","labels":[1]}}`, ""},
	} {
		tc := struct {
			name       string
			work       *agentv1alpha1.Work
			live       *unstructured.Unstructured
			errs       map[string]error
			action     Action
			calls      []string
			result     string
			message    string
			retry      bool
			drift      int64
			driftMsg   string
			member     string
			replicasIn *int64
		}{name: bad.name, work: newWork(bad.manifest), action: ActionRefuse, result: ResultCreationFailed, message: bad.message}
		if bad.message == "" {
			tc.action, tc.result, tc.calls, tc.member = ActionCreate, "", []string{"get", "apply"}, `{"metadata":{"generation":1}}`
		}
		tests = append(tests, tc)
	}
	tests = append(tests, reconcileCase{
		name:   "resource not a path segment",
		work:   newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) { w.Spec.Resource.Resource = "deployments/scale" }),
		action: ActionRefuse, result: ResultCreationFailed,
		message: `the Work's spec.resource "apps/v1, Resource=deployments/scale" is not a valid resource: may not contain '/'`,
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m *fakeMember
			if tc.live != nil {
				m = newFakeMember(tc.live)
			} else {
				m = newFakeMember()
			}
			for verb, err := range tc.errs {
				m.errs[verb] = err
			}
			r := &Reconciler{Cluster: "member-2", Member: m, Now: func() time.Time { return testNow }}
			out := r.Reconcile(context.Background(), tc.work)
			if out.Action != tc.action {
				t.Errorf("action %q, want %q", out.Action, tc.action)
			}
			if !slices.Equal(m.calls, tc.calls) {
				t.Errorf("member calls %v, want %v", m.calls, tc.calls)
			}
			if out.Status.Result != tc.result || out.Status.Message != tc.message {
				t.Errorf("result %q %q, want %q %q", out.Status.Result, out.Status.Message, tc.result, tc.message)
			}
			if out.Status.ObservedGeneration != tc.work.Generation {
				t.Errorf("observedGeneration %d, want %d", out.Status.ObservedGeneration, tc.work.Generation)
			}
			if out.Retry != tc.retry || out.Release {
				t.Errorf("retry %v release %v, want retry %v", out.Retry, out.Release, tc.retry)
			}
			if tc.drift != 0 || out.Status.DriftCorrections != tc.work.Status.DriftCorrections {
				if out.Status.DriftCorrections != tc.drift {
					t.Errorf("driftCorrections %d, want %d", out.Status.DriftCorrections, tc.drift)
				}
				if d := out.Status.LastDriftCorrection; d == nil || d.Message != tc.driftMsg || !d.Time.Time.Equal(testNow) {
					t.Errorf("lastDriftCorrection %+v, want %q at %v", d, tc.driftMsg, testNow)
				}
			}
			got := ""
			if out.Status.Member != nil {
				got = string(out.Status.Member.Raw)
			}
			if got != tc.member {
				t.Errorf("member excerpt %s, want %s", got, tc.member)
			}
			if tc.replicasIn != nil {
				replicas, _, _ := unstructured.NestedInt64(m.applied[0].Object, "spec", "replicas")
				if replicas != *tc.replicasIn {
					t.Errorf("applied spec.replicas %d, want %d", replicas, *tc.replicasIn)
				}
			}
			for _, body := range m.applied {
				if body.GetLabels()[managedLabel] != "true" {
					t.Errorf("applied labels %v, want %s=true", body.GetLabels(), managedLabel)
				}
				if body.GetResourceVersion() != "" || body.GetUID() != "" {
					t.Errorf("applied server-set metadata: %v", body.Object["metadata"])
				}
			}
		})
	}
}

// TestReconcileTwiceWritesOnce: once a Work is applied and reported, the
// next reconcile (a restart, an echo of the agent's own write) writes nothing.
func TestReconcileTwiceWritesOnce(t *testing.T) {
	m := newFakeMember()
	r := &Reconciler{Cluster: "member-2", Member: m}
	w := newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) { w.Spec.ReportStatus = true })
	out := r.Reconcile(context.Background(), w)
	if out.Action != ActionCreate {
		t.Fatalf("first action %q", out.Action)
	}
	w.Status = out.Status
	out = r.Reconcile(context.Background(), w)
	if out.Action != ActionNone || !StatusEqual(w.Status, out.Status) {
		t.Errorf("second reconcile: action %q, status %+v, want none and %+v", out.Action, out.Status, w.Status)
	}
	if applies := slices.DeleteFunc(slices.Clone(m.calls), func(c string) bool { return c != "apply" }); len(applies) != 1 {
		t.Errorf("applies %d, want 1", len(applies))
	}
}

func TestReconcileDeleting(t *testing.T) {
	boom := errors.New("boom")
	deleting := func(w *agentv1alpha1.Work) { w.DeletionTimestamp = ptr.To(metav1.NewTime(testNow)) }
	orphan := func(w *agentv1alpha1.Work) { w.Spec.Orphan = true }
	tests := []struct {
		name        string
		work        *agentv1alpha1.Work
		live        *unstructured.Unstructured
		errs        map[string]error
		holdDeletes bool
		action      Action
		calls       []string
		release     bool
		result      string
		retry       bool
		after       time.Duration
		remains     bool
		unlabelled  bool
		message     string
	}{{
		name:   "without the agent's finalizer: nothing",
		work:   newWork(deployment(3, managedLabels()), deleting, func(w *agentv1alpha1.Work) { w.Finalizers = []string{"other"} }),
		live:   liveDeployment(3, managedLabels()),
		action: ActionNone, remains: true,
	}, {
		name:   "member object gone: released",
		work:   newWork(deployment(3, managedLabels()), deleting),
		action: ActionAbsent, calls: []string{"get"}, release: true,
	}, {
		name:   "member object not managed: left, released",
		work:   newWork(deployment(3, managedLabels()), deleting),
		live:   liveDeployment(3, nil),
		action: ActionAbsent, calls: []string{"get"}, release: true, remains: true,
	}, {
		name:   "deleted and gone: released",
		work:   newWork(deployment(3, managedLabels()), deleting),
		live:   liveDeployment(3, managedLabels()),
		action: ActionDelete, calls: []string{"get", "delete"}, release: true,
	}, {
		name:        "deleted, held by a member finalizer: WaitingForRemoval",
		work:        newWork(deployment(3, managedLabels()), deleting),
		live:        liveDeployment(3, managedLabels(), func(o *unstructured.Unstructured) { o.SetFinalizers([]string{"example.com/block"}) }),
		holdDeletes: true,
		action:      ActionDelete, calls: []string{"get", "delete"}, result: ResultWaitingForRemoval, after: removalPoll, remains: true,
		message: "its removal waits for the finalizers example.com/block",
	}, {
		name: "already deleting: not deleted again",
		work: newWork(deployment(3, managedLabels()), deleting),
		live: liveDeployment(3, managedLabels(), func(o *unstructured.Unstructured) {
			o.SetDeletionTimestamp(ptr.To(metav1.NewTime(testNow)))
		}),
		action: ActionWait, calls: []string{"get"}, result: ResultWaitingForRemoval, after: removalPoll, remains: true,
	}, {
		name:   "orphan: label removed, released",
		work:   newWork(deployment(3, managedLabels()), deleting, orphan),
		live:   liveDeployment(3, managedLabels()),
		action: ActionOrphan, calls: []string{"get", "unmanage"}, release: true, remains: true, unlabelled: true,
	}, {
		name:   "delete fails: DeletionFailed, retried",
		work:   newWork(deployment(3, managedLabels()), deleting),
		live:   liveDeployment(3, managedLabels()),
		errs:   map[string]error{"delete": boom},
		action: ActionFail, calls: []string{"get", "delete"}, result: ResultDeletionFailed, retry: true, remains: true,
	}, {
		name:   "label removal fails: LabelRemovalFailed, retried",
		work:   newWork(deployment(3, managedLabels()), deleting, orphan),
		live:   liveDeployment(3, managedLabels()),
		errs:   map[string]error{"unmanage": boom},
		action: ActionFail, calls: []string{"get", "unmanage"}, result: ResultLabelRemovalFailed, retry: true, remains: true,
	}, {
		name:   "read fails: DeletionFailed, retried",
		work:   newWork(deployment(3, managedLabels()), deleting),
		live:   liveDeployment(3, managedLabels()),
		errs:   map[string]error{"get": apierrors.NewForbidden(deploymentRef.Resource.GroupResource(), "web", boom)},
		action: ActionFail, calls: []string{"get"}, result: ResultDeletionFailed, retry: true, remains: true,
	}, {
		name:   "manifest not an object: released",
		work:   newWork(`"x"`, deleting),
		action: ActionRelease, release: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMember()
			if tc.live != nil {
				m = newFakeMember(tc.live)
			}
			m.errs, m.holdDeletes = tc.errs, tc.holdDeletes
			if m.errs == nil {
				m.errs = map[string]error{}
			}
			r := &Reconciler{Cluster: "member-2", Member: m}
			out := r.Reconcile(context.Background(), tc.work)
			if out.Action != tc.action || out.Release != tc.release || out.Retry != tc.retry || out.After != tc.after {
				t.Errorf("outcome %s release=%v retry=%v after=%v, want %s %v %v %v",
					out.Action, out.Release, out.Retry, out.After, tc.action, tc.release, tc.retry, tc.after)
			}
			if !slices.Equal(m.calls, tc.calls) {
				t.Errorf("member calls %v, want %v", m.calls, tc.calls)
			}
			if out.Status.Result != tc.result {
				t.Errorf("result %q (%s), want %q", out.Status.Result, out.Status.Message, tc.result)
			}
			if tc.message != "" && out.Status.Message != tc.message {
				t.Errorf("message %q, want %q", out.Status.Message, tc.message)
			}
			live := m.object(deploymentRef)
			if (live != nil) != tc.remains {
				t.Errorf("member object remains %v, want %v", live != nil, tc.remains)
			}
			if tc.unlabelled && live.GetLabels()[managedLabel] != "" {
				t.Errorf("labels %v, want no %s", live.GetLabels(), managedLabel)
			}
		})
	}
}

func TestReconcileDeletingUsesDeleteOptions(t *testing.T) {
	m := newFakeMember(liveDeployment(3, managedLabels()))
	w := newWork(deployment(3, managedLabels()), func(w *agentv1alpha1.Work) {
		w.DeletionTimestamp = ptr.To(metav1.NewTime(testNow))
		w.Spec.DeleteOptions = &metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}
	})
	(&Reconciler{Cluster: "member-2", Member: m}).Reconcile(context.Background(), w)
	if len(m.deleteOpts) != 1 || m.deleteOpts[0].PropagationPolicy == nil || *m.deleteOpts[0].PropagationPolicy != metav1.DeletePropagationForeground {
		t.Errorf("delete options %+v, want foreground propagation", m.deleteOpts)
	}
}

func TestSweep(t *testing.T) {
	other := deployment(1, nil)
	other.SetName("theirs")
	otherWork := newWork(other)
	works := []*agentv1alpha1.Work{newWork(deployment(3, managedLabels())), otherWork, newWork(`[]`)}
	for _, orphan := range []bool{false, true} {
		m := newFakeMember(liveDeployment(3, managedLabels()), liveDeployment(1, nil, func(o *unstructured.Unstructured) { o.SetName("theirs") }))
		handled, errs := Sweep(context.Background(), m, works, orphan)
		if handled != 1 || len(errs) != 0 {
			t.Errorf("orphan=%v: handled %d, errors %v, want 1 and none", orphan, handled, errs)
		}
		live := m.object(deploymentRef)
		switch {
		case orphan && (live == nil || live.GetLabels()[managedLabel] != ""):
			t.Errorf("orphan: object %v, want kept without the managed label", live)
		case !orphan && live != nil:
			t.Errorf("delete: object kept")
		}
		if m.object(Ref{Resource: deploymentRef.Resource, Namespace: "shop", Name: "theirs"}) == nil {
			t.Errorf("orphan=%v: an object the federation does not manage was removed", orphan)
		}
	}
}

func TestApplyBody(t *testing.T) {
	desired := deployment(3, map[string]string{managedLabel: "true", "app": "web"})
	live := liveDeployment(9, map[string]string{managedLabel: "true", "team": "a"}, func(o *unstructured.Unstructured) {
		o.SetFinalizers([]string{"example.com/x"})
		o.SetAnnotations(map[string]string{"deployment.kubernetes.io/revision": "4"})
	})
	retained := desired.DeepCopy()
	retained.SetResourceVersion(live.GetResourceVersion())
	retained.SetLabels(map[string]string{managedLabel: "true", "app": "web", "team": "a"})
	retained.SetFinalizers(live.GetFinalizers())
	_ = unstructured.SetNestedField(retained.Object, int64(9), "spec", "replicas")
	body := applyBody(desired, retained)
	want := deployment(9, map[string]string{managedLabel: "true", "app": "web"})
	if !equalJSON(body.Object, want.Object) {
		t.Errorf("body %v, want %v", body.Object, want.Object)
	}
}

func TestStatusEqual(t *testing.T) {
	a := agentv1alpha1.WorkStatus{ObservedGeneration: 2, Member: &runtime.RawExtension{Raw: []byte(`{"metadata":{"generation":1}}`)}}
	b := *a.DeepCopy()
	b.Member.Raw = []byte(`{ "metadata": { "generation": 1.0 } }`)
	if !StatusEqual(a, b) {
		t.Errorf("equal excerpts in other bytes compare different")
	}
	b.Member.Raw = []byte(`{"metadata":{"generation":2}}`)
	if StatusEqual(a, b) {
		t.Errorf("different excerpts compare equal")
	}
	if StatusEqual(a, agentv1alpha1.WorkStatus{ObservedGeneration: 2}) {
		t.Errorf("an excerpt compares equal to none")
	}
}
