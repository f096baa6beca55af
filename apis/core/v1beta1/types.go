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

// ResourceScope says whether a resource lives in a namespace or in the whole cluster.
type ResourceScope string

const (
	// ClusterScoped resources have no namespace.
	ClusterScoped ResourceScope = "Cluster"
	// NamespaceScoped resources live in a namespace.
	NamespaceScoped ResourceScope = "Namespaced"
)

// TLSValidation names a check of a member's serving certificate that may be turned off.
type TLSValidation string

const (
	// TLSAll turns off every certificate check; it must be the only entry.
	TLSAll TLSValidation = "*"
	// TLSSubjectName skips matching the certificate's subject against the endpoint host.
	TLSSubjectName TLSValidation = "SubjectName"
	// TLSValidityPeriod skips checking the certificate's notBefore and notAfter.
	TLSValidityPeriod TLSValidation = "ValidityPeriod"
)

// ClusterMode says how fedhub reaches a member cluster.
type ClusterMode string

const (
	// ClusterModePush: fedhub dials the member with the credentials in secretRef (KubeFed's only mode).
	ClusterModePush ClusterMode = "Push"
	// ClusterModePull: the member's fedhub-agent connects out to fedhub and applies
	// the Works published for it; fedhub holds no credential for the member.
	ClusterModePull ClusterMode = "Pull"
)

// ClusterConditionType is the kind of a member cluster condition.
type ClusterConditionType string

const (
	// ClusterReady is True when the member answers its health check.
	ClusterReady ClusterConditionType = "Ready"
	// ClusterOffline is True when the member cannot be reached at all.
	ClusterOffline ClusterConditionType = "Offline"
	// ClusterConfigMalformed is True when the federation cannot even build a
	// client for the member: its Secret or its spec is unusable.
	ClusterConfigMalformed ClusterConditionType = "ConfigMalformed"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// KubeFedCluster registers a member cluster with the federation and holds how to reach it.
type KubeFedCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says where the member's API server is and which credentials reach it.
	Spec KubeFedClusterSpec `json:"spec"`
	// Status is the federation's latest view of the member's health.
	// +optional
	Status KubeFedClusterStatus `json:"status,omitempty"`
}

// KubeFedClusterSpec says how the federation connects to a member cluster.
type KubeFedClusterSpec struct {
	// Mode is Push (the default, KubeFed's behaviour) or Pull. A Pull cluster
	// is created by fedhub when its agent's ClusterRegistration is approved; it
	// has no secretRef, and its apiEndpoint is informational.
	// +optional
	Mode ClusterMode `json:"mode,omitempty"`
	// APIEndpoint is the member's API server: an http or https URL, or a bare
	// host, host:port, IP or IP:port, which means https.
	APIEndpoint string `json:"apiEndpoint"`
	// CABundle is the PEM bundle of certificate authorities that sign the member's serving certificate.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// SecretRef names the Secret, in the federation namespace, whose "token" key
	// (and optional "ca.crt" key) authenticates the federation to the member.
	SecretRef LocalSecretReference `json:"secretRef"`
	// DisabledTLSValidations lists certificate checks to skip when talking to the
	// member: "SubjectName", "ValidityPeriod", or "*" alone for all of them.
	// +optional
	// +listType=atomic
	DisabledTLSValidations []TLSValidation `json:"disabledTLSValidations,omitempty"`
	// ProxyURL is an http, https or socks5 proxy through which the member is reached.
	// +optional
	ProxyURL string `json:"proxyURL,omitempty"`
}

// LocalSecretReference names a Secret in the same namespace as the referring object.
type LocalSecretReference struct {
	// Name of the Secret.
	Name string `json:"name"`
}

// KubeFedClusterStatus is what the federation last observed about a member cluster.
type KubeFedClusterStatus struct {
	// Conditions are the member's current Ready and Offline conditions.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []ClusterCondition `json:"conditions,omitempty"`
	// KubernetesVersion is the gitVersion the member's API server reports.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Zones are the availability zones of the member's nodes, e.g. "us-east1-a".
	// +optional
	// +listType=atomic
	Zones []string `json:"zones,omitempty"`
	// Region is the region all of the member's nodes are in, e.g. "us-east1".
	// +optional
	Region *string `json:"region,omitempty"`
}

