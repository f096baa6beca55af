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

package render

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/test/objects"
)

const federatedDeployment = `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata:
  name: web
  namespace: demo
  uid: fed-uid
  resourceVersion: "7"
  labels: {fed: label}
spec:
  placement:
    clusters: [{name: member-1}, {name: member-2}]
  template:
    metadata:
      name: ignored
      namespace: ignored
      generateName: ignored-
      uid: template-uid
      resourceVersion: "3"
      finalizers: [example.com/f]
      ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: owner-uid}]
      managedFields: [{manager: kubectl}]
      creationTimestamp: "2024-01-01T00:00:00Z"
      labels: {app: web}
      annotations: {note: kept}
    spec:
      replicas: 3
      strategy: {type: RollingUpdate}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: app
            image: nginx:1
`

const renderedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web, kubefed.io/managed: "true"}
  annotations: {note: kept}
spec:
  replicas: 3
  strategy: {type: RollingUpdate}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1
`

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

func TestRenderWithoutOverrides(t *testing.T) {
	tests := []struct {
		name       string
		federated  string
		target     schema.GroupVersionKind
		namespaced bool
		want       string
	}{
		{name: "namespaced target gets the federated namespace; only labels and annotations of template metadata kept",
			federated: federatedDeployment, target: deploymentGVK, namespaced: true, want: renderedDeployment},
		{name: "cluster-scoped target has no namespace; managed label forced to true", federated: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedClusterRole
metadata: {name: reader}
spec:
  template:
    metadata: {labels: {kubefed.io/managed: "false", team: a}}
    rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`, target: schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, want: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, labels: {kubefed.io/managed: "true", team: a}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`},
		{name: "Namespace target is named after the federated object and has no namespace even when namespaced", federated: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: demo, namespace: demo}
spec:
  placement: {clusters: [{name: member-1}]}
`, target: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, namespaced: true, want: `
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {kubefed.io/managed: "true"}}
`},
		{name: "a Namespace kind in another group is an ordinary namespaced kind", federated: `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: x, namespace: demo}
spec: {template: {spec: {a: 1}}}
`, target: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Namespace"}, namespaced: true, want: `
apiVersion: example.com/v1
kind: Namespace
metadata: {name: x, namespace: demo, labels: {kubefed.io/managed: "true"}}
spec: {a: 1}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fed := objects.FromYAML(t, tt.federated)
			before := fed.DeepCopy()
			got, err := Render(fed, tt.target, tt.namespaced, "member-1")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if want := objects.FromYAML(t, tt.want); !reflect.DeepEqual(got.Object, want.Object) {
				t.Errorf("got  %v\nwant %v", got.Object, want.Object)
			}
			if !reflect.DeepEqual(fed.Object, before.Object) {
				t.Errorf("Render modified the federated object")
			}
			// The result must not share maps with the federated object.
			got.SetLabels(map[string]string{"changed": "yes"})
			unstructured.RemoveNestedField(got.Object, "spec")
			if !reflect.DeepEqual(fed.Object, before.Object) {
				t.Errorf("rendered object shares state with the federated object")
			}
		})
	}
}

// ov builds one clusterOverrides entry; value noValue leaves value out.
func ov(op, path string, value interface{}) map[string]interface{} {
	o := map[string]interface{}{"path": path}
	if op != "" {
		o["op"] = op
	}
	if value != noValue {
		o["value"] = value
	}
	return o
}

var noValue = &struct{}{}

// forCluster builds one spec.overrides entry.
func forCluster(cluster string, overrides ...map[string]interface{}) interface{} {
	list := make([]interface{}, len(overrides))
	for i, o := range overrides {
		list[i] = o
	}
	return map[string]interface{}{"clusterName": cluster, "clusterOverrides": list}
}

