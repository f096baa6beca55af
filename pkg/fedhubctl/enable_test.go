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

import "testing"

func TestSameEndpoint(t *testing.T) {
	tests := []struct {
		kubeconfig, apiEndpoint string
		same                    bool
	}{
		{"https://127.0.0.1:6443", "https://127.0.0.1:6443", true},
		{"https://127.0.0.1:6443", "127.0.0.1:6443", true}, // a bare host means https, as KubeFed read it
		{"https://member.example.com/", "https://member.example.com", true},
		{"https://127.0.0.1:6443", "https://127.0.0.1:6444", false},
		{"http://127.0.0.1:6443", "127.0.0.1:6443", false},
		{"https://member-1.example.com", "https://member-2.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.kubeconfig+" vs "+tt.apiEndpoint, func(t *testing.T) {
			if got := sameEndpoint(tt.kubeconfig, tt.apiEndpoint); got != tt.same {
				t.Errorf("sameEndpoint(%q, %q) = %v, want %v", tt.kubeconfig, tt.apiEndpoint, got, tt.same)
			}
		})
	}
}
