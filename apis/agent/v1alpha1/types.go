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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// +genclient
// +genclient:method=CreateToken,verb=create,subresource=token,input=AgentToken,result=AgentToken
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ClusterRegistration is a pull-mode member's request to join the federation,
// made by its fedhub-agent with a bootstrap token. Once approved, fedhub creates
// the member's KubeFedCluster (spec.mode Pull) and the agent obtains its own
// identity through the token subresource. Its name is the cluster's name; it
// lives in the federation namespace.
type ClusterRegistration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the agent asks for and whether an administrator approved it.
	Spec ClusterRegistrationSpec `json:"spec"`
	// Status is what the agent reports about itself and its cluster; it is
	// written only by the agent, and its renewTime is the cluster's lease.
	// +optional
	Status ClusterRegistrationStatus `json:"status,omitempty"`
}

// ClusterRegistrationSpec is a pull-mode member's request.
type ClusterRegistrationSpec struct {
	// APIEndpoint is the member's API server as the agent reaches it; fedhub
	// never dials it and keeps no credential for it. It is copied to the
	// KubeFedCluster for information.
	// +optional
	APIEndpoint string `json:"apiEndpoint,omitempty"`
	// Approved is set by an administrator (fedhubctl approve), or by fedhub
	// when the bootstrap token the agent registered with allows automatic
	// approval. An agent cannot set it.
	// +optional
	Approved bool `json:"approved,omitempty"`
}

// ClusterRegistrationStatus is what the agent reports.
type ClusterRegistrationStatus struct {
	// RenewTime is when the agent last renewed its lease.
	// +optional
	RenewTime *metav1.MicroTime `json:"renewTime,omitempty"`
	// LeaseDurationSeconds is how long after renewTime the cluster counts as
	// reachable.
	// +optional
	LeaseDurationSeconds int32 `json:"leaseDurationSeconds,omitempty"`
	// KubernetesVersion is the gitVersion the member's API server reports.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Zones are the availability zones of the member's nodes.
	// +optional
	// +listType=atomic
	Zones []string `json:"zones,omitempty"`
	// Region is the region most of the member's nodes are in.
	// +optional
	Region *string `json:"region,omitempty"`
	// AgentVersion is the version of the fedhub-agent that renewed the lease last.
	// +optional
	AgentVersion string `json:"agentVersion,omitempty"`
	// RoomGrewTime is when the member's nodes last gained room for pods: a
	// node added, made Ready or schedulable, relieved of a NoSchedule or
	// NoExecute taint, or given more allocatable pods, CPU or memory, as the
	// agent's node watch saw it. fedhub drops the cluster's capacity
	// estimates made before it (docs/scheduling.md).
	// +optional
	RoomGrewTime *metav1.Time `json:"roomGrewTime,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ClusterRegistrationList is a list of ClusterRegistrations.
type ClusterRegistrationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []ClusterRegistration `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AgentToken is the body and the answer of a ClusterRegistration's token
// subresource: a short-lived bearer token of the agent's own identity on the
// host, minted on request and never stored.
type AgentToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the agent asks for.
	Spec AgentTokenSpec `json:"spec"`
	// Status holds the token.
	// +optional
	Status AgentTokenStatus `json:"status,omitempty"`
}

