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

package main

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// targetKind is what the benchmark propagates: the member kind and its
// federated kind, and how an object of a given version looks.
type targetKind struct {
	name          string
	target        schema.GroupVersionResource
	targetKind    string
	federated     schema.GroupVersionResource
	federatedKind string
	// template is the body of version v of an object, without identity.
	template func(v int) map[string]any
}

// versionAnnotation carries an object's version in its metadata, where the
// benchmark's metadata-only watches see it.
const versionAnnotation = "bench/version"

// versionOf reads back which version a member object holds.
func versionOf(obj *metav1.PartialObjectMetadata) string {
	return obj.Annotations[versionAnnotation]
}

// withVersion is a template carrying its version in its metadata.
func withVersion(v int, body map[string]any) map[string]any {
	body["metadata"] = map[string]any{"annotations": map[string]any{versionAnnotation: fmt.Sprint(v)}}
	return body
}

var targetKinds = map[string]targetKind{
	"configmap": {
		name:          "configmap",
		target:        schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		targetKind:    "ConfigMap",
		federated:     schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedconfigmaps"},
		federatedKind: "FederatedConfigMap",
		template: func(v int) map[string]any {
			return withVersion(v, map[string]any{"data": map[string]any{"version": fmt.Sprint(v), "settings": "log-level=info\nreplicas=3\n"}})
		},
	},
	"deployment": {
		name:          "deployment",
		target:        schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		targetKind:    "Deployment",
		federated:     schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"},
		federatedKind: "FederatedDeployment",
		template: func(v int) map[string]any {
			labels := map[string]any{"app": "bench"}
			return withVersion(v, map[string]any{"spec": map[string]any{
				"replicas": int64(1),
				"selector": map[string]any{"matchLabels": labels},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels, "annotations": map[string]any{"bench/version": fmt.Sprint(v)}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx"}}},
				},
			}})
		},
	},
}

// memberObject is version v of the object name, as written directly into a member.
func (k targetKind) memberObject(namespace, name string, v int) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: k.template(v)}
	obj.SetAPIVersion(k.target.GroupVersion().String())
	obj.SetKind(k.targetKind)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}

// federatedObject is version v of the federated object name, placed on every cluster.
func (k targetKind) federatedObject(namespace, name string, v int) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"template":  k.template(v),
		"placement": map[string]any{"clusterSelector": map[string]any{}},
	}}}
	obj.SetAPIVersion(k.federated.GroupVersion().String())
	obj.SetKind(k.federatedKind)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}
