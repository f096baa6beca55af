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
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func testTypeConfigs() []corev1beta1.FederatedTypeConfig {
	var typeConfigs []corev1beta1.FederatedTypeConfig
	for _, typeConfig := range []*corev1beta1.FederatedTypeConfig{
		testTypeConfig("apps", "v1", "Deployment", "deployments", corev1beta1.NamespaceScoped),
		testTypeConfig("", "v1", "Service", "services", corev1beta1.NamespaceScoped),
		testTypeConfig("serving.example.com", "v1", "Service", "services", corev1beta1.NamespaceScoped),
		testTypeConfig("", "v1", "ConfigMap", "configmaps", corev1beta1.NamespaceScoped),
		testTypeConfig("e2e.fedhub.io", "v1", "Gadget", "gadgets", corev1beta1.NamespaceScoped),
		testTypeConfig("one.example.com", "v1", "Widget", "widgets", corev1beta1.NamespaceScoped),
		testTypeConfig("two.example.com", "v1", "Widget", "widgets", corev1beta1.NamespaceScoped),
	} {
		typeConfigs = append(typeConfigs, *typeConfig)
	}
	return typeConfigs
}

func TestMatchTypeConfigs(t *testing.T) {
	tests := []struct {
		arg  string
		want []string
	}{
		{"deployments.apps", []string{"deployments.apps"}},
		{"deployments", []string{"deployments.apps"}},
		{"deployment", []string{"deployments.apps"}},
		{"Deployment", []string{"deployments.apps"}},
		{"Deployment.apps", []string{"deployments.apps"}},
		{"deployments.v1.apps", []string{"deployments.apps"}},
		{"FederatedDeployment", []string{"deployments.apps"}},
		{"federateddeployments", []string{"deployments.apps"}},
		{"federateddeployment", []string{"deployments.apps"}},
		{"federateddeployments.types.kubefed.io", []string{"deployments.apps"}},
		{"federateddeployments.v1beta1.types.kubefed.io", []string{"deployments.apps"}},
		{"configmaps", []string{"configmaps"}},
		{"gadgets.e2e.fedhub.io", []string{"gadgets.e2e.fedhub.io"}},
		{"Gadget", []string{"gadgets.e2e.fedhub.io"}},
		// An unqualified name prefers the core group, as kubectl does.
		{"services", []string{"services"}},
		{"services.serving.example.com", []string{"services.serving.example.com"}},
		{"widgets", []string{"widgets.one.example.com", "widgets.two.example.com"}},
		{"deployments.extensions", nil},
		{"deploy", nil}, // a short name needs discovery
		{"pods", nil},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var got []string
			for _, typeConfig := range matchTypeConfigs(tt.arg, testTypeConfigs()) {
				got = append(got, typeConfig.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matchTypeConfigs(%q) = %v, want %v", tt.arg, got, tt.want)
			}
		})
	}
}

func TestTypeConfigForKind(t *testing.T) {
	tests := []struct {
		gk   schema.GroupKind
		want string
	}{
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, "deployments.apps"},
		{schema.GroupKind{Group: "types.kubefed.io", Kind: "FederatedDeployment"}, "deployments.apps"},
		{schema.GroupKind{Group: "serving.example.com", Kind: "Service"}, "services.serving.example.com"},
		{schema.GroupKind{Group: "extensions", Kind: "Deployment"}, ""},
		{schema.GroupKind{Kind: "Pod"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.gk.String(), func(t *testing.T) {
			got := ""
			if typeConfig := typeConfigForKind(tt.gk, testTypeConfigs()); typeConfig != nil {
				got = typeConfig.Name
			}
			if got != tt.want {
				t.Errorf("typeConfigForKind(%v) = %q, want %q", tt.gk, got, tt.want)
			}
		})
	}
}

func TestCheckFederable(t *testing.T) {
	all := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	tests := []struct {
		name    string
		gvr     schema.GroupVersionResource
		verbs   []string
		wantErr string
	}{
		{"a built-in type", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, all, ""},
		{"fedhub's clusters", schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedclusters"}, all, "fedhub's own API"},
		{"a federated type", schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}, all, "fedhub's own API"},
		{"scheduling preferences", schema.GroupVersionResource{Group: "scheduling.kubefed.io", Version: "v1alpha1", Resource: "replicaschedulingpreferences"}, all, "fedhub's own API"},
		{"a create-only review", schema.GroupVersionResource{Group: "authentication.k8s.io", Version: "v1", Resource: "tokenreviews"}, []string{"create"}, "does not support get, list, update, delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFederable(tt.gvr, tt.verbs)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkFederable(%v) = %v, want an error containing %q", tt.gvr, err, tt.wantErr)
			}
		})
	}
}

func TestTargetResource(t *testing.T) {
	tests := []struct {
		name    string
		mapping *meta.RESTMapping
		want    corev1beta1.APIResource
	}{{
		name: "namespaced",
		mapping: &meta.RESTMapping{
			Resource:         schema.GroupVersionResource{Group: "e2e.fedhub.io", Version: "v1", Resource: "gadgets"},
			GroupVersionKind: schema.GroupVersionKind{Group: "e2e.fedhub.io", Version: "v1", Kind: "Gadget"},
			Scope:            meta.RESTScopeNamespace,
		},
		want: corev1beta1.APIResource{Group: "e2e.fedhub.io", Version: "v1", Kind: "Gadget", PluralName: "gadgets", Scope: corev1beta1.NamespaceScoped},
	}, {
		name: "cluster-scoped",
		mapping: &meta.RESTMapping{
			Resource:         schema.GroupVersionResource{Version: "v1", Resource: "namespaces"},
			GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"},
			Scope:            meta.RESTScopeRoot,
		},
		want: corev1beta1.APIResource{Version: "v1", Kind: "Namespace", PluralName: "namespaces", Scope: corev1beta1.ClusterScoped},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := targetResource(tt.mapping); got != tt.want {
				t.Errorf("targetResource = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestClusterTypesMapping(t *testing.T) {
	fake := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{{
		GroupVersion: "v1",
		APIResources: []metav1.APIResource{
			{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap", ShortNames: []string{"cm"}},
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}},
		},
	}, {
		GroupVersion: "apps/v1",
		APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment", ShortNames: []string{"deploy"}},
			{Name: "deployments/scale", Namespaced: true, Kind: "Scale", Group: "autoscaling", Version: "v1"},
		},
	}}}}
	o := &GlobalOptions{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	tests := []struct {
		arg  string
		want string // resource.version.group and scope, or "no match"
	}{
		{"deployments", "deployments.v1.apps namespace"},
		{"deployment", "deployments.v1.apps namespace"},
		{"deploy", "deployments.v1.apps namespace"},
		{"Deployment", "deployments.v1.apps namespace"},
		{"deployments.apps", "deployments.v1.apps namespace"},
		{"deployments.v1.apps", "deployments.v1.apps namespace"},
		{"Deployment.apps", "deployments.v1.apps namespace"},
		{"cm", "configmaps.v1. namespace"},
		{"ns", "namespaces.v1. root"},
		{"gadgets", "no match"},
		{"deployments.extensions", "no match"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			mapping, err := o.newClusterTypes("the host", fake).mapping(context.Background(), tt.arg)
			got := "no match"
			if err == nil {
				got = fmt.Sprintf("%s.%s.%s %s", mapping.Resource.Resource, mapping.Resource.Version, mapping.Resource.Group, mapping.Scope.Name())
			} else if !meta.IsNoMatchError(err) {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("mapping(%q) = %s, want %s", tt.arg, got, tt.want)
			}
		})
	}
}