func TestRenderOverrides(t *testing.T) {
	tests := []struct {
		name      string
		overrides interface{} // spec.overrides
		want      map[string]interface{}
		absent    []string
	}{
		{name: "replace is the default op",
			overrides: []interface{}{forCluster("member-1", ov("", "/spec/replicas", int64(1)))},
			want:      map[string]interface{}{"/spec/replicas": int64(1)}},
		{name: "replace creates a missing object key, as KubeFed's json-patch v4 did",
			overrides: []interface{}{forCluster("member-1", ov("", "/spec/paused", true))},
			want:      map[string]interface{}{"/spec/paused": true}},
		{name: "add creates a field and a map key",
			overrides: []interface{}{forCluster("member-1",
				ov("add", "/spec/minReadySeconds", int64(5)),
				ov("add", "/metadata/annotations/extra", "x"))},
			want: map[string]interface{}{"/spec/minReadySeconds": int64(5), "/metadata/annotations/extra": "x", "/metadata/annotations/note": "kept"}},
		{name: "remove",
			overrides: []interface{}{forCluster("member-1", ov("remove", "/metadata/annotations/note", noValue))},
			absent:    []string{"/metadata/annotations/note"}},
		{name: "nested path",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/spec/strategy/type", "Recreate"))},
			want:      map[string]interface{}{"/spec/strategy/type": "Recreate"}},
		{name: "array index path",
			overrides: []interface{}{forCluster("member-1", ov("", "/spec/template/spec/containers/0/image", "nginx:2"))},
			want:      map[string]interface{}{"/spec/template/spec/containers/0/image": "nginx:2", "/spec/template/spec/containers/0/name": "app"}},
		{name: "add appends to a list with -",
			overrides: []interface{}{forCluster("member-1", ov("add", "/spec/template/spec/containers/-",
				map[string]interface{}{"name": "sidecar", "image": "busybox"}))},
			want: map[string]interface{}{"/spec/template/spec/containers/1/name": "sidecar", "/spec/template/spec/containers/0/name": "app"}},
		{name: "labels other than managed may be overridden; the escaped managed key may be set to true",
			overrides: []interface{}{forCluster("member-1",
				ov("", "/metadata/labels/app", "web2"),
				ov("replace", "/metadata/labels/kubefed.io~1managed", "true"))},
			want: map[string]interface{}{"/metadata/labels/app": "web2", "/metadata/labels/kubefed.io~1managed": "true"}},
		{name: "overrides apply in order across entries for the same cluster",
			overrides: []interface{}{
				forCluster("member-1", ov("", "/spec/replicas", int64(1))),
				forCluster("member-1", ov("", "/spec/replicas", int64(2))),
			},
			want: map[string]interface{}{"/spec/replicas": int64(2)}},
		{name: "other clusters' overrides are ignored, even malformed ones",
			overrides: []interface{}{
				forCluster("member-2", ov("", "/spec/replicas", int64(9)), ov("bogus", "nonsense", noValue)),
				map[string]interface{}{"clusterName": "member-3", "clusterOverrides": "not a list"},
			},
			want: map[string]interface{}{"/spec/replicas": int64(3)}},
		{name: "whole metadata may be replaced when identity and managed label survive",
			overrides: []interface{}{forCluster("member-1", ov("", "/metadata", map[string]interface{}{
				"name": "web", "namespace": "demo", "labels": map[string]interface{}{ManagedLabel: "true"}}))},
			want:   map[string]interface{}{"/metadata/name": "web"},
			absent: []string{"/metadata/annotations", "/metadata/labels/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fed := objects.FromYAML(t, federatedDeployment)
			fed.Object["spec"].(map[string]interface{})["overrides"] = tt.overrides
			before := fed.DeepCopy()
			got, err := Render(fed, deploymentGVK, true, "member-1")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			for path, want := range tt.want {
				if v := pointerValue(t, got, path); !reflect.DeepEqual(v, want) {
					t.Errorf("%s = %#v, want %#v", path, v, want)
				}
			}
			for _, path := range tt.absent {
				if v := pointerValue(t, got, path); v != nil {
					t.Errorf("%s = %#v, want absent", path, v)
				}
			}
			if got.GetLabels()[ManagedLabel] != "true" || got.GetName() != "web" || got.GetNamespace() != "demo" || got.GetKind() != "Deployment" {
				t.Errorf("identity or managed label lost: %v", got.Object)
			}
			if !reflect.DeepEqual(fed.Object, before.Object) {
				t.Errorf("Render modified the federated object")
			}
		})
	}
}

func pointerValue(t *testing.T, obj *unstructured.Unstructured, path string) interface{} {
	t.Helper()
	tokens, err := parsePointer(path)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := resolvePointer(obj.Object, tokens)
	return v
}

