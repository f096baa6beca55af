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
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/placement"
	"github.com/fedhub/fedhub/pkg/scheduling/planner"
)

const (
	// ConditionScheduled is True when the plan is written into the workload.
	ConditionScheduled = "Scheduled"

	// ReasonScheduled: every replica is placed by the preferences.
	ReasonScheduled = "Scheduled"
	// ReasonWeightsIgnored: some replicas went to clusters of weight 0, the only ones with room.
	ReasonWeightsIgnored = "WeightsIgnored"
	// ReasonReplicasUnplaced: no candidate cluster has room for some replicas.
	ReasonReplicasUnplaced = "ReplicasUnplaced"
	// ReasonReplicasMoved: a cluster runs fewer replicas than the weights
	// give it, because its pods stayed unschedulable; they run elsewhere.
	ReasonReplicasMoved = "ReplicasMoved"
	// ReasonTargetNotFound: there is no workload of the target kind with the preference's name.
	ReasonTargetNotFound = "TargetNotFound"
	// ReasonTargetMalformed: the workload's spec cannot take a plan; it is left as it is.
	ReasonTargetMalformed = "TargetMalformed"
	// ReasonNoCandidateClusters: no cluster is ready (and selected); the workload is left as it is.
	ReasonNoCandidateClusters = "NoCandidateClusters"

	// replicasPath is the override the plan sets per cluster, as KubeFed did.
	replicasPath = "/spec/replicas"
)

// sync plans the preference at key and writes the plan and its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key of ours; retrying will not help
	}
	rsp, err := c.preferences.ReplicaSchedulingPreferences(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // KubeFed left the workload as the preference last set it; so does fedhub
	} else if err != nil {
		return err
	}
	resource, ok := targetKinds[rsp.Spec.TargetKind]
	if !ok {
		return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonTargetNotFound,
			message: fmt.Sprintf("targetKind %q is not FederatedDeployment or FederatedReplicaSet", rsp.Spec.TargetKind)})
	}
	workloads, served, synced := c.workloadLister(rsp.Spec.TargetKind)
	if !served {
		return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonTargetNotFound,
			message: fmt.Sprintf("%s is not served: no FederatedTypeConfig has federatedType %s", rsp.Spec.TargetKind, resource.GroupResource())})
	}
	if !synced {
		return nil // the cache plans every preference again once it holds every workload
	}
	obj, err := workloads.ByNamespace(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonTargetNotFound,
			message: fmt.Sprintf("no %s %s/%s", rsp.Spec.TargetKind, namespace, name)})
	} else if err != nil {
		return err
	}
	workload, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected %T in the %s cache", obj, rsp.Spec.TargetKind)
	}
	clusters, err := c.clusters.KubeFedClusters(c.namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	candidates, err := candidateClusters(clusters, workload, rsp.Spec.IntersectWithClusterSelector)
	if err != nil {
		return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonNoCandidateClusters, message: err.Error()})
	}
	candidates, withheld := withinAuthorGrant(candidates, workload)
	if len(candidates) == 0 {
		// Placing nowhere would delete the workload from clusters that may
		// only be unreachable for a moment: leave it until a cluster is ready.
		message := "no cluster is ready"
		if rsp.Spec.IntersectWithClusterSelector {
			message = "no ready cluster matches the workload's clusterSelector"
		}
		return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonNoCandidateClusters,
			message: message + withheldMessage(withheld) + "; the workload is left as it is"})
	}

	current, err := replicasInForce(workload, candidates)
	if err != nil {
		return c.targetMalformed(ctx, rsp, err)
	}
	estimates, recheck := c.estimate(ctx, rsp, workload, clusters, candidates, current)
	c.requeueAt(key, recheck)
	preferences := preferencesOf(rsp, key)
	result := planner.Plan(preferences, candidates, current, capacityOf(estimates))
	replicas := replicasOf(result)
	planned, changed, err := applyPlan(workload, replicas)
	if err != nil {
		return c.targetMalformed(ctx, rsp, err)
	}
	if changed {
		klog.FromContext(ctx).V(2).Info("Writing replica plan", "plan", describePlan(replicas))
		patch, err := planPatch(workload, planned)
		if err != nil {
			return c.targetMalformed(ctx, rsp, err)
		}
		if _, err := c.fedhub.Resource(resource).Namespace(namespace).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
	}
	o := outcomeOf(result, replicas)
	o.estimates = estimates
	if len(estimates) > 0 {
		o.withMoved(movedMessage(estimates, preferredPlan(preferences, candidates), replicas, c.tuning.UnschedulableThreshold))
	}
	o.message += withheldMessage(withheld)
	return c.writeStatus(ctx, rsp, replicas, o)
}

// outcome is the Scheduled condition's reason and message, and the
// capacity estimates the plan was made with.
type outcome struct {
	reason, message string
	unplaced        int64
	estimates       []schedulingv1alpha1.ClusterCapacity
}

