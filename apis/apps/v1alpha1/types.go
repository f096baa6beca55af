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

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedHelmRelease installs one Helm chart, as one Helm release, in each
// member cluster its placement selects, with per-cluster values.
type FederatedHelmRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which chart to install, with which values, where.
	Spec FederatedHelmReleaseSpec `json:"spec,omitempty"`
	// Status reports the release in each cluster.
	// +optional
	Status FederatedHelmReleaseStatus `json:"status,omitempty"`
}

// FederatedHelmReleaseSpec says which chart to install, with which values, where.
type FederatedHelmReleaseSpec struct {
	// Chart is where the chart comes from.
	Chart HelmChartSource `json:"chart"`
	// ReleaseName is the Helm release's name in every member cluster, a
	// DNS-1123 label of at most 53 characters. Defaults to metadata.name;
	// it cannot change once set.
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// Values are the chart's values, a JSON object, as given to
	// "helm install -f".
	// +optional
	Values *typesv1beta1.JSON `json:"values,omitempty"`
	// Placement selects the member clusters, as a federated object's does:
	// clusters by name, or a clusterSelector.
	// +optional
	Placement typesv1beta1.Placement `json:"placement,omitempty"`
	// Overrides change the values for single clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	Overrides []HelmValuesOverride `json:"overrides,omitempty"`
}

// HelmChartSource names a chart in a chart repository or an OCI registry.
type HelmChartSource struct {
	// Repository is an HTTP(S) chart repository's URL (serving index.yaml),
	// or an OCI reference base such as oci://registry.example.com/charts.
	Repository string `json:"repository"`
	// Name is the chart's name in the repository; for OCI it is appended to
	// the reference base.
	Name string `json:"name"`
	// Version is an exact chart version or a semantic version constraint
	// such as "~1.2.0"; empty means the latest version.
	// +optional
	Version string `json:"version,omitempty"`
}

// HelmValuesOverride changes the values for one cluster.
type HelmValuesOverride struct {
	// ClusterName is the KubeFedCluster the values apply to.
	ClusterName string `json:"clusterName"`
	// Values, a JSON object, are merged over spec.values for that cluster as
	// Helm merges several -f files: objects merge key by key, other values
	// replace, null removes a key.
	// +optional
	Values *typesv1beta1.JSON `json:"values,omitempty"`
}

// FederatedHelmReleaseStatus reports the release in each cluster.
type FederatedHelmReleaseStatus struct {
	// ObservedGeneration is the generation of the spec the status was made for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions sum up the release across its clusters.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Clusters is the release in each cluster it is placed on, by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []HelmReleaseClusterStatus `json:"clusters,omitempty"`
}

// HelmReleaseClusterStatus is the release in one member cluster.
type HelmReleaseClusterStatus struct {
	// Name is the KubeFedCluster's name.
	Name string `json:"name"`
	// Revision is the release's revision in the cluster, as "helm history" counts.
	// +optional
	Revision int32 `json:"revision,omitempty"`
	// Status is Helm's status of the release: deployed, failed,
	// pending-install, pending-upgrade, uninstalling, …
	// +optional
	Status string `json:"status,omitempty"`
	// ChartVersion is the chart version installed, as resolved from spec.chart.version.
	// +optional
	ChartVersion string `json:"chartVersion,omitempty"`
	// AppVersion is the installed chart's appVersion.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`
	// ObservedGeneration is the generation of the spec the cluster's release reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Message says what went wrong when the release failed: the chart could
	// not be fetched or rendered, or it renders an object its author may not write.
	// +optional
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// FederatedHelmReleaseList is a list of FederatedHelmReleases.
type FederatedHelmReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []FederatedHelmRelease `json:"items"`
}
