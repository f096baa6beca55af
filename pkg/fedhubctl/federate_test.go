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
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestEnabledTypeConfig(t *testing.T) {
	tests := []struct {
		gvk     schema.GroupVersionKind
		want    string
		wantErr string
	}{
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments.apps", ""},
		// The host may prefer another version than the FederatedTypeConfig names; the type is the same.
		{schema.GroupVersionKind{Group: "e2e.fedhub.io", Version: "v2", Kind: "Gadget"}, "gadgets.e2e.fedhub.io", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "services", ""},
		{schema.GroupVersionKind{Group: "serving.example.com", Version: "v1", Kind: "Service"}, "services.serving.example.com", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "", "type po is not enabled for federation; run 'fedhubctl enable po'"},
		{schema.GroupVersionKind{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment"}, "", "fedhub's own API"},
	}
	for _, tt := range tests {
		t.Run(tt.gvk.String(), func(t *testing.T) {
			mapping := &meta.RESTMapping{GroupVersionKind: tt.gvk}
			typeConfig, err := enabledTypeConfig(mapping, testTypeConfigs(), "fedhubctl", "po")
			got := ""
			if typeConfig != nil {
				got = typeConfig.Name
			}
			if got != tt.want || (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("enabledTypeConfig(%v) = %q, %v; want %q, error containing %q", tt.gvk, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
