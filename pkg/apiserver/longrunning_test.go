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
	"net/http/httptest"
	"testing"

	"k8s.io/apiserver/pkg/endpoints/request"
)

func TestLongRunning(t *testing.T) {
	for _, tc := range []struct {
		verb, resource, subresource string
		want                        bool
	}{
		{"watch", "kubefedclusters", "", true},
		{"get", "kubefedclusters", "proxy", true},
		{"create", "kubefedclusters", "proxy", true},
		{"delete", "kubefedclusters", "proxy", true},
		{"get", "clusterregistrations", "attach", true},
		{"get", "clusterregistrations", "tunnel", true},
		{"get", "kubefedclusters", "", false},
		{"list", "kubefedclusters", "", false},
		{"update", "kubefedclusters", "status", false},
		{"create", "clusterregistrations", "token", false},
	} {
		info := &request.RequestInfo{IsResourceRequest: true, Verb: tc.verb, Resource: tc.resource, Subresource: tc.subresource}
		if got := LongRunning(httptest.NewRequest("GET", "/", nil), info); got != tc.want {
			t.Errorf("%s %s/%s: long-running %v, want %v", tc.verb, tc.resource, tc.subresource, got, tc.want)
		}
	}
}
