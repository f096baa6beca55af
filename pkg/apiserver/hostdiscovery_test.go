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

package apiserver

import (
	"context"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	discoveryaggregated "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func discoveryResource(name string, verbs ...string) apidiscoveryv2.APIResourceDiscovery {
	return apidiscoveryv2.APIResourceDiscovery{Resource: name, Scope: apidiscoveryv2.ScopeNamespace, Verbs: verbs,
		ResponseKind: &metav1.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: name}}
}

func TestServedKindsHash(t *testing.T) {
	a, b := discoveryResource("federatedconfigmaps", "get", "list"), discoveryResource("federatedsecrets", "get", "list")
	base := servedKindsHash([]apidiscoveryv2.APIResourceDiscovery{a, b})
	tests := []struct {
		name      string
		resources []apidiscoveryv2.APIResourceDiscovery
		same      bool
	}{
		{"same kinds in another order", []apidiscoveryv2.APIResourceDiscovery{b, a}, true},
		{"a kind fewer", []apidiscoveryv2.APIResourceDiscovery{a}, false},
		{"a kind more", []apidiscoveryv2.APIResourceDiscovery{a, b, discoveryResource("federatedlimitranges", "get", "list")}, false},
		{"a kind's verbs changed", []apidiscoveryv2.APIResourceDiscovery{a, discoveryResource("federatedsecrets", "get")}, false},
		{"no kinds", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := servedKindsHash(tt.resources); (got == base) != tt.same {
				t.Errorf("hash %s, base %s: same=%v, want %v", got, base, got == base, tt.same)
			}
		})
	}
}

func TestNotifyingDiscoveryTellsOnlyFederatedTypes(t *testing.T) {
	publisher := newServedKindsPublisher(nil, "replica-a")
	discovery := notifyingDiscovery{ResourceManager: discoveryaggregated.NewResourceManager("apis"), publisher: publisher}
	latest := func() string {
		publisher.mu.Lock()
		defer publisher.mu.Unlock()
		return publisher.latest
	}
	version := apidiscoveryv2.APIVersionDiscovery{Version: "v1beta1", Resources: []apidiscoveryv2.APIResourceDiscovery{discoveryResource("federatedsecrets", "get")}}

	discovery.AddGroupVersion("core.kubefed.io", version)
	if got := latest(); got != "" {
		t.Fatalf("another group changed the hash to %q", got)
	}
	discovery.AddGroupVersion("types.kubefed.io", version)
	if got, want := latest(), servedKindsHash(version.Resources); got != want {
		t.Fatalf("hash %q after the federated kinds changed, want %q", got, want)
	}
	discovery.RemoveGroupVersion(metav1.GroupVersion{Group: "types.kubefed.io", Version: "v1beta1"})
	if got, want := latest(), servedKindsHash(nil); got != want {
		t.Fatalf("hash %q after the last kind went, want %q", got, want)
	}
}

func TestServedKindsPublisherAnnotatesTheAPIService(t *testing.T) {
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": TypesAPIServiceName, "annotations": map[string]any{"kept": "yes"}},
	}}
	other := apiService.DeepCopy()
	other.SetName("v1beta1.core.kubefed.io")
	other.SetAnnotations(nil)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{apiServicesResource: "APIServiceList"}, apiService, other)
	publisher := newServedKindsPublisher(client, "replica-a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go publisher.run(ctx)

	annotations := func() map[string]string {
		stored, err := client.Resource(apiServicesResource).Get(ctx, TypesAPIServiceName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return stored.GetAnnotations()
	}
	for _, hash := range []string{"first", "second"} {
		publisher.set(hash)
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
			return annotations()[ServedKindsAnnotation] == hash, nil
		})
		if err != nil {
			t.Fatalf("the APIService was not annotated with %q: %v", hash, annotations())
		}
	}
	if got := annotations(); got[ServedKindsByAnnotation] != "replica-a" || got["kept"] != "yes" {
		t.Errorf("annotations %v, want the writer named and other annotations kept", got)
	}
	stored, err := client.Resource(apiServicesResource).Get(ctx, other.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.GetAnnotations()) != 0 {
		t.Errorf("another APIService was annotated: %v", stored.GetAnnotations())
	}
}

func TestServedKindsPublisherWithoutAPIService(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{apiServicesResource: "APIServiceList"})
	// No APIService yet: the aggregator reads discovery when it is created,
	// so there is nothing to retry.
	if err := newServedKindsPublisher(client, "replica-a").publish(context.Background(), "first"); err != nil {
		t.Fatalf("publishing without an APIService: %v", err)
	}
}