// ClusterCondition is one observed condition of a member cluster.
type ClusterCondition struct {
	// Type is Ready or Offline.
	Type ClusterConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastProbeTime is when the condition was last checked.
	LastProbeTime metav1.Time `json:"lastProbeTime"`
	// LastTransitionTime is when the status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason is a one-word CamelCase reason for the last transition.
	// +optional
	Reason *string `json:"reason,omitempty"`
	// Message explains the last transition to a person.
	// +optional
	Message *string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// KubeFedClusterList is a list of KubeFedClusters.
type KubeFedClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []KubeFedCluster `json:"items"`
}

// +genclient
// +genclient:noStatus
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// KubeFedConfig tunes the federation control plane: timings, health checks and controller behaviour.
type KubeFedConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the settings; unset fields take KubeFed's defaults.
	Spec KubeFedConfigSpec `json:"spec"`
}

// KubeFedConfigSpec holds the control-plane settings.
type KubeFedConfigSpec struct {
	// Scope is Cluster (federate every namespace) or Namespaced (only the
	// federation namespace). It cannot change once set.
	Scope ResourceScope `json:"scope"`
	// +optional
	ControllerDuration *DurationConfig `json:"controllerDuration,omitempty"`
	// +optional
	LeaderElect *LeaderElectConfig `json:"leaderElect,omitempty"`
	// FeatureGates turns named control-plane features on or off.
	// +optional
	// +listType=atomic
	FeatureGates []FeatureGatesConfig `json:"featureGates,omitempty"`
	// +optional
	ClusterHealthCheck *ClusterHealthCheckConfig `json:"clusterHealthCheck,omitempty"`
	// +optional
	SyncController *SyncControllerConfig `json:"syncController,omitempty"`
	// +optional
	StatusController *StatusControllerConfig `json:"statusController,omitempty"`
}

// DurationConfig holds delays the controllers wait for around cluster health changes.
type DurationConfig struct {
	// AvailableDelay is how long to wait before reconciling a cluster that became healthy.
	// +optional
	AvailableDelay *metav1.Duration `json:"availableDelay,omitempty"`
	// UnavailableDelay is how long to wait before giving up on a cluster that became unhealthy.
	// +optional
	UnavailableDelay *metav1.Duration `json:"unavailableDelay,omitempty"`
}

// LeaderElectConfig holds leader-election timings for the reconciler.
type LeaderElectConfig struct {
	// LeaseDuration is how long a leadership lasts without renewal.
	// +optional
	LeaseDuration *metav1.Duration `json:"leaseDuration,omitempty"`
	// RenewDeadline is how long the leader keeps trying to renew before it steps down.
	// +optional
	RenewDeadline *metav1.Duration `json:"renewDeadline,omitempty"`
	// RetryPeriod is the wait between attempts to take or renew leadership.
	// +optional
	RetryPeriod *metav1.Duration `json:"retryPeriod,omitempty"`
	// ResourceLock is the lock kind KubeFed used: configmaps or endpoints. fedhub
	// accepts it for compatibility and elects through its own etcd.
	// +optional
	ResourceLock *ResourceLockType `json:"resourceLock,omitempty"`
}

// ResourceLockType is a KubeFed leader-election lock kind.
type ResourceLockType string

const (
	// ConfigMapsResourceLock locks through a ConfigMap.
	ConfigMapsResourceLock ResourceLockType = "configmaps"
	// EndpointsResourceLock locks through an Endpoints object.
	EndpointsResourceLock ResourceLockType = "endpoints"
)

// FeatureGatesConfig turns one named feature on or off.
type FeatureGatesConfig struct {
	// Name is PushReconciler, SchedulerPreferences or RawResourceStatusCollection.
	Name string `json:"name"`
	// Configuration is Enabled or Disabled.
	Configuration ConfigurationMode `json:"configuration"`
}

// ConfigurationMode is Enabled or Disabled.
type ConfigurationMode string

const (
	// ConfigurationEnabled turns the feature on.
	ConfigurationEnabled ConfigurationMode = "Enabled"
	// ConfigurationDisabled turns the feature off.
	ConfigurationDisabled ConfigurationMode = "Disabled"
)

