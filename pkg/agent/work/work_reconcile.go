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
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
)

// Results a Work's status reports: KubeFed's per-cluster propagation strings.
const (
	ResultCreationFailed     = "CreationFailed"
	ResultUpdateFailed       = "UpdateFailed"
	ResultRetrievalFailed    = "RetrievalFailed"
	ResultAlreadyExists      = "AlreadyExists"
	ResultManagedLabelFalse  = "ManagedLabelFalse"
	ResultWaitingForRemoval  = "WaitingForRemoval"
	ResultDeletionFailed     = "DeletionFailed"
	ResultLabelRemovalFailed = "LabelRemovalFailed"
)

// removalPoll is how soon a Work whose member object is being deleted is
// looked at again; the member informer usually brings the deletion sooner.
const removalPoll = 5 * time.Second

// Action is what a reconcile did to the member, for logs and tests.
type Action string

// Actions.
const (
	ActionNone     Action = "none"
	ActionCreate   Action = "create"
	ActionAdopt    Action = "adopt"
	ActionUpdate   Action = "update"
	ActionDrift    Action = "drift"
	ActionDelete   Action = "delete"
	ActionOrphan   Action = "orphan"
	ActionWait     Action = "wait"
	ActionRelease  Action = "release"
	ActionRefuse   Action = "refuse"
	ActionFail     Action = "fail"
	ActionAbsent   Action = "absent"
	ActionNotOwned Action = "not-owned"
)

// Outcome is the decision for one Work.
type Outcome struct {
	// Action is what was done to the member.
	Action Action
	// Status is the Work's status to report; written only when it differs
	// from the stored one.
	Status agentv1alpha1.WorkStatus
	// Release says the member object is gone or orphaned: the finalizer goes.
	Release bool
	// Retry asks for the Work again with backoff (a failure).
	Retry bool
	// After asks for the Work again after this long (waiting for removal).
	After time.Duration
}

// Reconciler decides and carries out what one Work needs of the member.
type Reconciler struct {
	// Cluster is the member's name, for messages.
	Cluster string
	// Member reaches the member cluster.
	Member Member
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Pods reads what the capacity estimate needs of the member; nil
	// reports nothing for it.
	Pods Pods
}

// Reconcile brings the member object of w in line with it, or removes it when
// w is being deleted, and returns the status to report.
func (r *Reconciler) Reconcile(ctx context.Context, w *agentv1alpha1.Work) Outcome {
	desired, ref, err := manifestOf(w)
	if w.DeletionTimestamp != nil {
		if !hasFinalizer(w) {
			return Outcome{Action: ActionNone, Status: w.Status}
		}
		if err != nil {
			// Nothing this manifest names can have been applied.
			return Outcome{Action: ActionRelease, Release: true, Status: w.Status}
		}
		return r.remove(ctx, w, ref)
	}
	status := *w.Status.DeepCopy()
	status.ObservedGeneration = w.Generation
	if err != nil {
		return fail(ActionRefuse, status, ResultCreationFailed, err.Error(), false)
	}
	live, err := r.Member.Get(ctx, ref)
	if err != nil {
		return fail(ActionFail, status, ResultRetrievalFailed, fmt.Sprintf("reading %s: %v", ref, err), true)
	}
	if live == nil {
		applied, err := r.Member.Apply(ctx, ref, applyBody(desired, desired))
		if err != nil {
			return fail(ActionFail, status, ResultCreationFailed, err.Error(), true)
		}
		return r.succeed(ctx, w, ref, ActionCreate, status, applied)
	}
	if !managed(live) {
		switch {
		case live.GetLabels()[managedLabel] == "false":
			return fail(ActionNotOwned, status, ResultManagedLabelFalse,
				fmt.Sprintf("%s in cluster %s is labelled %s=false", ref, r.Cluster, managedLabel), false)
		case !w.Spec.Adopt:
			return fail(ActionNotOwned, status, ResultAlreadyExists,
				fmt.Sprintf("%s already exists in cluster %s and adopting resources is disabled", ref, r.Cluster), false)
		}
	}
	retained := desired.DeepCopy()
	propagation.Retain(retained, live, w.Spec.RetainReplicas)
	if managed(live) && !propagation.Differs(retained, live) {
		return r.succeed(ctx, w, ref, ActionNone, status, live)
	}
	action := ActionUpdate
	switch {
	case !managed(live):
		action = ActionAdopt
	case w.Status.ObservedGeneration == w.Generation && w.Status.Result == "":
		// This generation was applied and reported in sync: something else
		// changed the member object since.
		action = ActionDrift
	}
	applied, err := r.Member.Apply(ctx, ref, applyBody(desired, retained))
	if err != nil {
		return fail(ActionFail, status, ResultUpdateFailed, err.Error(), true)
	}
	if action == ActionDrift {
		status.DriftCorrections++
		status.LastDriftCorrection = &agentv1alpha1.DriftCorrection{
			Time:    metav1.NewTime(r.now()),
			Message: fmt.Sprintf("%s %s was changed in cluster %s; restored", desired.GetKind(), nsName(ref), r.Cluster),
		}
	}
	return r.succeed(ctx, w, ref, action, status, applied)
}

