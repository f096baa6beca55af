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
	"bytes"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestFederatedNamespace(t *testing.T) {
	tests := []struct {
		name       string
		typeConfig *corev1beta1.FederatedTypeConfig
		want       string
	}{
		{"namespaced", testTypeConfig("apps", "v1", "Deployment", "deployments", corev1beta1.NamespaceScoped), "shop"},
		{"cluster-scoped", testTypeConfig("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", corev1beta1.ClusterScoped), ""},
		{"namespace", testTypeConfig("", "v1", "Namespace", "namespaces", corev1beta1.ClusterScoped), "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := federatedNamespace(tt.typeConfig, "shop", "web"); got != tt.want {
				t.Errorf("federatedNamespace = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDescribeObjects(t *testing.T) {
	object := func(namespace, name string, finalizers ...string) unstructured.Unstructured {
		obj := unstructured.Unstructured{Object: map[string]any{}}
		obj.SetNamespace(namespace)
		obj.SetName(name)
		obj.SetFinalizers(finalizers)
		return obj
	}
	many := make([]unstructured.Unstructured, 12)
	for i := range many {
		many[i] = object("ns", fmt.Sprintf("o%d", i))
	}
	tests := []struct {
		name    string
		objects []unstructured.Unstructured
		want    string
	}{
		{"namespaced and cluster-scoped", []unstructured.Unstructured{object("default", "web"), object("", "reader")}, "default/web, reader"},
		{"held by a finalizer", []unstructured.Unstructured{object("default", "web", "kubefed.io/sync-controller")}, "default/web (finalizers: kubefed.io/sync-controller)"},
		{"more than the limit", many, "ns/o0, ns/o1, ns/o2, ns/o3, ns/o4, ns/o5, ns/o6, ns/o7, ns/o8, ns/o9, and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeObjects(tt.objects); got != tt.want {
				t.Errorf("describeObjects = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrintObjects(t *testing.T) {
	typeConfig := testTypeConfig("", "v1", "ConfigMap", "configmaps", corev1beta1.NamespaceScoped)
	pair := func(name string) federatedPair {
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedConfigMap"}}
		obj.SetName(name)
		return federatedPair{typeConfig, obj}
	}
	tests := []struct {
		name   string
		format string
		pairs  []federatedPair
		want   string
	}{
		{"yaml documents", "yaml", []federatedPair{pair("a"), pair("b")},
			"apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata:\n  name: a\n---\n" +
				"apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata:\n  name: b\n"},
		{"one json object", "json", []federatedPair{pair("a")},
			"{\n    \"apiVersion\": \"types.kubefed.io/v1beta1\",\n    \"kind\": \"FederatedConfigMap\",\n    \"metadata\": {\n        \"name\": \"a\"\n    }\n}\n"},
		{"a json list", "json", []federatedPair{pair("a"), pair("b")},
			"{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n" +
				"        {\n            \"apiVersion\": \"types.kubefed.io/v1beta1\",\n            \"kind\": \"FederatedConfigMap\",\n            \"metadata\": {\n                \"name\": \"a\"\n            }\n        },\n" +
				"        {\n            \"apiVersion\": \"types.kubefed.io/v1beta1\",\n            \"kind\": \"FederatedConfigMap\",\n            \"metadata\": {\n                \"name\": \"b\"\n            }\n        }\n" +
				"    ],\n    \"kind\": \"List\"\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printObjects(&out, tt.format, tt.pairs); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}