// AgentTokenSpec is a token request.
type AgentTokenSpec struct {
	// ExpirationSeconds is the token's lifetime; at least 600, 3600 by default.
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// AgentTokenStatus is a minted token.
type AgentTokenStatus struct {
	// Token is the bearer token.
	Token string `json:"token"`
	// ExpirationTimestamp is when the token expires.
	ExpirationTimestamp metav1.Time `json:"expirationTimestamp"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Work is one object fedhub decided a pull-mode member must hold: the rendered
// member object of one federated object for one cluster. The cluster's agent
// watches the Works of its cluster, applies them and reports in their status.
// Works live in the federation namespace.
type Work struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the member must hold.
	Spec WorkSpec `json:"spec"`
	// Status is what the agent reports.
	// +optional
	Status WorkStatus `json:"status,omitempty"`
}

// WorkSpec is one rendered member object and how to treat it.
type WorkSpec struct {
	// ClusterName is the member this Work is for; it cannot change.
	ClusterName string `json:"clusterName"`
	// Source is the federated object the Work was rendered from.
	Source WorkSource `json:"source"`
	// Resource is the member resource of the manifest; empty for a helmRelease.
	// +optional
	Resource WorkResource `json:"resource"`
	// Manifest is the rendered member object, template and overrides applied,
	// labelled kubefed.io/managed=true. Exactly one of manifest and
	// helmRelease is set.
	// +optional
	Manifest runtime.RawExtension `json:"manifest,omitempty"`
	// HelmRelease is, instead of a manifest, a Helm release the agent
	// installs in its member: it fetches the chart itself, renders it and
	// refuses any object outside Allowed or the release namespace.
	// Exactly one of manifest and helmRelease is set.
	// +optional
	HelmRelease *WorkHelmRelease `json:"helmRelease,omitempty"`
	// RetainReplicas keeps the member's spec.replicas once the object exists.
	// +optional
	RetainReplicas bool `json:"retainReplicas,omitempty"`
	// Adopt says whether an existing member object without the managed label is
	// taken over (KubeFedConfig adoptResources).
	// +optional
	Adopt bool `json:"adopt,omitempty"`
	// Orphan keeps the member object, without its managed label, when the Work
	// is deleted (kubefed.io/orphan on the federated object).
	// +optional
	Orphan bool `json:"orphan,omitempty"`
	// DeleteOptions are used to delete the member object (kubefed.io/deleteoption).
	// +optional
	DeleteOptions *metav1.DeleteOptions `json:"deleteOptions,omitempty"`
	// ReportStatus asks the agent to report the member object's status.
	// +optional
	ReportStatus bool `json:"reportStatus,omitempty"`
}

// WorkHelmRelease is one Helm release of a FederatedHelmRelease for one pull
// member, as fedhub checked it.
type WorkHelmRelease struct {
	// Chart is the chart to install, its version resolved by fedhub.
	Chart WorkChart `json:"chart"`
	// ReleaseName is the Helm release's name in the member.
	ReleaseName string `json:"releaseName"`
	// Namespace is the release's namespace in the member; every namespaced
	// object of the release must be in it.
	Namespace string `json:"namespace"`
	// Values are the release's values for this cluster, a JSON object.
	// +optional
	Values *runtime.RawExtension `json:"values,omitempty"`
	// Allowed are the kinds fedhub checked the release's author may create
	// on the host, with their scope there; the agent refuses a release that
	// renders any other kind, or a kind in another scope, and writes nothing.
	// +optional
	// +listType=atomic
	Allowed []WorkAllowedKind `json:"allowed,omitempty"`
}

// WorkChart names a chart in a repository.
type WorkChart struct {
	// Repository is an http(s):// chart repository or an oci:// base.
	Repository string `json:"repository"`
	// Name is the chart's name in the repository.
	Name string `json:"name"`
	// Version is the exact chart version fedhub resolved and checked.
	Version string `json:"version"`
}

// WorkAllowedKind is a kind a release may create in its member.
type WorkAllowedKind struct {
	// Group of the kind; empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// Kind is the object kind, e.g. ConfigMap.
	Kind string `json:"kind"`
	// Namespaced says the kind lives in namespaces (then only the release's).
	// +optional
	Namespaced bool `json:"namespaced,omitempty"`
}

// WorkHelmReleaseStatus is the agent's report on a Work's Helm release.
type WorkHelmReleaseStatus struct {
	// ObservedGeneration is the Work generation this report is about.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Revision is the member's latest revision of the release.
	// +optional
	Revision int32 `json:"revision,omitempty"`
	// Status is Helm's status of that revision (deployed, failed, ...), or
	// failed when nothing could be applied for this generation.
	// +optional
	Status string `json:"status,omitempty"`
	// ChartVersion is the chart version of that revision.
	// +optional
	ChartVersion string `json:"chartVersion,omitempty"`
	// AppVersion is the chart's appVersion of that revision.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`
	// Message says what failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// WorkSource names a federated object.
type WorkSource struct {
	// APIVersion of the federated kind, e.g. types.kubefed.io/v1beta1.
	APIVersion string `json:"apiVersion"`
	// Kind of the federated object, e.g. FederatedDeployment.
	Kind string `json:"kind"`
	// Resource is the federated kind's plural, e.g. federateddeployments.
	Resource string `json:"resource"`
	// Namespace of the federated object; empty for cluster-scoped kinds.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the federated object.
	Name string `json:"name"`
	// UID of the federated object.
	// +optional
	UID types.UID `json:"uid,omitempty"`
}

// WorkResource is a member API resource.
type WorkResource struct {
	// Group of the resource; empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// Version of the resource.
	Version string `json:"version"`
	// Resource is the plural name.
	Resource string `json:"resource"`
	// Namespaced says whether the resource lives in namespaces.
	// +optional
	Namespaced bool `json:"namespaced,omitempty"`
}

// WaitingForAgent is what a Work reports, and its cluster's entry in the
// federated object's status, until the agent has reported on the Work's
// current generation.
const WaitingForAgent = "WaitingForAgent"

// WorkStatus is the agent's report on one Work.
type WorkStatus struct {
	// ObservedGeneration is the Work generation this report is about.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Result is KubeFed's per-cluster propagation status: empty when the member
	// object matches the manifest, else CreationFailed, UpdateFailed,
	// AlreadyExists, ManagedLabelFalse, WaitingForRemoval, DeletionFailed, ...
	// +optional
	Result string `json:"result,omitempty"`
	// Message explains a failed result.
	// +optional
	Message string `json:"message,omitempty"`
	// Member is an excerpt of the member object: metadata.generation and
	// metadata.resourceVersion, and with spec.reportStatus its spec.replicas,
	// spec.completions and status.
	// +optional
	Member *runtime.RawExtension `json:"member,omitempty"`
	// DriftCorrections counts the times the agent restored the member object
	// after something else changed it.
	// +optional
	DriftCorrections int64 `json:"driftCorrections,omitempty"`
	// LastDriftCorrection says when and what the agent last restored.
	// +optional
	LastDriftCorrection *DriftCorrection `json:"lastDriftCorrection,omitempty"`
	// Unschedulable is, for a Deployment or ReplicaSet Work with reportStatus
	// whose member object is short of ready replicas, what its pods say about
	// the member's room; fedhub estimates the cluster's capacity from it
	// (docs/scheduling.md). Absent otherwise.
	// +optional
	Unschedulable *UnschedulablePods `json:"unschedulable,omitempty"`
	// HelmRelease is the agent's report on a Work's Helm release.
	// +optional
	HelmRelease *WorkHelmReleaseStatus `json:"helmRelease,omitempty"`
}

// UnschedulablePods is what the agent reports of the pods of a member
// workload that is short of ready replicas.
type UnschedulablePods struct {
	// Pods counts the workload's pods that exist and have not finished.
	Pods int64 `json:"pods"`
	// Replicas counts those of them that the member's scheduler cannot place
	// (condition PodScheduled False, reason Unschedulable).
	Replicas int64 `json:"replicas"`
	// Since is the time since which every one of them has been unschedulable:
	// the latest of their transitions to Unschedulable, or, when later, the
	// last time the member's nodes gained room (the scheduler tries them
	// again then). Zero when Replicas is zero.
	// +optional
	Since metav1.Time `json:"since,omitempty"`
	// Message is the member scheduler's message on one of them.
	// +optional
	Message string `json:"message,omitempty"`
}

// DriftCorrection is one restoration of a member object.
type DriftCorrection struct {
	// Time of the correction.
	Time metav1.Time `json:"time"`
	// Message says what was restored.
	Message string `json:"message"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkList is a list of Works.
type WorkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Work `json:"items"`
}
