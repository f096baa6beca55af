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

package work

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fedhub/fedhub/apis/agent"
)

func TestSpecEqualComparesJSONValues(t *testing.T) {
	raw := func(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }
	release := func(values string) agent.WorkSpec {
		spec := agent.WorkSpec{ClusterName: "member-2", HelmRelease: &agent.WorkHelmRelease{
			Chart:       agent.WorkChart{Repository: "https://charts.example.com", Name: "web", Version: "1.0.0"},
			ReleaseName: "web", Namespace: "apps",
			Allowed: []agent.WorkAllowedKind{{Kind: "ConfigMap", Namespaced: true}},
		}}
		if values != "" {
			v := raw(values)
			spec.HelmRelease.Values = &v
		}
		return spec
	}
	manifest := func(m string) agent.WorkSpec { return agent.WorkSpec{ClusterName: "member-2", Manifest: raw(m)} }
	tests := []struct {
		name  string
		a, b  agent.WorkSpec
		equal bool
	}{
		{"manifest re-encoded", manifest(`{"kind":"ConfigMap","data":{"a":"b"}}`), manifest(`{"data": {"a": "b"}, "kind": "ConfigMap"}`), true},
		{"manifest changed", manifest(`{"kind":"ConfigMap","data":{"a":"b"}}`), manifest(`{"kind":"ConfigMap","data":{"a":"c"}}`), false},
		{"values re-encoded", release(`{"replicas":2,"image":{"tag":"1.2"}}`), release(`{"image": {"tag": "1.2"}, "replicas": 2}`), true},
		{"values changed", release(`{"replicas":2}`), release(`{"replicas":3}`), false},
		{"values added", release(""), release(`{"replicas":3}`), false},
		{"no values either side", release(""), release(""), true},
		{"allowed kinds changed", release(`{}`), func() agent.WorkSpec {
			s := release(`{}`)
			s.HelmRelease.Allowed = append(s.HelmRelease.Allowed, agent.WorkAllowedKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"})
			return s
		}(), false},
		{"release instead of manifest", release(`{}`), manifest(`{}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hadValues := tt.a.HelmRelease != nil && tt.a.HelmRelease.Values != nil
			if got := specEqual(tt.a, tt.b); got != tt.equal {
				t.Errorf("specEqual = %v, want %v", got, tt.equal)
			}
			if got := specEqual(tt.b, tt.a); got != tt.equal {
				t.Errorf("specEqual the other way round = %v, want %v", got, tt.equal)
			}
			if hadValues && tt.a.HelmRelease.Values == nil {
				t.Error("specEqual cleared the caller's values")
			}
		})
	}
}
