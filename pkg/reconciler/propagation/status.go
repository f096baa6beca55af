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
	"encoding/json"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// PropagationCondition is the condition KubeFed kept on every federated object.
const PropagationCondition = "Propagation"

// Per-cluster statuses, KubeFed's strings; "" means propagated.
const (
	ClusterNotReady       = "ClusterNotReady"
	ClientRetrievalFailed = "ClientRetrievalFailed"
	CachedRetrievalFailed = "CachedRetrievalFailed"
	ApplyOverridesFailed  = "ApplyOverridesFailed"
	CreationFailed        = "CreationFailed"
	UpdateFailed          = "UpdateFailed"
	DeletionFailed        = "DeletionFailed"
	RetrievalFailed       = "RetrievalFailed"
	AlreadyExists         = "AlreadyExists"
	ManagedLabelFalse     = "ManagedLabelFalse"
	LabelRemovalFailed    = "LabelRemovalFailed"
	WaitingForRemoval     = "WaitingForRemoval"
)

// Aggregate reasons of the Propagation condition, KubeFed's strings; "" means every cluster is fine.
const (
	CheckClusters          = "CheckClusters"
	NamespaceNotFederated  = "NamespaceNotFederated"
	ComputePlacementFailed = "ComputePlacementFailed"
	EnsureDeletionFailed   = "EnsureDeletionFailed"
)

// desiredStatus is the status that reports one reconcile: clusters holds the
// status of every placed cluster ("" when propagated), aggregate a problem
// with the object as a whole, workload the summed rollout of a workload kind
// (nil for other kinds), remote the member objects' .status when the type
// collects it. Times change only with what they time.
func desiredStatus(current typesv1beta1.FederatedStatus, generation int64, aggregate string, clusters map[string]string,
	workload *workloadSummary, remote map[string]*typesv1beta1.JSON, now time.Time) typesv1beta1.FederatedStatus {
	status := typesv1beta1.FederatedStatus{ObservedGeneration: generation}
	names := make([]string, 0, len(clusters))
	for name := range clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		status.Clusters = append(status.Clusters, typesv1beta1.ClusterStatus{Name: name, Status: clusters[name], RemoteStatus: remote[name]})
		if clusters[name] != "" && aggregate == "" {
			aggregate = CheckClusters
		}
	}
	status.Conditions = []typesv1beta1.FederatedCondition{condition(current, PropagationCondition, aggregate == "", aggregate, now)}
	if workload != nil {
		status.Replicas, status.ReadyReplicas = int32(workload.total.desired), int32(workload.total.ready)
		status.AvailableReplicas, status.UpdatedReplicas = int32(workload.total.available), int32(workload.total.updated)
		status.Conditions = append(status.Conditions, condition(current, ReadyCondition, workload.ready, workload.reason(), now))
	}
	return status
}

// condition builds a condition, keeping its transition time while its status
// holds and its update time while neither status nor reason changes.
func condition(current typesv1beta1.FederatedStatus, conditionType string, isTrue bool, reason string, now time.Time) typesv1beta1.FederatedCondition {
	c := typesv1beta1.FederatedCondition{Type: conditionType, Status: corev1.ConditionFalse, Reason: reason}
	if isTrue {
		c.Status = corev1.ConditionTrue
	}
	stamp := now.UTC().Format(time.RFC3339)
	c.LastUpdateTime, c.LastTransitionTime = stamp, stamp
	for _, old := range current.Conditions {
		if old.Type != conditionType || old.Status != c.Status {
			continue
		}
		if old.LastTransitionTime != "" {
			c.LastTransitionTime = old.LastTransitionTime
		}
		if old.Reason == c.Reason && old.LastUpdateTime != "" {
			c.LastUpdateTime = old.LastUpdateTime
		}
	}
	return c
}

// workloadSummary is a workload's rollout summed over its placed clusters.
type workloadSummary struct {
	total replicaCounts
	ready bool
	// notPropagated is set when a placed cluster does not have the object as asked.
	notPropagated bool
}

func (w *workloadSummary) reason() string {
	switch {
	case w.notPropagated:
		return NotPropagated
	case w.ready:
		return ReplicasReady
	}
	return ReplicasNotReady
}

// summarize sums the rollout of the members' objects; members holds each
// placed cluster's object, nil where propagation did not succeed.
func summarize(target schema.GroupVersionKind, members map[string]*unstructured.Unstructured) *workloadSummary {
	summary := &workloadSummary{ready: true}
	for _, obj := range members {
		if obj == nil {
			summary.notPropagated, summary.ready = true, false
			continue
		}
		counts := workloadCounts(target, obj)
		summary.total.desired += counts.desired
		summary.total.ready += counts.ready
		summary.total.available += counts.available
		summary.total.updated += counts.updated
		summary.ready = summary.ready && counts.complete()
	}
	return summary
}

// statusChanged says whether a status differs in more than its times.
func statusChanged(current, desired typesv1beta1.FederatedStatus) bool {
	strip := func(s typesv1beta1.FederatedStatus) typesv1beta1.FederatedStatus {
		out := *s.DeepCopy()
		for i := range out.Conditions {
			out.Conditions[i].LastUpdateTime, out.Conditions[i].LastTransitionTime = "", ""
		}
		if len(out.Clusters) == 0 {
			out.Clusters = nil
		}
		return out
	}
	return !equality.Semantic.DeepEqual(strip(current), strip(desired))
}

// remoteStatusOf is the member object's .status, as KubeFed's
// RawResourceStatusCollection reported it; nil when it has none.
func remoteStatusOf(obj *unstructured.Unstructured) *typesv1beta1.JSON {
	if obj == nil {
		return nil
	}
	status, ok := obj.Object["status"]
	if !ok || status == nil {
		return nil
	}
	raw, err := json.Marshal(status)
	if err != nil {
		return nil
	}
	return &typesv1beta1.JSON{Raw: raw}
}
