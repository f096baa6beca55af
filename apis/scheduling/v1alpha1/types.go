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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ReplicaSchedulingPreference spreads the replicas of the FederatedDeployment or
// FederatedReplicaSet with the same namespace and name across member clusters.
type ReplicaSchedulingPreference struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says how many replicas to run and how to weigh the clusters.
	Spec ReplicaSchedulingPreferenceSpec `json:"spec,omitempty"`
	// Status reports the current plan.
	// +optional
	Status ReplicaSchedulingPreferenceStatus `json:"status,omitempty"`
}

// ReplicaSchedulingPreferenceSpec says how many replicas to run and where.
type ReplicaSchedulingPreferenceSpec struct {
	// TargetKind is the kind of the federated workload this preference applies to:
	// FederatedDeployment or FederatedReplicaSet.
	TargetKind string `json:"targetKind"`
	// TotalReplicas is the number of replicas to run across all clusters. It
	// replaces the replicas of the workload's template.
	TotalReplicas int32 `json:"totalReplicas"`
	// Rebalance allows running replicas to move between clusters to match the
	// preferences; when false, replicas already running stay where they are.
	// +optional
	Rebalance bool `json:"rebalance,omitempty"`
	// IntersectWithClusterSelector limits the candidate clusters to those the
	// workload's own placement selects; when false the schedule replaces the
	// workload's placement clusters.
	// +optional
	IntersectWithClusterSelector bool `json:"intersectWithClusterSelector,omitempty"`
	// Clusters maps cluster names, or "*" for every cluster not named, to
	// preferences. A cluster matched by neither gets no replicas.
	// +optional
	Clusters map[string]ClusterPreferences `json:"clusters,omitempty"`
}

// ClusterPreferences bounds and weighs the replicas given to one cluster.
type ClusterPreferences struct {
	// MinReplicas is the number of replicas this cluster gets before any weighing. Default 0.
	// +optional
	MinReplicas int64 `json:"minReplicas,omitempty"`
	// MaxReplicas caps this cluster's replicas; unset means no cap.
	// +optional
	MaxReplicas *int64 `json:"maxReplicas,omitempty"`
	// Weight is this cluster's share of the replicas left after the minimums. Default 0.
	// +optional
	Weight int64 `json:"weight,omitempty"`
}

// ReplicaSchedulingPreferenceStatus reports the replica plan. It is filled by the
// scheduler; KubeFed kept it empty.
type ReplicaSchedulingPreferenceStatus struct {
	// ObservedGeneration is the generation of the preference the plan was made for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Clusters is the current plan: the replicas of each cluster given any, by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []ClusterReplicas `json:"clusters,omitempty"`
	// UnplacedReplicas is how many of totalReplicas no cluster was given.
	// +optional
	UnplacedReplicas int64 `json:"unplacedReplicas,omitempty"`
	// LastChangeTime is when the plan last changed.
	// +optional
	LastChangeTime *metav1.Time `json:"lastChangeTime,omitempty"`
	// Conditions: Scheduled is True when the plan is written into the target
	// workload; its reason and message say why not, or why replicas are
	// unplaced, moved for want of capacity, or placed ignoring the weights.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// EstimatedCapacity lists the clusters found short of room for the
	// workload, with the replicas each is estimated to run. The plan gives
	// a cluster no more than its estimate (the rest move to clusters with
	// room), until its nodes gain room or the estimate expires. A fedhub
	// addition: KubeFed estimated capacity in the same way but did not
	// report it.
	// +optional
	// +listType=map
	// +listMapKey=name
	EstimatedCapacity []ClusterCapacity `json:"estimatedCapacity,omitempty"`
}

// ClusterCapacity is the estimated capacity of one cluster for the workload.
type ClusterCapacity struct {
	// Name is the KubeFedCluster's name.
	Name string `json:"name"`
	// Replicas is how many replicas the cluster is estimated to run: the
	// workload's pods there, less those unschedulable for longer than
	// fedhub's --rsp-unschedulable-threshold (60s by default, as in KubeFed).
	Replicas int64 `json:"replicas"`
	// UnschedulableReplicas is how many of the workload's pods were
	// unschedulable there for longer than the threshold when the estimate
	// was made.
	// +optional
	UnschedulableReplicas int64 `json:"unschedulableReplicas,omitempty"`
	// ObservedTime is when the estimate was made. It is dropped when the
	// cluster's nodes gain room, or once it is older than fedhub's
	// --rsp-capacity-estimate-ttl while no pod is unschedulable there.
	ObservedTime metav1.Time `json:"observedTime"`
	// Message is the member scheduler's reason for one of the unschedulable
	// pods, e.g. "0/3 nodes are available: 3 Too many pods."
	// +optional
	Message string `json:"message,omitempty"`
}

// ClusterReplicas is one cluster's part of a replica plan.
type ClusterReplicas struct {
	// Name is the KubeFedCluster's name.
	Name string `json:"name"`
	// Replicas is the number of replicas the cluster is to run.
	Replicas int64 `json:"replicas"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ReplicaSchedulingPreferenceList is a list of ReplicaSchedulingPreferences.
type ReplicaSchedulingPreferenceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []ReplicaSchedulingPreference `json:"items"`
}