func TestRenderOverrideErrors(t *testing.T) {
	tests := []struct {
		name       string
		overrides  interface{} // spec.overrides
		wantPath   string
		wantReason string
	}{
		{name: "replace under a missing parent",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/spec/missing/deeper", int64(1)))},
			wantPath:  "/spec/missing/deeper", wantReason: "parent path not found"},
		{name: "remove of a missing key",
			overrides: []interface{}{forCluster("member-1", ov("remove", "/metadata/annotations/absent", noValue))},
			wantPath:  "/metadata/annotations/absent", wantReason: "path not found"},
		{name: "remove past the end of a list",
			overrides: []interface{}{forCluster("member-1", ov("remove", "/spec/template/spec/containers/1", noValue))},
			wantPath:  "/spec/template/spec/containers/1", wantReason: "out of range"},
		{name: "negative list index",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/spec/template/spec/containers/-1/image", "x"))},
			wantPath:  "/spec/template/spec/containers/-1/image", wantReason: "parent path not found"},
		{name: "bad op",
			overrides: []interface{}{forCluster("member-1", ov("move", "/spec/replicas", int64(1)))},
			wantPath:  "/spec/replicas", wantReason: `unsupported op "move"`},
		{name: "add without a value",
			overrides: []interface{}{forCluster("member-1", ov("add", "/spec/paused", noValue))},
			wantPath:  "/spec/paused", wantReason: "needs a value"},
		{name: "replace with a null value",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/spec/replicas", nil))},
			wantPath:  "/spec/replicas", wantReason: "needs a value"},
		{name: "value that is not JSON",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/spec/replicas", math.Inf(1)))},
			wantPath:  "/spec/replicas", wantReason: "unsupported value"},
		{name: "override of metadata.name",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/metadata/name", "other"))},
			wantPath:  "/metadata/name", wantReason: "overrides may not change metadata.name"},
		{name: "override of metadata.namespace",
			overrides: []interface{}{forCluster("member-1", ov("remove", "/metadata/namespace", noValue))},
			wantPath:  "/metadata/namespace", wantReason: "overrides may not change metadata.namespace"},
		{name: "override of kind",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/kind", "StatefulSet"))},
			wantPath:  "/kind", wantReason: "overrides may not change kind"},
		{name: "override of apiVersion",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/apiVersion", "apps/v2"))},
			wantPath:  "/apiVersion", wantReason: "overrides may not change apiVersion"},
		{name: "name changed through /metadata",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/metadata", map[string]interface{}{}))},
			wantPath:  "/metadata", wantReason: "overrides may not change metadata.name"},
		{name: "override of metadata.finalizers",
			overrides: []interface{}{forCluster("member-1", ov("add", "/metadata/finalizers", []interface{}{"example.com/block"}))},
			wantPath:  "/metadata/finalizers", wantReason: "overrides may not change metadata.finalizers"},
		{name: "override inside metadata.ownerReferences",
			overrides: []interface{}{forCluster("member-1", ov("add", "/metadata/ownerReferences/-", map[string]interface{}{"name": "o"}))},
			wantPath:  "/metadata/ownerReferences/-", wantReason: "overrides may not change metadata.ownerReferences"},
		{name: "owner references set through /metadata",
			overrides: []interface{}{forCluster("member-1", ov("add", "/metadata", map[string]interface{}{"name": "web", "namespace": "demo",
				"labels": map[string]interface{}{"kubefed.io/managed": "true"}, "ownerReferences": []interface{}{map[string]interface{}{"name": "o"}}}))},
			wantPath: "/metadata", wantReason: "overrides may not change metadata.ownerReferences"},
		{name: "managed label changed",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/metadata/labels/kubefed.io~1managed", "false"))},
			wantPath:  "/metadata/labels/kubefed.io~1managed", wantReason: "overrides may not change the kubefed.io/managed label"},
		{name: "managed label removed",
			overrides: []interface{}{forCluster("member-1", ov("remove", "/metadata/labels/kubefed.io~1managed", noValue))},
			wantPath:  "/metadata/labels/kubefed.io~1managed", wantReason: "overrides may not change the kubefed.io/managed label"},
		{name: "managed label dropped with all labels",
			overrides: []interface{}{forCluster("member-1", ov("replace", "/metadata/labels", map[string]interface{}{"app": "web"}))},
			wantPath:  "/metadata/labels", wantReason: "overrides may not change the kubefed.io/managed label"},
		{name: "path not a JSON pointer",
			overrides: []interface{}{forCluster("member-1", ov("", "spec.replicas", int64(1)))},
			wantPath:  "spec.replicas", wantReason: "must start with /"},
		{name: "empty path would replace the whole object",
			overrides: []interface{}{forCluster("member-1", ov("", "", map[string]interface{}{}))},
			wantPath:  "", wantReason: "must start with /"},
		{name: "bad escape",
			overrides: []interface{}{forCluster("member-1", ov("", "/metadata/labels/a~2b", "x"))},
			wantPath:  "/metadata/labels/a~2b", wantReason: "invalid ~ escape"},
		{name: "spec.overrides not a list",
			overrides: "member-1", wantReason: "spec.overrides is string, not a list"},
		{name: "entry not an object",
			overrides: []interface{}{"member-1"}, wantReason: "spec.overrides[0] is string, not an object"},
		{name: "entry without clusterName",
			overrides: []interface{}{map[string]interface{}{"clusterOverrides": []interface{}{}}}, wantReason: "clusterName is not a string"},
		{name: "clusterOverrides not a list",
			overrides:  []interface{}{map[string]interface{}{"clusterName": "member-1", "clusterOverrides": "x"}},
			wantReason: "spec.overrides[0].clusterOverrides is string, not a list"},
		{name: "override without path",
			overrides:  []interface{}{forCluster("member-1", map[string]interface{}{"value": int64(1)})},
			wantReason: "spec.overrides[0].clusterOverrides[0].path is missing or not a string"},
		{name: "op not a string",
			overrides: []interface{}{forCluster("member-1", map[string]interface{}{"path": "/spec/replicas", "op": int64(1), "value": int64(1)})},
			wantPath:  "/spec/replicas", wantReason: "op is int64, not a string"},
		{name: "a later override fails after earlier ones applied",
			overrides: []interface{}{forCluster("member-1", ov("", "/spec/replicas", int64(1)), ov("remove", "/spec/nothing", noValue))},
			wantPath:  "/spec/nothing", wantReason: "path not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fed := objects.FromYAML(t, federatedDeployment)
			fed.Object["spec"].(map[string]interface{})["overrides"] = tt.overrides
			before := fed.DeepCopy()
			got, err := Render(fed, deploymentGVK, true, "member-1")
			var oerr *OverrideError
			if !errors.As(err, &oerr) {
				t.Fatalf("got %v, %v; want an *OverrideError", got, err)
			}
			if got != nil {
				t.Errorf("got an object with the error: %v", got.Object)
			}
			if oerr.Cluster != "member-1" || oerr.Path != tt.wantPath || !strings.Contains(oerr.Reason, tt.wantReason) {
				t.Errorf("got %#v; want cluster member-1, path %q, reason containing %q", oerr, tt.wantPath, tt.wantReason)
			}
			if msg := err.Error(); !strings.Contains(msg, "member-1") || !strings.Contains(msg, tt.wantPath) || !strings.Contains(msg, oerr.Reason) {
				t.Errorf("message %q does not name cluster, path and reason", msg)
			}
			if !reflect.DeepEqual(fed.Object, before.Object) {
				t.Errorf("Render modified the federated object")
			}
		})
	}
}

