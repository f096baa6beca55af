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

package integration

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// TestProtobufPreferringClientsGetJSON: the typed kinds have no protobuf
// encoding, so a client that prefers protobuf and accepts JSON gets JSON (the
// host's namespace and garbage collector controllers list them this way),
// one that accepts only protobuf gets 406, and the metadata client works.
func TestProtobufPreferringClientsGetJSON(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	client, err := rest.HTTPClientFor(server.config)
	if err != nil {
		t.Fatal(err)
	}
	resources := []schema.GroupVersionResource{
		{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedclusters"},
		{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedconfigs"},
		{Group: "core.kubefed.io", Version: "v1beta1", Resource: "federatedtypeconfigs"},
		{Group: "scheduling.kubefed.io", Version: "v1alpha1", Resource: "replicaschedulingpreferences"},
	}
	tests := []struct {
		accept          string
		wantCode        int
		wantContentType string
	}{
		{accept: "application/vnd.kubernetes.protobuf, application/json", wantCode: http.StatusOK, wantContentType: "application/json"},
		{accept: "application/vnd.kubernetes.protobuf", wantCode: http.StatusNotAcceptable},
	}
	for _, resource := range resources {
		path := "/apis/" + resource.Group + "/" + resource.Version + "/" + resource.Resource
		for _, tt := range tests {
			request, err := http.NewRequest(http.MethodGet, server.config.Host+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			request.Header.Set("Accept", tt.accept)
			response, err := client.Do(request)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(response.Body)
			_ = response.Body.Close()
			if response.StatusCode != tt.wantCode {
				t.Errorf("GET %s accepting %q: %d, want %d: %s", path, tt.accept, response.StatusCode, tt.wantCode, body)
				continue
			}
			if got := response.Header.Get("Content-Type"); tt.wantContentType != "" && !strings.HasPrefix(got, tt.wantContentType) {
				t.Errorf("GET %s accepting %q: Content-Type %q, want %s", path, tt.accept, got, tt.wantContentType)
			}
		}
		metadataClient, err := metadata.NewForConfig(server.config)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := metadataClient.Resource(resource).List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Errorf("listing %s with the metadata client: %v", resource.Resource, err)
		}
	}
}
