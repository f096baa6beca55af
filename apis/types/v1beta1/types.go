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
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedClusterRole propagates a ClusterRole to member clusters.
type FederatedClusterRole struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedClusterRoleSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedClusterRoleSpec says what ClusterRole each placed cluster gets.
type FederatedClusterRoleSpec struct {
	// Template is the ClusterRole every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template ClusterRoleTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the ClusterRole of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// ClusterRoleTemplate is the content of a federated ClusterRole.
type ClusterRoleTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Rules of the ClusterRole.
	// +optional
	// +listType=atomic
	Rules []rbacv1.PolicyRule `json:"rules,omitempty"`
	// AggregationRule of the ClusterRole.
	// +optional
	AggregationRule *rbacv1.AggregationRule `json:"aggregationRule,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedClusterRoleList is a list of FederatedClusterRoles.
type FederatedClusterRoleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedClusterRole `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedConfigMap propagates a ConfigMap to member clusters.
type FederatedConfigMap struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedConfigMapSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedConfigMapSpec says what ConfigMap each placed cluster gets.
type FederatedConfigMapSpec struct {
	// Template is the ConfigMap every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template ConfigMapTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the ConfigMap of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// ConfigMapTemplate is the content of a federated ConfigMap.
type ConfigMapTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Immutable of the ConfigMap.
	// +optional
	Immutable *bool `json:"immutable,omitempty"`
	// Data of the ConfigMap.
	// +optional
	Data map[string]string `json:"data,omitempty"`
	// BinaryData of the ConfigMap.
	// +optional
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedConfigMapList is a list of FederatedConfigMaps.
type FederatedConfigMapList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedConfigMap `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedDaemonSet propagates a DaemonSet to member clusters.
type FederatedDaemonSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedDaemonSetSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedDaemonSetSpec says what DaemonSet each placed cluster gets.
type FederatedDaemonSetSpec struct {
	// Template is the DaemonSet every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template DaemonSetTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the DaemonSet of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// DaemonSetTemplate is the content of a federated DaemonSet.
type DaemonSetTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the DaemonSet.
	// +optional
	Spec appsv1.DaemonSetSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedDaemonSetList is a list of FederatedDaemonSets.
type FederatedDaemonSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedDaemonSet `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedDeployment propagates a Deployment to member clusters.
type FederatedDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedDeploymentSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedDeploymentSpec says what Deployment each placed cluster gets.
type FederatedDeploymentSpec struct {
	// Template is the Deployment every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template DeploymentTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Deployment of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// DeploymentTemplate is the content of a federated Deployment.
type DeploymentTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Deployment.
	// +optional
	Spec appsv1.DeploymentSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedDeploymentList is a list of FederatedDeployments.
type FederatedDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedDeployment `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedIngress propagates an Ingress to member clusters.
type FederatedIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedIngressSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedIngressSpec says what Ingress each placed cluster gets.
type FederatedIngressSpec struct {
	// Template is the Ingress every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template IngressTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Ingress of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// IngressTemplate is the content of a federated Ingress.
type IngressTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Ingress.
	// +optional
	Spec networkingv1.IngressSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedIngressList is a list of FederatedIngresss.
type FederatedIngressList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedIngress `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedJob propagates a Job to member clusters.
type FederatedJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedJobSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedJobSpec says what Job each placed cluster gets.
type FederatedJobSpec struct {
	// Template is the Job every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template JobTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Job of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// JobTemplate is the content of a federated Job.
type JobTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Job.
	// +optional
	Spec batchv1.JobSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedJobList is a list of FederatedJobs.
type FederatedJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedJob `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedNamespace propagates a Namespace to member clusters.
// Unlike a Namespace it is namespaced: it lives in the namespace it federates,
// and its placement limits where the namespace's other federated objects go.
type FederatedNamespace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedNamespaceSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedNamespaceSpec says what Namespace each placed cluster gets.
type FederatedNamespaceSpec struct {
	// Template is the Namespace every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template NamespaceTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Namespace of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// NamespaceTemplate is the content of a federated Namespace.
type NamespaceTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Namespace.
	// +optional
	Spec corev1.NamespaceSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedNamespaceList is a list of FederatedNamespaces.
type FederatedNamespaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedNamespace `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedReplicaSet propagates a ReplicaSet to member clusters.
type FederatedReplicaSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedReplicaSetSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedReplicaSetSpec says what ReplicaSet each placed cluster gets.
type FederatedReplicaSetSpec struct {
	// Template is the ReplicaSet every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template ReplicaSetTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the ReplicaSet of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// ReplicaSetTemplate is the content of a federated ReplicaSet.
type ReplicaSetTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the ReplicaSet.
	// +optional
	Spec appsv1.ReplicaSetSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedReplicaSetList is a list of FederatedReplicaSets.
type FederatedReplicaSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedReplicaSet `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedSecret propagates a Secret to member clusters.
type FederatedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedSecretSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedSecretSpec says what Secret each placed cluster gets.
type FederatedSecretSpec struct {
	// Template is the Secret every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template SecretTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Secret of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// SecretTemplate is the content of a federated Secret.
type SecretTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Immutable of the Secret.
	// +optional
	Immutable *bool `json:"immutable,omitempty"`
	// Data of the Secret.
	// +optional
	Data map[string][]byte `json:"data,omitempty"`
	// StringData of the Secret.
	// +optional
	StringData map[string]string `json:"stringData,omitempty"`
	// Type of the Secret.
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedSecretList is a list of FederatedSecrets.
type FederatedSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedSecret `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedService propagates a Service to member clusters.
type FederatedService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedServiceSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedServiceSpec says what Service each placed cluster gets.
type FederatedServiceSpec struct {
	// Template is the Service every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template ServiceTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the Service of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// ServiceTemplate is the content of a federated Service.
type ServiceTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the Service.
	// +optional
	Spec corev1.ServiceSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedServiceList is a list of FederatedServices.
type FederatedServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedService `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedServiceAccount propagates a ServiceAccount to member clusters.
type FederatedServiceAccount struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedServiceAccountSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedServiceAccountSpec says what ServiceAccount each placed cluster gets.
type FederatedServiceAccountSpec struct {
	// Template is the ServiceAccount every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template ServiceAccountTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the ServiceAccount of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// ServiceAccountTemplate is the content of a federated ServiceAccount.
type ServiceAccountTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Secrets of the ServiceAccount; members usually own them.
	// +optional
	// +listType=atomic
	Secrets []corev1.ObjectReference `json:"secrets,omitempty"`
	// ImagePullSecrets of the ServiceAccount.
	// +optional
	// +listType=atomic
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// AutomountServiceAccountToken of the ServiceAccount.
	// +optional
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedServiceAccountList is a list of FederatedServiceAccounts.
type FederatedServiceAccountList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedServiceAccount `json:"items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedStatefulSet propagates a StatefulSet to member clusters.
type FederatedStatefulSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FederatedStatefulSetSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedStatefulSetSpec says what StatefulSet each placed cluster gets.
type FederatedStatefulSetSpec struct {
	// Template is the StatefulSet every placed cluster gets before overrides. Its
	// name and namespace are always those of the federated object.
	Template StatefulSetTemplate `json:"template"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides change the StatefulSet of single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// StatefulSetTemplate is the content of a federated StatefulSet.
type StatefulSetTemplate struct {
	// Metadata of the member objects: labels and annotations are kept.
	// +optional
	ObjectMeta metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec of the StatefulSet.
	// +optional
	Spec appsv1.StatefulSetSpec `json:"spec,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedStatefulSetList is a list of FederatedStatefulSets.
type FederatedStatefulSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedStatefulSet `json:"items"`
}
