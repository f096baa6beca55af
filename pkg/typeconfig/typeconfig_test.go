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

package typeconfig

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestForTarget(t *testing.T) {
	tests := []struct {
		name          string
		target        corev1beta1.APIResource
		wantName      string
		wantFederated corev1beta1.APIResource
	}{{
		name:     "namespaced type of a named group",
		target:   corev1beta1.APIResource{Group: "apps", Version: "v1", Kind: "Deployment", PluralName: "deployments", Scope: corev1beta1.NamespaceScoped},
		wantName: "deployments.apps",
		wantFederated: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment",
			PluralName: "federateddeployments", Scope: corev1beta1.NamespaceScoped},
	}, {
		name:     "core group type is named by its plural alone",
		target:   corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped},
		wantName: "configmaps",
		wantFederated: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedConfigMap",
			PluralName: "federatedconfigmaps", Scope: corev1beta1.NamespaceScoped},
	}, {
		name:     "cluster-scoped type stays cluster-scoped",
		target:   corev1beta1.APIResource{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", PluralName: "clusterroles", Scope: corev1beta1.ClusterScoped},
		wantName: "clusterroles.rbac.authorization.k8s.io",
		wantFederated: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedClusterRole",
			PluralName: "federatedclusterroles", Scope: corev1beta1.ClusterScoped},
	}, {
		name:     "a FederatedNamespace lives in its namespace",
		target:   corev1beta1.APIResource{Version: "v1", Kind: "Namespace", PluralName: "namespaces", Scope: corev1beta1.ClusterScoped},
		wantName: "namespaces",
		wantFederated: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedNamespace",
			PluralName: "federatednamespaces", Scope: corev1beta1.NamespaceScoped},
	}, {
		name:     "a CRD kind called Namespace is not a namespace",
		target:   corev1beta1.APIResource{Group: "example.com", Version: "v1alpha1", Kind: "Namespace", PluralName: "namespaces", Scope: corev1beta1.ClusterScoped},
		wantName: "namespaces.example.com",
		wantFederated: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedNamespace",
			PluralName: "federatednamespaces", Scope: corev1beta1.ClusterScoped},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForTarget("kube-federation-system", tt.target)
			want := &corev1beta1.FederatedTypeConfig{}
			want.Name, want.Namespace = tt.wantName, "kube-federation-system"
			want.Spec = corev1beta1.FederatedTypeConfigSpec{
				TargetType: tt.target, FederatedType: tt.wantFederated, Propagation: corev1beta1.PropagationEnabled,
			}
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("ForTarget(%+v) =\n%+v\nwant\n%+v", tt.target, got, want)
			}
		})
	}
}
