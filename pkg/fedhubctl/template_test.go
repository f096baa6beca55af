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
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

// fromYAML parses a test object; tests write objects as YAML to read like kubectl output.
func fromYAML(t *testing.T, text string) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: obj}
}

func testTypeConfig(group, version, kind, plural string, scope corev1beta1.ResourceScope) *corev1beta1.FederatedTypeConfig {
	return typeconfig.ForTarget("kube-federation-system", corev1beta1.APIResource{
		Group: group, Version: version, Kind: kind, PluralName: plural, Scope: scope,
	})
}

func TestFederatedObject(t *testing.T) {
	services := testTypeConfig("", "v1", "Service", "services", corev1beta1.NamespaceScoped)
	tests := []struct {
		name       string
		typeConfig *corev1beta1.FederatedTypeConfig
		object     string
		want       string
	}{{
		name:       "a NodePort Service loses what each member allocates",
		typeConfig: services,
		object: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  uid: 6b1d3c8e-0000-0000-0000-000000000000
  resourceVersion: "42"
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {app: web}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Service"}'
    team: shop
  managedFields: [{manager: kubectl, operation: Apply}]
spec:
  type: NodePort
  clusterIP: 10.0.0.12
  clusterIPs: [10.0.0.12]
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}
  - {name: https, port: 443, nodePort: 30443, protocol: TCP}
status:
  loadBalancer: {}
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedService
metadata: {name: web, namespace: shop}
spec:
  placement: {clusterSelector: {}}
  template:
    metadata:
      labels: {app: web}
      annotations: {team: shop}
    spec:
      type: NodePort
      selector: {app: web}
      ports:
      - {name: http, port: 80, targetPort: 8080, protocol: TCP}
      - {name: https, port: 443, protocol: TCP}
`,
	}, {
		name:       "a LoadBalancer Service loses its health check node port",
		typeConfig: services,
		object: `
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 31000, ports: [{port: 80, nodePort: 30001}]}
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedService
metadata: {name: lb, namespace: shop}
spec:
  placement: {clusterSelector: {}}
  template:
    spec: {type: LoadBalancer, externalTrafficPolicy: Local, ports: [{port: 80}]}
`,
	}, {
		name:       "a ServiceAccount loses its token Secrets and every owner-set field",
		typeConfig: testTypeConfig("", "v1", "ServiceAccount", "serviceaccounts", corev1beta1.NamespaceScoped),
		object: `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
  namespace: shop
  generateName: rob
  generation: 3
  selfLink: /api/v1/namespaces/shop/serviceaccounts/robot
  finalizers: [example.com/keep]
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: x}]
  deletionTimestamp: "2026-01-01T00:00:00Z"
  deletionGracePeriodSeconds: 30
secrets: [{name: robot-token-abcde}]
imagePullSecrets: [{name: registry}]
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedServiceAccount
metadata: {name: robot, namespace: shop}
spec:
  placement: {clusterSelector: {}}
  template:
    imagePullSecrets: [{name: registry}]
`,
	}, {
		name:       "a FederatedNamespace lives in its namespace and drops the namespace controller's finalizer",
		typeConfig: testTypeConfig("", "v1", "Namespace", "namespaces", corev1beta1.ClusterScoped),
		object: `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {kubernetes.io/metadata.name: shop}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: shop, namespace: shop}
spec:
  placement: {clusterSelector: {}}
  template:
    metadata:
      labels: {kubernetes.io/metadata.name: shop}
`,
	}, {
		name:       "a cluster-scoped type has a cluster-scoped federated object",
		typeConfig: testTypeConfig("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", corev1beta1.ClusterScoped),
		object: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedClusterRole
metadata: {name: reader}
spec:
  placement: {clusterSelector: {}}
  template:
    rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`,
	}, {
		name:       "a CRD object keeps fields that share names with core ones",
		typeConfig: testTypeConfig("example.com", "v1", "Service", "services", corev1beta1.NamespaceScoped),
		object: `
apiVersion: example.com/v1
kind: Service
metadata: {name: mesh, namespace: shop}
spec: {clusterIP: keep-me, ports: [{nodePort: 1}]}
status: {ready: true}
`,
		want: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedService
metadata: {name: mesh, namespace: shop}
spec:
  placement: {clusterSelector: {}}
  template:
    spec: {clusterIP: keep-me, ports: [{nodePort: 1}]}
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			object := fromYAML(t, tt.object)
			before := object.DeepCopy()
			got := federatedObject(tt.typeConfig, object)
			want := fromYAML(t, tt.want)
			if !equality.Semantic.DeepEqual(got.Object, want.Object) {
				gotYAML, _ := yaml.Marshal(got.Object)
				wantYAML, _ := yaml.Marshal(want.Object)
				t.Errorf("got\n%s\nwant\n%s", gotYAML, wantYAML)
			}
			if !equality.Semantic.DeepEqual(object, before) {
				t.Errorf("federatedObject changed its input")
			}
		})
	}
}

func TestContentsSkipReason(t *testing.T) {
	core := func(kind string) corev1beta1.APIResource { return corev1beta1.APIResource{Version: "v1", Kind: kind} }
	tests := []struct {
		name   string
		target corev1beta1.APIResource
		object string
		skip   bool
	}{
		{"the default ServiceAccount", core("ServiceAccount"), `{metadata: {name: default}}`, true},
		{"another ServiceAccount", core("ServiceAccount"), `{metadata: {name: robot}}`, false},
		{"the root CA ConfigMap", core("ConfigMap"), `{metadata: {name: kube-root-ca.crt}}`, true},
		{"a user's ConfigMap", core("ConfigMap"), `{metadata: {name: settings}}`, false},
		{"a service account token", core("Secret"), `{metadata: {name: robot-token}, type: kubernetes.io/service-account-token}`, true},
		{"an opaque Secret", core("Secret"), `{metadata: {name: password}, type: Opaque}`, false},
		{"an owned object", core("ConfigMap"), `{metadata: {name: generated, ownerReferences: [{apiVersion: v1, kind: Pod, name: p, uid: u}]}}`, true},
		{"an object being deleted", core("ConfigMap"), `{metadata: {name: going, deletionTimestamp: "2026-01-01T00:00:00Z"}}`, true},
		{"a CRD kind named like a core one", corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "ServiceAccount"}, `{metadata: {name: default}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := contentsSkipReason(tt.target, fromYAML(t, tt.object))
			if (reason != "") != tt.skip {
				t.Errorf("skip reason %q, want skipped=%v", reason, tt.skip)
			}
		})
	}
}
