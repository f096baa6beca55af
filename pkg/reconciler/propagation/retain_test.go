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

package propagation

import (
	"reflect"
	"testing"

	"github.com/fedhub/fedhub/test/objects"
)

func TestRetain(t *testing.T) {
	tests := []struct {
		name           string
		desired, live  string
		retainReplicas bool
		want           string
	}{
		{name: "resourceVersion, finalizers, and labels and annotations merged with desired winning", desired: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  labels: {kubefed.io/managed: "true", app: new}
  annotations: {a: desired}
data: {k: v}
`, live: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  uid: live-uid
  resourceVersion: "42"
  finalizers: [example.com/keep]
  labels: {kubefed.io/managed: "true", app: old, added: by-other}
  annotations: {a: live, b: live}
data: {k: old}
`, want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  resourceVersion: "42"
  finalizers: [example.com/keep]
  labels: {kubefed.io/managed: "true", app: new, added: by-other}
  annotations: {a: desired, b: live}
data: {k: v}
`},
		{name: "live without extra metadata leaves desired alone",
			desired: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {kubefed.io/managed: "true"}}}`,
			live:    `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`,
			want:    `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {kubefed.io/managed: "true"}}}`},
		{name: "Service keeps allocated IPs, node ports and health-check node port", desired: `
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports:
  - {name: http, port: 80}
  - {name: https, port: 443, nodePort: 30443}
  - {name: metrics, port: 9090}
`, live: `
apiVersion: v1
kind: Service
metadata: {name: s, resourceVersion: "5"}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.0.0.10
  clusterIPs: [10.0.0.10, fd00::10]
  healthCheckNodePort: 31000
  ports:
  - {name: metrics, port: 9090, protocol: TCP}
  - {name: http, port: 80, protocol: TCP, nodePort: 30080}
  - {name: https, port: 443, protocol: TCP, nodePort: 31443}
`, want: `
apiVersion: v1
kind: Service
metadata: {name: s, resourceVersion: "5"}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.0.0.10
  clusterIPs: [10.0.0.10, fd00::10]
  healthCheckNodePort: 31000
  ports:
  - {name: http, port: 80, nodePort: 30080}
  - {name: https, port: 443, nodePort: 30443}
  - {name: metrics, port: 9090}
`},
		{name: "Service unnamed port matched by port and defaulted protocol",
			desired: `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, ports: [{port: 80}]}}`,
			live:    `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, clusterIP: 10.0.0.1, ports: [{port: 80, protocol: TCP, nodePort: 30080}]}}`,
			want:    `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, clusterIP: 10.0.0.1, ports: [{port: 80, nodePort: 30080}]}}`},
		{name: "Service unnamed port with another protocol or port is not matched",
			desired: `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, ports: [{port: 53, protocol: UDP}, {port: 81}]}}`,
			live:    `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, ports: [{port: 53, protocol: TCP, nodePort: 30053}, {port: 80, protocol: TCP, nodePort: 30080}]}}`,
			want:    `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {type: NodePort, ports: [{port: 53, protocol: UDP}, {port: 81}]}}`},
		{name: "Service fields of other kinds are not retained",
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {ports: [{port: 80}]}}`,
			live:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {clusterIP: 10.0.0.1, ports: [{port: 80, nodePort: 30080}]}}`,
			want:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {ports: [{port: 80}]}}`},
		{name: "ServiceAccount keeps live secrets when desired has none, not imagePullSecrets",
			desired: `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}}`,
			live:    `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: sa-token}], imagePullSecrets: [{name: pull}]}`,
			want:    `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: sa-token}]}`},
		{name: "ServiceAccount secrets desired sets win",
			desired: `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: mine}]}`,
			live:    `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: sa-token}]}`,
			want:    `{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: mine}]}`},
		{name: "replicas retained when asked", retainReplicas: true,
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}`,
			live:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 7}}`,
			want:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 7}}`},
		{name: "replicas scaled to zero retained when asked", retainReplicas: true,
			desired: `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {replicas: 3}}`,
			live:    `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {replicas: 0}}`,
			want:    `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {replicas: 0}}`},
		{name: "replicas not retained by default",
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}`,
			live:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 7}}`,
			want:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}`},
		{name: "replicas kept when live has none", retainReplicas: true,
			desired: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}`,
			live:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {}}`,
			want:    `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 3}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired, live := objects.FromYAML(t, tt.desired), objects.FromYAML(t, tt.live)
			before := live.DeepCopy()
			Retain(desired, live, tt.retainReplicas)
			if want := objects.FromYAML(t, tt.want); !reflect.DeepEqual(desired.Object, want.Object) {
				t.Errorf("got  %v\nwant %v", desired.Object, want.Object)
			}
			if !reflect.DeepEqual(live.Object, before.Object) {
				t.Errorf("Retain modified live")
			}
			// What was copied must not be shared with live.
			scrambleLeaves(desired.Object)
			if !reflect.DeepEqual(live.Object, before.Object) {
				t.Errorf("desired shares state with live")
			}
		})
	}
}

// scrambleLeaves overwrites every leaf and empties every list reachable from v.
func scrambleLeaves(v interface{}) {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			switch e.(type) {
			case map[string]interface{}, []interface{}:
				scrambleLeaves(e)
			default:
				t[k] = "scrambled"
			}
		}
	case []interface{}:
		for i, e := range t {
			scrambleLeaves(e)
			t[i] = "scrambled"
		}
	}
}