// ClusterHealthCheckConfig says how member health is probed.
type ClusterHealthCheckConfig struct {
	// Period is the time between two probes of a member.
	// +optional
	Period *metav1.Duration `json:"period,omitempty"`
	// FailureThreshold is how many failed probes in a row make a healthy member unready.
	// +optional
	FailureThreshold *int64 `json:"failureThreshold,omitempty"`
	// SuccessThreshold is how many good probes in a row make an unready member ready.
	// +optional
	SuccessThreshold *int64 `json:"successThreshold,omitempty"`
	// Timeout is how long one probe may take.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// SyncControllerConfig tunes propagation.
type SyncControllerConfig struct {
	// MaxConcurrentReconciles is the number of federated objects reconciled at once per type.
	// +optional
	MaxConcurrentReconciles *int64 `json:"maxConcurrentReconciles,omitempty"`
	// AdoptResources says whether objects that already exist in a member are taken over (Enabled)
	// or reported as a conflict (Disabled).
	// +optional
	AdoptResources *ResourceAdoption `json:"adoptResources,omitempty"`
}

// ResourceAdoption is Enabled or Disabled.
type ResourceAdoption string

const (
	// AdoptResourcesEnabled takes over pre-existing member objects.
	AdoptResourcesEnabled ResourceAdoption = "Enabled"
	// AdoptResourcesDisabled leaves pre-existing member objects alone and reports them.
	AdoptResourcesDisabled ResourceAdoption = "Disabled"
)

// StatusControllerConfig tunes status collection.
type StatusControllerConfig struct {
	// MaxConcurrentReconciles is the number of federated objects whose status is collected at once.
	// +optional
	MaxConcurrentReconciles *int64 `json:"maxConcurrentReconciles,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// KubeFedConfigList is a list of KubeFedConfigs.
type KubeFedConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []KubeFedConfig `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedTypeConfig makes one Kubernetes type federated: it names the target type
// and the Federated<Kind> type whose template, placement and overrides say how
// objects of the target type appear in member clusters. Its name is
// <target plural>.<target group>, or the plural alone for the core group.
type FederatedTypeConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the target and federated types and switches propagation.
	Spec FederatedTypeConfigSpec `json:"spec"`
	// Status reports whether the controllers for this type are running.
	// +optional
	Status FederatedTypeConfigStatus `json:"status,omitempty"`
}

// FederatedTypeConfigSpec names the target and federated types.
type FederatedTypeConfigSpec struct {
	// TargetType is the type created in member clusters. Its pluralName and group
	// default from this object's name; its kind is required.
	TargetType APIResource `json:"targetType"`
	// Propagation is Enabled or Disabled. Disabled keeps the federated type
	// served but stops writing to members.
	Propagation PropagationMode `json:"propagation"`
	// FederatedType is the Federated<Kind> type that holds template, placement and overrides.
	FederatedType APIResource `json:"federatedType"`
	// StatusType is the type that holds collected member status; its group and
	// version default to the federated type's.
	// +optional
	StatusType *APIResource `json:"statusType,omitempty"`
	// StatusCollection is Enabled or Disabled.
	// +optional
	StatusCollection *StatusCollectionMode `json:"statusCollection,omitempty"`
}

// APIResource identifies an API type.
type APIResource struct {
	// Group is the API group; empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// Version is the API version, e.g. v1.
	Version string `json:"version"`
	// Kind is the CamelCase singular kind, e.g. ConfigMap.
	Kind string `json:"kind"`
	// PluralName is the lower-case plural resource name, e.g. configmaps.
	PluralName string `json:"pluralName"`
	// Scope is Namespaced or Cluster.
	Scope ResourceScope `json:"scope"`
}

// PropagationMode switches propagation to member clusters.
type PropagationMode string

const (
	// PropagationEnabled writes federated objects to members.
	PropagationEnabled PropagationMode = "Enabled"
	// PropagationDisabled keeps the type served but writes nothing to members.
	PropagationDisabled PropagationMode = "Disabled"
)

// StatusCollectionMode switches status collection.
type StatusCollectionMode string

const (
	// StatusCollectionEnabled collects member status.
	StatusCollectionEnabled StatusCollectionMode = "Enabled"
	// StatusCollectionDisabled collects no member status.
	StatusCollectionDisabled StatusCollectionMode = "Disabled"
)

// ControllerStatus is Running or NotRunning.
type ControllerStatus string

const (
	// ControllerStatusRunning means the controller is running.
	ControllerStatusRunning ControllerStatus = "Running"
	// ControllerStatusNotRunning means the controller is stopped.
	ControllerStatusNotRunning ControllerStatus = "NotRunning"
)

// FederatedTypeConfigStatus reports the controllers serving a federated type.
type FederatedTypeConfigStatus struct {
	// ObservedGeneration is the generation the controllers last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// PropagationController is the state of the sync controller for this type.
	// +optional
	PropagationController ControllerStatus `json:"propagationController,omitempty"`
	// StatusController is the state of the status controller for this type.
	// +optional
	StatusController *ControllerStatus `json:"statusController,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedTypeConfigList is a list of FederatedTypeConfigs.
type FederatedTypeConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedTypeConfig `json:"items"`
}