// withMoved says why replicas moved: the reason, unless some are unplaced,
// which matters more.
func (o *outcome) withMoved(moved string) {
	switch {
	case moved == "":
	case o.reason == ReasonReplicasUnplaced:
		o.message += "; " + moved
	default:
		o.reason, o.message = ReasonReplicasMoved, moved
	}
}

func (o outcome) scheduled() bool {
	return o.reason != ReasonTargetNotFound && o.reason != ReasonNoCandidateClusters && o.reason != ReasonTargetMalformed
}

// targetMalformed reports a workload whose spec cannot take a plan (no
// spec, overrides that are not a list, ...). Retrying would not help: the
// workload's next change plans the preference again.
func (c *Controller) targetMalformed(ctx context.Context, rsp *schedulingv1alpha1.ReplicaSchedulingPreference, err error) error {
	return c.writeStatus(ctx, rsp, nil, outcome{reason: ReasonTargetMalformed,
		message: fmt.Sprintf("%s %s/%s cannot take a plan: %v; the workload is left as it is", rsp.Spec.TargetKind, rsp.Namespace, rsp.Name, err)})
}

func outcomeOf(result planner.Result, replicas map[string]int64) outcome {
	switch {
	case result.Unplaced > 0:
		return outcome{reason: ReasonReplicasUnplaced, message: result.Reason, unplaced: result.Unplaced}
	case result.PlacedIgnoringWeights > 0:
		return outcome{reason: ReasonWeightsIgnored, message: result.Reason}
	}
	var total int64
	for _, n := range replicas {
		total += n
	}
	return outcome{reason: ReasonScheduled, message: fmt.Sprintf("%d replicas on %d clusters", total, len(replicas))}
}

// writeStatus records the plan (nil: none) and the outcome, when they changed.
func (c *Controller) writeStatus(ctx context.Context, rsp *schedulingv1alpha1.ReplicaSchedulingPreference,
	replicas map[string]int64, o outcome) error {
	status := nextStatus(rsp, replicas, o, metav1.Now())
	if equality.Semantic.DeepEqual(status, rsp.Status) {
		return nil
	}
	if o.scheduled() && !equality.Semantic.DeepEqual(status.Clusters, rsp.Status.Clusters) {
		c.recorder.Eventf(rsp, "Normal", "ReplicasScheduled", "Plan: %s", describePlan(replicas))
	}
	update := rsp.DeepCopy()
	update.Status = status
	_, err := c.status.ReplicaSchedulingPreferences(rsp.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{})
	return err
}

// nextStatus is the preference's status after planning: the plan by cluster
// name, the unplaced replicas, the time the plan last changed and the
// Scheduled condition. A plan that is not made (nil) keeps the previous one.
func nextStatus(rsp *schedulingv1alpha1.ReplicaSchedulingPreference, replicas map[string]int64, o outcome,
	now metav1.Time) schedulingv1alpha1.ReplicaSchedulingPreferenceStatus {
	status := *rsp.Status.DeepCopy()
	status.ObservedGeneration = rsp.Generation
	condition := metav1.Condition{Type: ConditionScheduled, Status: metav1.ConditionTrue, Reason: o.reason,
		Message: o.message, ObservedGeneration: rsp.Generation, LastTransitionTime: now}
	if !o.scheduled() {
		condition.Status = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&status.Conditions, condition)
	if replicas == nil {
		return status
	}
	var clusters []schedulingv1alpha1.ClusterReplicas
	for _, name := range sortedNames(replicas) {
		clusters = append(clusters, schedulingv1alpha1.ClusterReplicas{Name: name, Replicas: replicas[name]})
	}
	if !equality.Semantic.DeepEqual(clusters, status.Clusters) {
		status.Clusters = clusters
		status.LastChangeTime = &now
	}
	status.UnplacedReplicas = o.unplaced
	status.EstimatedCapacity = o.estimates
	return status
}

// preferencesOf reads the planner's input from a preference. As in KubeFed,
// a preference naming no cluster weighs every cluster equally.
func preferencesOf(rsp *schedulingv1alpha1.ReplicaSchedulingPreference, key string) planner.Preferences {
	preferences := planner.FromSpec(rsp.Spec, key)
	if len(preferences.Clusters) == 0 {
		preferences.Clusters = map[string]schedulingv1alpha1.ClusterPreferences{planner.Wildcard: {Weight: 1}}
	}
	return preferences
}

