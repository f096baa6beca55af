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

package dependencies

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name        string
		group, kind string
		object      string
		want        []Ref
	}{
		{name: "a Deployment's volumes, env, envFrom, pull secrets and service account", group: "apps", kind: "Deployment", object: `
spec:
  template:
    spec:
      serviceAccountName: runner
      imagePullSecrets: [{name: registry}]
      volumes:
      - {name: a, configMap: {name: settings}}
      - {name: b, secret: {secretName: tls}}
      - {name: c, persistentVolumeClaim: {claimName: data}}
      - name: d
        projected:
          sources:
          - configMap: {name: extra}
          - secret: {name: token, optional: true}
          - serviceAccountToken: {path: token}
      containers:
      - name: app
        env:
        - {name: A, valueFrom: {configMapKeyRef: {name: env-config, key: a}}}
        - {name: B, valueFrom: {secretKeyRef: {name: db, key: password}}}
        - {name: C, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: D, value: plain}
        envFrom:
        - configMapRef: {name: bulk}
        - secretRef: {name: bulk-secret}
`, want: []Ref{{ConfigMap, "bulk", false}, {ConfigMap, "env-config", false}, {ConfigMap, "extra", false}, {ConfigMap, "settings", false},
			{Secret, "bulk-secret", false}, {Secret, "db", false}, {Secret, "registry", false}, {Secret, "tls", false}, {Secret, "token", true},
			{ServiceAccount, "runner", false}, {PersistentVolumeClaim, "data", false}}},
		{name: "init and ephemeral containers count", group: "apps", kind: "StatefulSet", object: `
spec:
  template:
    spec:
      initContainers: [{name: i, envFrom: [{configMapRef: {name: init-config}}]}]
      ephemeralContainers: [{name: e, env: [{name: X, valueFrom: {secretKeyRef: {name: debug}}}]}]
      containers: [{name: app}]
`, want: []Ref{{ConfigMap, "init-config", false}, {Secret, "debug", false}}},
		{name: "a CronJob's pod template is in its job template", group: "batch", kind: "CronJob", object: `
spec:
  jobTemplate:
    spec:
      template:
        spec:
          volumes: [{name: a, configMap: {name: schedule}}]
`, want: []Ref{{ConfigMap, "schedule", false}}},
		{name: "a Pod's spec is the pod spec", kind: "Pod", object: `
spec:
  serviceAccount: legacy
  volumes: [{name: a, csi: {driver: x, nodePublishSecretRef: {name: csi-login}}}, {name: b, cephfs: {secretRef: {name: ceph}}}]
`, want: []Ref{{Secret, "ceph", false}, {Secret, "csi-login", false}, {ServiceAccount, "legacy", false}}},
		{name: "the default service account is every cluster's own", group: "apps", kind: "DaemonSet", object: `
spec: {template: {spec: {serviceAccountName: default}}}
`, want: []Ref{}},
		{name: "optional only when every mention is", group: "batch", kind: "Job", object: `
spec:
  template:
    spec:
      volumes: [{name: a, configMap: {name: both, optional: true}}, {name: b, configMap: {name: maybe, optional: true}}]
      containers: [{name: app, envFrom: [{configMapRef: {name: both}}]}]
`, want: []Ref{{ConfigMap, "both", false}, {ConfigMap, "maybe", true}}},
		{name: "fields of the wrong shape name nothing", group: "apps", kind: "Deployment", object: `
spec:
  template:
    spec:
      serviceAccountName: 7
      imagePullSecrets: registry
      volumes: [3, {name: a, configMap: [x]}, {name: b, secret: {secretName: {not: a string}}}, {name: c, projected: {sources: {}}}]
      containers: [{name: app, env: [{name: A, valueFrom: "x"}], envFrom: [{configMapRef: 5}]}, "broken"]
`, want: []Ref{}},
		{name: "a pod spec that is not an object", group: "apps", kind: "Deployment", object: `spec: {template: {spec: [1, 2]}}`, want: nil},
		{name: "a kind without pods", kind: "ConfigMap", object: `data: {a: b}`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tt.object), &obj); err != nil {
				t.Fatal(err)
			}
			got := Extract(obj, tt.group, tt.kind)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Extract = %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	tests := []struct {
		group, kind         string
		workload, dependent bool
	}{
		{"apps", "Deployment", true, false},
		{"batch", "CronJob", true, false},
		{"", "Pod", true, false},
		{"", "ConfigMap", false, true},
		{"", "PersistentVolumeClaim", false, true},
		{"example.com", "ConfigMap", false, false},
		{"", "Service", false, false},
	}
	for _, tt := range tests {
		if got := IsWorkloadKind(tt.group, tt.kind); got != tt.workload {
			t.Errorf("IsWorkloadKind(%q, %q) = %v", tt.group, tt.kind, got)
		}
		if got := IsDependencyKind(tt.group, tt.kind); got != tt.dependent {
			t.Errorf("IsDependencyKind(%q, %q) = %v", tt.group, tt.kind, got)
		}
	}
	for kind, want := range map[string]bool{"FederatedDeployment": true, "FederatedCronJob": true, "FederatedSecret": true,
		"FederatedServiceAccount": true, "FederatedService": false, "Deployment": false, "FederatedWidget": false} {
		if got := RecordsAuthorGrant(kind); got != want {
			t.Errorf("RecordsAuthorGrant(%q) = %v, want %v", kind, got, want)
		}
	}
}

// FuzzExtract: no stored object, whatever its shape, makes Extract panic.
func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"spec":{"template":{"spec":{"volumes":[{"configMap":{"name":"a"}}],"containers":[{"envFrom":[{"secretRef":{"name":"b"}}]}]}}}}`))
	f.Add([]byte(`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"serviceAccountName":"x"}}}}}}`))
	f.Add([]byte(`{"spec":{"template":{"spec":{"volumes":[null,1,{"projected":{"sources":[{"secret":7}]}}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil {
			return
		}
		for target := range podSpecPaths {
			group, kind, _ := strings.Cut(target, "/")
			for _, ref := range Extract(obj, group, kind) {
				if ref.Name == "" || !slices.Contains(Kinds, ref.Kind) {
					t.Errorf("Extract named %+v", ref)
				}
			}
		}
	})
}
