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

package fedhubctl

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// lastAppliedAnnotation is kubectl apply's record of the host object; in a
// template it would describe the federated object's history, not the member's.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// federatedObject returns the Federated<Kind> that federates obj, a host
// object of typeConfig's target type, to every member cluster.
func federatedObject(typeConfig *corev1beta1.FederatedTypeConfig, obj *unstructured.Unstructured) *unstructured.Unstructured {
	federated := typeConfig.Spec.FederatedType
	result := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"template": templateOf(typeConfig.Spec.TargetType, obj),
			// An empty selector selects every cluster, as kubefedctl federate placed objects.
			"placement": map[string]any{"clusterSelector": map[string]any{}},
		},
	}}
	result.SetAPIVersion(schema.GroupVersion{Group: federated.Group, Version: federated.Version}.String())
	result.SetKind(federated.Kind)
	result.SetName(obj.GetName())
	if namespace := federatedNamespace(typeConfig, obj.GetNamespace(), obj.GetName()); namespace != "" {
		result.SetNamespace(namespace)
	}
	return result
}

// templateOf is obj as a KubeFed template: without apiVersion and kind (the
// member object gets the target type's), status, identity and bookkeeping
// metadata, and the fields each member sets for itself.
func templateOf(target corev1beta1.APIResource, obj *unstructured.Unstructured) map[string]any {
	template := obj.DeepCopy().Object
	delete(template, "apiVersion")
	delete(template, "kind")
	delete(template, "status")
	delete(template, "metadata")
	if metadata := templateMetadata(obj); len(metadata) > 0 {
		template["metadata"] = metadata
	}
	removeMemberOwnedFields(target, template)
	return template
}

// templateMetadata keeps what a user sets on an object besides its name:
// labels and annotations.
func templateMetadata(obj *unstructured.Unstructured) map[string]any {
	metadata := map[string]any{}
	if labels := stringMap(obj.GetLabels(), ""); len(labels) > 0 {
		metadata["labels"] = labels
	}
	if annotations := stringMap(obj.GetAnnotations(), lastAppliedAnnotation); len(annotations) > 0 {
		metadata["annotations"] = annotations
	}
	return metadata
}

// stringMap converts in to the form unstructured objects hold, without skip.
func stringMap(in map[string]string, skip string) map[string]any {
	out := map[string]any{}
	for key, value := range in {
		if key != skip {
			out[key] = value
		}
	}
	return out
}

// removeMemberOwnedFields drops what each member's API server or controllers
// allocate: copied from the host, these would collide in members or be
// refused by them.
func removeMemberOwnedFields(target corev1beta1.APIResource, template map[string]any) {
	if target.Group != "" {
		return
	}
	switch target.Kind {
	case "Service":
		unstructured.RemoveNestedField(template, "spec", "clusterIP")
		unstructured.RemoveNestedField(template, "spec", "clusterIPs")
		unstructured.RemoveNestedField(template, "spec", "healthCheckNodePort")
		removeNodePorts(template)
	case "ServiceAccount":
		// Token Secrets are generated per cluster.
		delete(template, "secrets")
	case "Namespace":
		// The kubernetes finalizer is the namespace controller's.
		unstructured.RemoveNestedField(template, "spec", "finalizers")
		if spec, found, _ := unstructured.NestedMap(template, "spec"); found && len(spec) == 0 {
			delete(template, "spec")
		}
	}
}

func removeNodePorts(template map[string]any) {
	ports, found, err := unstructured.NestedSlice(template, "spec", "ports")
	if !found || err != nil {
		return
	}
	for _, port := range ports {
		if port, ok := port.(map[string]any); ok {
			delete(port, "nodePort")
		}
	}
	_ = unstructured.SetNestedSlice(template, ports, "spec", "ports")
}

// contentsSkipReason says why federate --contents leaves obj, an object of
// target in the federated namespace, out, or "" to federate it. Members make
// their own copies of what Kubernetes creates in every namespace, and an
// owned object follows its owner.
func contentsSkipReason(target corev1beta1.APIResource, obj *unstructured.Unstructured) string {
	switch {
	case len(obj.GetOwnerReferences()) > 0:
		return "it has an owner"
	case obj.GetDeletionTimestamp() != nil:
		return "it is being deleted"
	case target.Group != "":
		return ""
	case target.Kind == "ServiceAccount" && obj.GetName() == "default":
		return "every namespace has its own default ServiceAccount"
	case target.Kind == "ConfigMap" && obj.GetName() == "kube-root-ca.crt":
		return "every cluster publishes its own root CA"
	case target.Kind == "Secret" && isServiceAccountToken(obj):
		return "service account tokens are issued by each cluster"
	}
	return ""
}

func isServiceAccountToken(obj *unstructured.Unstructured) bool {
	secretType, _, _ := unstructured.NestedString(obj.Object, "type")
	return secretType == "kubernetes.io/service-account-token"
}
