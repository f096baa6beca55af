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

// Package typeconfig shapes FederatedTypeConfigs, so that the defaults the
// server creates and those fedhubctl enable creates are named and built alike.
package typeconfig

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// Name is KubeFed's name for the FederatedTypeConfig of a target type:
// <plural>.<group>, or <plural> alone for the core group.
func Name(target corev1beta1.APIResource) string {
	if target.Group == "" {
		return target.PluralName
	}
	return target.PluralName + "." + target.Group
}

// ForTarget returns the FederatedTypeConfig that federates target as
// Federated<Kind> in types.kubefed.io/v1beta1, with propagation enabled.
func ForTarget(namespace string, target corev1beta1.APIResource) *corev1beta1.FederatedTypeConfig {
	return &corev1beta1.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Name: Name(target), Namespace: namespace},
		Spec: corev1beta1.FederatedTypeConfigSpec{
			TargetType:    target,
			FederatedType: federatedType(target),
			Propagation:   corev1beta1.PropagationEnabled,
		},
	}
}

func federatedType(target corev1beta1.APIResource) corev1beta1.APIResource {
	scope := target.Scope
	if IsNamespace(target) {
		// A FederatedNamespace lives in the namespace it federates.
		scope = corev1beta1.NamespaceScoped
	}
	return corev1beta1.APIResource{
		Group:      typesv1beta1.SchemeGroupVersion.Group,
		Version:    typesv1beta1.SchemeGroupVersion.Version,
		Kind:       "Federated" + target.Kind,
		PluralName: "federated" + target.PluralName,
		Scope:      scope,
	}
}

// IsNamespace says whether target is the core Namespace type, whose federated
// objects are namespaced although namespaces are not.
func IsNamespace(target corev1beta1.APIResource) bool {
	return target.Group == "" && target.Kind == "Namespace"
}
