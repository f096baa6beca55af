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

package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Placement selects the member clusters a federated object is propagated to.
type Placement struct {
	// Clusters names the member clusters. When set it wins over
	// clusterSelector; the server also honours an explicit empty list, which
	// places the object nowhere.
	// +optional
	// +listType=atomic
	Clusters []PlacementCluster `json:"clusters,omitempty"`
	// ClusterSelector selects member clusters by their labels when clusters is
	// not set: {} selects every cluster, no selector selects none.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// PlacementCluster names one member cluster.
type PlacementCluster struct {
	// Name of a KubeFedCluster.
	Name string `json:"name"`
}

// ClusterOverrides changes the object propagated to one member cluster.
type ClusterOverrides struct {
	// ClusterName is the KubeFedCluster the changes apply to.
	ClusterName string `json:"clusterName"`
	// ClusterOverrides are JSON-patch (RFC 6902) operations on the rendered object.
	// +optional
	// +listType=atomic
	ClusterOverrides []ClusterOverride `json:"clusterOverrides,omitempty"`
}

// ClusterOverride is one JSON-patch operation.
type ClusterOverride struct {
	// Op is add, remove or replace; replace when empty.
	// +optional
	Op string `json:"op,omitempty"`
	// Path is a JSON pointer into the rendered object, e.g. /spec/replicas.
	Path string `json:"path"`
	// Value is what add and replace write at path.
	// +optional
	Value *JSON `json:"value,omitempty"`
}

// FederatedStatus reports how propagation went, overall and per cluster.
type FederatedStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions holds the Propagation condition and, for workloads
	// (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs), the Ready
	// condition: True once every placed cluster has rolled the workload out.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []FederatedCondition `json:"conditions,omitempty"`
	// Clusters reports each placed cluster; status is empty when propagation succeeded there.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []ClusterStatus `json:"clusters,omitempty"`
	// Replicas is, for workloads, the sum over the placed clusters of the
	// replicas each member's object wants (a DaemonSet's desired pods, a
	// Job's completions). A fedhub addition to KubeFed's status.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// ReadyReplicas sums the members' ready replicas (a Job's succeeded pods).
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas sums the members' available replicas.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// UpdatedReplicas sums the members' replicas of the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
}

// FederatedCondition is one condition of a federated object, as KubeFed wrote it.
type FederatedCondition struct {
	// Type is Propagation.
	Type string `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastUpdateTime is when a change was last propagated or last failed, RFC 3339.
	// +optional
	LastUpdateTime string `json:"lastUpdateTime,omitempty"`
	// LastTransitionTime is when the status last changed, RFC 3339.
	// +optional
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
	// Reason is empty on success, or e.g. CheckClusters or NamespaceNotFederated.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ClusterStatus is the propagation state of a federated object in one cluster.
type ClusterStatus struct {
	// Name of the cluster.
	Name string `json:"name"`
	// Status is empty when the member object is as rendered, otherwise a reason
	// such as ClusterNotReady, CreationFailed or AlreadyExists.
	// +optional
	Status string `json:"status,omitempty"`
	// RemoteStatus is the member object's status, when status collection is enabled.
	// +optional
	RemoteStatus *JSON `json:"remoteStatus,omitempty"`
}

// JSON holds any JSON value: an override's value or a collected status.
type JSON struct {
	Raw []byte `json:"-"`
}

// MarshalJSON writes the value as it was received.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j.Raw) == 0 {
		return []byte("null"), nil
	}
	return j.Raw, nil
}

// UnmarshalJSON keeps the value as it is.
func (j *JSON) UnmarshalJSON(data []byte) error {
	if string(data) != "null" {
		j.Raw = append(j.Raw[:0], data...)
	}
	return nil
}

// OpenAPISchemaType is nil: the value may be of any JSON type.
func (JSON) OpenAPISchemaType() []string { return nil }

// OpenAPISchemaFormat is empty: the value has no format.
func (JSON) OpenAPISchemaFormat() string { return "" }

// IsWorkload says whether the federated kind of a target type reports the
// aggregated rollout status (replicas, readyReplicas, … and the Ready
// condition): Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs.
func IsWorkload(group, kind string) bool {
	switch group + "/" + kind {
	case "apps/Deployment", "apps/ReplicaSet", "apps/StatefulSet", "apps/DaemonSet", "batch/Job":
		return true
	}
	return false
}

// ManagedLabel marks the member objects the federation manages ("true"), or
// tells it to leave an existing object alone ("false"), as in KubeFed.
const ManagedLabel = "kubefed.io/managed"

const (
	// OrphanAnnotation "true" on a federated object: deleting it leaves the
	// member objects in place, without the managed label.
	OrphanAnnotation = "kubefed.io/orphan"
	// DeleteOptionAnnotation holds the metav1.DeleteOptions (JSON) used to
	// delete the member objects, e.g. {"propagationPolicy":"Orphan"}.
	DeleteOptionAnnotation = "kubefed.io/deleteoption"
	// AuthorClustersAnnotation, on a workload a ReplicaSchedulingPreference
	// may schedule, on a workload whose dependencies may follow it and on a
	// dependency (a FederatedConfigMap, FederatedSecret, …), lists the
	// clusters the object's last author may propagate to: "*" for all of
	// them, or names separated by commas. fedhub's admission writes it on
	// every write by a user (a value the user sends is replaced) and keeps it
	// on fedhub's own writes, such as a plan's; the scheduler plans replicas
	// on no other cluster, and a dependency follows a workload to no other
	// cluster than both authors may target.
	AuthorClustersAnnotation = "fedhub.io/author-clusters"
	// PropagateDependenciesAnnotation "true" on a federated workload: the
	// ConfigMaps, Secrets, ServiceAccounts and PersistentVolumeClaims its
	// pod template names (federated in the same namespace) are propagated to
	// every cluster the workload is placed on, besides their own placement.
	PropagateDependenciesAnnotation = "fedhub.io/propagate-dependencies"
)