func TestRenderBadTemplate(t *testing.T) {
	for name, tmpl := range map[string]interface{}{
		"template not an object": "x",
		"labels not an object":   map[string]interface{}{"metadata": map[string]interface{}{"labels": "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			fed := objects.FromYAML(t, federatedDeployment)
			fed.Object["spec"].(map[string]interface{})["template"] = tmpl
			if got, err := Render(fed, deploymentGVK, true, "member-1"); err == nil {
				t.Errorf("got %v, want an error", got.Object)
			}
		})
	}
}

func TestRenderFoldsSecretStringData(t *testing.T) {
	federated := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedSecret",
		"metadata": map[string]any{"name": "s", "namespace": "ns"},
		"spec": map[string]any{"template": map[string]any{
			"data":       map[string]any{"kept": "a2VwdA==", "both": "b2xk"},
			"stringData": map[string]any{"password": "s3cret", "both": "new"},
		}},
	}}
	got, err := Render(federated, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, true, "member-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, found := got.Object["stringData"]; found {
		t.Errorf("stringData is still there: %v", got.Object)
	}
	want := map[string]any{"kept": "a2VwdA==", "both": "bmV3", "password": "czNjcmV0"}
	if data := got.Object["data"]; !reflect.DeepEqual(data, want) {
		t.Errorf("data = %v, want %v (stringData wins, as on the API server)", data, want)
	}
}
