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
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

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
// with the object as a whole. Times change only with what they time.
func desiredStatus(current typesv1beta1.FederatedStatus, generation int64, aggregate string, clusters map[string]string, now time.Time) typesv1beta1.FederatedStatus {
	status := typesv1beta1.FederatedStatus{ObservedGeneration: generation}
	names := make([]string, 0, len(clusters))
	for name := range clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		status.Clusters = append(status.Clusters, typesv1beta1.ClusterStatus{Name: name, Status: clusters[name]})
		if clusters[name] != "" && aggregate == "" {
			aggregate = CheckClusters
		}
	}
	condition := typesv1beta1.FederatedCondition{Type: PropagationCondition, Status: corev1.ConditionTrue, Reason: aggregate}
	if aggregate != "" {
		condition.Status = corev1.ConditionFalse
	}
	stamp := now.UTC().Format(time.RFC3339)
	condition.LastUpdateTime, condition.LastTransitionTime = stamp, stamp
	for _, old := range current.Conditions {
		if old.Type != PropagationCondition {
			continue
		}
		if old.Status == condition.Status && old.LastTransitionTime != "" {
			condition.LastTransitionTime = old.LastTransitionTime
		}
		if old.Status == condition.Status && old.Reason == condition.Reason && old.LastUpdateTime != "" {
			condition.LastUpdateTime = old.LastUpdateTime
		}
	}
	status.Conditions = []typesv1beta1.FederatedCondition{condition}
	return status
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