// remove deletes or orphans the member object of a Work being deleted.
func (r *Reconciler) remove(ctx context.Context, w *agentv1alpha1.Work, ref Ref) Outcome {
	status := *w.Status.DeepCopy()
	// fedhub updates the delete options or orphaning just before it deletes
	// a Work: this report is on that generation.
	status.ObservedGeneration = w.Generation
	live, err := r.Member.Get(ctx, ref)
	switch {
	case err != nil:
		return fail(ActionFail, status, ResultDeletionFailed, fmt.Sprintf("reading %s: %v", ref, err), true)
	case live == nil || !managed(live):
		// Gone, or not the federation's: nothing to remove.
		return Outcome{Action: ActionAbsent, Release: true, Status: status}
	case w.Spec.Orphan:
		if err := r.Member.Unmanage(ctx, ref); err != nil && !apierrors.IsNotFound(err) {
			return fail(ActionFail, status, ResultLabelRemovalFailed, err.Error(), true)
		}
		return Outcome{Action: ActionOrphan, Release: true, Status: status}
	case live.GetDeletionTimestamp() != nil:
		return waitForRemoval(status, live)
	}
	opts := metav1.DeleteOptions{}
	if w.Spec.DeleteOptions != nil {
		opts = *w.Spec.DeleteOptions.DeepCopy()
	}
	gone, err := r.Member.Delete(ctx, ref, string(live.GetUID()), opts)
	switch {
	case err != nil:
		return fail(ActionFail, status, ResultDeletionFailed, err.Error(), true)
	case gone:
		return Outcome{Action: ActionDelete, Release: true, Status: status}
	}
	out := waitForRemoval(status, live)
	out.Action = ActionDelete
	return out
}

// Sweep deletes (or, with orphan, unlabels) the managed member object of
// every Work, whatever the Works say: what an unjoin asks. It returns how
// many it handled and the errors it met.
func Sweep(ctx context.Context, m Member, works []*agentv1alpha1.Work, orphan bool) (handled int, errs []error) {
	seen := map[Ref]bool{}
	for _, w := range works {
		_, ref, err := manifestOf(w)
		if err != nil || seen[ref] {
			continue
		}
		seen[ref] = true
		live, err := m.Get(ctx, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", ref, err))
			continue
		}
		if live == nil || !managed(live) {
			continue
		}
		if orphan {
			err = m.Unmanage(ctx, ref)
		} else {
			opts := metav1.DeleteOptions{}
			if w.Spec.DeleteOptions != nil {
				opts = *w.Spec.DeleteOptions.DeepCopy()
			}
			_, err = m.Delete(ctx, ref, string(live.GetUID()), opts)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			continue
		}
		handled++
	}
	return handled, errs
}

func waitForRemoval(status agentv1alpha1.WorkStatus, live *unstructured.Unstructured) Outcome {
	status.Result = ResultWaitingForRemoval
	status.Message = "the member object is being deleted"
	if f := live.GetFinalizers(); len(f) > 0 {
		status.Message = "its removal waits for the finalizers " + strings.Join(f, ", ")
	}
	return Outcome{Action: ActionWait, Status: status, After: removalPoll}
}

func fail(action Action, status agentv1alpha1.WorkStatus, result, message string, retry bool) Outcome {
	status.Result, status.Message = result, message
	if action == ActionRefuse || action == ActionNotOwned {
		status.Member, status.Unschedulable = nil, nil
	}
	return Outcome{Action: action, Status: status, Retry: retry}
}

func (r *Reconciler) succeed(ctx context.Context, w *agentv1alpha1.Work, ref Ref, action Action, status agentv1alpha1.WorkStatus,
	member *unstructured.Unstructured) Outcome {
	status.Result, status.Message = "", ""
	status.Member = excerpt(member, w.Spec.ReportStatus)
	out := Outcome{Action: action}
	var poll bool
	if status.Unschedulable, poll = r.unschedulable(ctx, w, ref, member); poll {
		out.After = unschedulablePoll
	}
	out.Status = status
	return out
}

// applyBody is what the agent applies: the manifest with the fields retained
// from the member that the manifest does not set (replicas, allocated ports
// and IPs, ...), but only the manifest's own labels, annotations and
// finalizers, so the agent owns none of other managers' entries, and no
// server-set metadata.
func applyBody(desired, retained *unstructured.Unstructured) *unstructured.Unstructured {
	body := retained.DeepCopy()
	body.SetLabels(desired.GetLabels())
	body.SetAnnotations(desired.GetAnnotations())
	body.SetFinalizers(desired.GetFinalizers())
	md, _ := body.Object["metadata"].(map[string]interface{})
	for _, field := range []string{"resourceVersion", "uid", "generation", "creationTimestamp",
		"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"} {
		delete(md, field)
	}
	return body
}

// StatusEqual compares two Work statuses, the member excerpts by value.
func StatusEqual(a, b agentv1alpha1.WorkStatus) bool {
	if !sameExcerpt(a.Member, b.Member) {
		return false
	}
	a.Member, b.Member = nil, nil
	return equality.Semantic.DeepEqual(a, b)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func nsName(ref Ref) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return ref.Namespace + "/" + ref.Name
}