// candidateClusters are the ready clusters, by name; with intersect, only
// those the workload's clusterSelector matches. Its clusters list is not
// consulted: the plan writes it, and reading it back would shrink the
// candidates with every plan (KubeFed skipped it too).
func candidateClusters(clusters []*corev1beta1.KubeFedCluster, workload *unstructured.Unstructured, intersect bool) ([]string, error) {
	selector := labels.Everything()
	if intersect {
		p, err := placement.Of(workload)
		if err != nil {
			return nil, err
		}
		if p.ClusterSelector == nil {
			return nil, nil
		}
		if selector, err = metav1.LabelSelectorAsSelector(p.ClusterSelector); err != nil {
			return nil, fmt.Errorf("the workload's clusterSelector: %w", err)
		}
	}
	var names []string
	for _, cluster := range clusters {
		if cluster.IsReady() && selector.Matches(labels.Set(cluster.Labels)) {
			names = append(names, cluster.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// replicasInForce are the replicas the workload asks each candidate to
// run through a /spec/replicas override: the plan in force, written by this
// controller or, for a workload moved from KubeFed, by KubeFed's. With
// rebalance false the planner keeps them.
//
// KubeFed counted the members' ready pods instead. Those lag the plan: right
// after a plan is written, and whenever a rolling update takes pods out of
// service, a cluster seems to run fewer replicas than it was given, and
// KubeFed moved the difference elsewhere. Replicas the template started
// before the first plan held that plan hostage too. A plan kept from the
// plan in force is a fixed point of the planner, so planning again changes
// nothing until the preferences or the candidates change.
func replicasInForce(workload *unstructured.Unstructured, candidates []string) (map[string]int64, error) {
	overrides, _, err := unstructured.NestedSlice(workload.Object, "spec", "overrides")
	if err != nil {
		return nil, fmt.Errorf("spec.overrides: %w", err)
	}
	current := map[string]int64{}
	for _, o := range overrides {
		entry, _ := o.(map[string]any)
		cluster, _ := entry["clusterName"].(string)
		if !slices.Contains(candidates, cluster) {
			continue
		}
		changes, _ := entry["clusterOverrides"].([]any)
		for _, c := range changes {
			change, _ := c.(map[string]any)
			if change["path"] != replicasPath || change["op"] == "remove" {
				continue
			}
			if n, ok := wholeNumber(change["value"]); ok {
				current[cluster] = n
			}
		}
	}
	return current, nil
}

// replicasOf is what each cluster is asked to run: its plan and its overflow
// (a cluster short of capacity is still asked, in case room appears, as in
// KubeFed). Clusters given nothing are left out.
func replicasOf(result planner.Result) map[string]int64 {
	replicas := map[string]int64{}
	for cluster, n := range result.Plan {
		if n+result.Overflow[cluster] > 0 {
			replicas[cluster] = n + result.Overflow[cluster]
		}
	}
	for cluster, n := range result.Overflow {
		if _, planned := result.Plan[cluster]; !planned && n > 0 {
			replicas[cluster] = n
		}
	}
	return replicas
}

// applyPlan writes replicas into a copy of the workload: placement.clusters
// lists the clusters given replicas, and each has a /spec/replicas override.
// Other overrides, and other clusters' entries, are kept as they are; a
// /spec/replicas override of a cluster no longer planned is removed, with its
// entry when nothing else is left in it. changed is false when the workload
// already says all this.
func applyPlan(workload *unstructured.Unstructured, replicas map[string]int64) (*unstructured.Unstructured, bool, error) {
	// Without a spec there is no placement to write into: a plan would make
	// up a workload without a template, which no one asked for.
	if _, ok := workload.Object["spec"].(map[string]any); !ok {
		return nil, false, fmt.Errorf("the workload's spec is %s, not an object: there is nothing to write the plan into", shapeOf(workload.Object["spec"]))
	}
	planned := workload.DeepCopy()
	names := sortedNames(replicas)
	placed := make([]any, 0, len(names))
	for _, name := range names {
		placed = append(placed, map[string]any{"name": name})
	}
	current, hasList, err := unstructured.NestedSlice(planned.Object, "spec", "placement", "clusters")
	if err != nil {
		return nil, false, fmt.Errorf("spec.placement.clusters: %w", err)
	}
	if !hasList || !sameNames(current, names) {
		if err := unstructured.SetNestedSlice(planned.Object, placed, "spec", "placement", "clusters"); err != nil {
			return nil, false, err
		}
	}

	overrides, _, err := unstructured.NestedSlice(planned.Object, "spec", "overrides")
	if err != nil {
		return nil, false, fmt.Errorf("spec.overrides: %w", err)
	}
	seen := map[string]bool{}
	var kept []any
	for _, o := range overrides {
		entry, ok := o.(map[string]any)
		if !ok {
			kept = append(kept, o)
			continue
		}
		cluster, _ := entry["clusterName"].(string)
		changes, _ := entry["clusterOverrides"].([]any)
		n, planned := replicas[cluster]
		if planned {
			seen[cluster] = true
			entry["clusterOverrides"] = setReplicas(changes, n)
			kept = append(kept, entry)
			continue
		}
		if rest := withoutReplicas(changes); len(rest) < len(changes) {
			if len(rest) == 0 {
				continue // the entry held only the plan's override
			}
			entry["clusterOverrides"] = rest
		}
		kept = append(kept, entry)
	}
	for _, name := range names {
		if !seen[name] {
			kept = append(kept, map[string]any{"clusterName": name, "clusterOverrides": setReplicas(nil, replicas[name])})
		}
	}
	if len(kept) == 0 {
		unstructured.RemoveNestedField(planned.Object, "spec", "overrides")
	} else if err := unstructured.SetNestedSlice(planned.Object, kept, "spec", "overrides"); err != nil {
		return nil, false, err
	}
	return planned, !equality.Semantic.DeepEqual(planned.Object["spec"], workload.Object["spec"]), nil
}

// planPatch is a JSON patch writing the plan's placement and overrides. It
// tests the workload's generation rather than its resourceVersion: while a
// workload rolls out, the propagation controller rewrites its status again
// and again, and an update would conflict with every status write; a change
// to the spec (a user's override) still fails the test, and the plan is made
// again from it.
func planPatch(workload, planned *unstructured.Unstructured) ([]byte, error) {
	// A JSON patch adds a field only to an object that is there.
	if _, ok := workload.Object["spec"].(map[string]any); !ok {
		return nil, fmt.Errorf("the workload's spec is %s, not an object", shapeOf(workload.Object["spec"]))
	}
	placed, found, err := unstructured.NestedFieldNoCopy(planned.Object, "spec", "placement")
	if err != nil || !found {
		return nil, fmt.Errorf("the plan has no spec.placement")
	}
	patch := []map[string]any{
		{"op": "test", "path": "/metadata/generation", "value": workload.GetGeneration()},
		{"op": "add", "path": "/spec/placement", "value": placed},
	}
	overrides, found, err := unstructured.NestedFieldNoCopy(planned.Object, "spec", "overrides")
	if err != nil {
		return nil, fmt.Errorf("the plan's spec.overrides: %w", err)
	}
	_, had, _ := unstructured.NestedFieldNoCopy(workload.Object, "spec", "overrides")
	if found {
		patch = append(patch, map[string]any{"op": "add", "path": "/spec/overrides", "value": overrides})
	} else if had {
		patch = append(patch, map[string]any{"op": "remove", "path": "/spec/overrides"})
	}
	return json.Marshal(patch)
}

// shapeOf names the JSON type of a decoded value, for errors about a field
// of the wrong type.
func shapeOf(value any) string {
	switch value.(type) {
	case nil:
		return "missing or null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", value)
}

// setReplicas sets the /spec/replicas override in a cluster's changes,
// adding one with op add, which works whether or not the template has
// replicas; an existing one keeps its op and place.
func setReplicas(changes []any, replicas int64) []any {
	out := make([]any, 0, len(changes)+1)
	found := false
	for _, c := range changes {
		change, ok := c.(map[string]any)
		if ok && change["path"] == replicasPath {
			if found {
				continue // validation refuses a path twice; never write it twice
			}
			found = true
			if !isNumber(change["value"], replicas) {
				change = copyMap(change)
				change["value"] = replicas
			}
		}
		if ok {
			out = append(out, change)
		} else {
			out = append(out, c)
		}
	}
	if !found {
		out = append(out, map[string]any{"op": "add", "path": replicasPath, "value": replicas})
	}
	return out
}

// isNumber tells whether a decoded JSON value is the number n.
func isNumber(value any, n int64) bool {
	v, ok := wholeNumber(value)
	return ok && v == n
}

// wholeNumber reads a decoded JSON value as a whole number.
func wholeNumber(value any) (int64, bool) {
	switch v := value.(type) {
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}

func withoutReplicas(changes []any) []any {
	out := []any{}
	for _, c := range changes {
		if change, ok := c.(map[string]any); ok && change["path"] == replicasPath {
			continue
		}
		out = append(out, c)
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sameNames tells whether a placement.clusters list names exactly names (sorted).
func sameNames(list []any, names []string) bool {
	var listed []string
	for _, item := range list {
		entry, _ := item.(map[string]any)
		name, _ := entry["name"].(string)
		listed = append(listed, name)
	}
	slices.Sort(listed)
	return slices.Equal(listed, names)
}

func sortedNames(replicas map[string]int64) []string {
	names := make([]string, 0, len(replicas))
	for name := range replicas {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// describePlan is "member-1=4,member-2=2", for events and logs.
func describePlan(replicas map[string]int64) string {
	parts := make([]string, 0, len(replicas))
	for _, name := range sortedNames(replicas) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, replicas[name]))
	}
	if len(parts) == 0 {
		return "no replicas"
	}
	return strings.Join(parts, ",")
}
