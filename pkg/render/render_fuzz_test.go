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
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// fuzzRenderTargets are the target kinds FuzzRender renders for, picked by the
// fuzzed target byte: a namespaced workload, kinds Render treats specially
// (Secret folds stringData, Namespace gets no namespace), a cluster-scoped
// kind and a custom resource.
var fuzzRenderTargets = []struct {
	gvk        schema.GroupVersionKind
	namespaced bool
}{
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, false},
	{schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "Widget"}, true},
}

// FuzzRender renders a federated object whose spec.overrides and spec.template
// are fuzzed JSON (an empty input leaves the field out) for a fuzzed cluster.
// Render must never panic, must leave the federated object alone and must be
// deterministic; an error must say something (and an *OverrideError name the
// cluster); a rendered object must carry the identity the federated object and
// the target dictate and the managed label, be plain JSON, and show the last
// override of the cluster at its path. (FuzzValidateFederatedSpec checks that
// what admission accepts renders.)
func FuzzRender(f *testing.F) {
	deployment := `{"metadata":{"labels":{"app":"web"},"annotations":{"note":"kept"}},"spec":{"replicas":3,` +
		`"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
		`"spec":{"containers":[{"name":"app","image":"nginx:1"}]}}}}`
	for _, seed := range []struct {
		overrides, template, cluster string
		target                       uint8
	}{
		{`[{"clusterName":"member-1","clusterOverrides":[{"path":"/spec/replicas","value":2}]}]`, deployment, "member-1", 0},
		{`[{"clusterName":"member-1","clusterOverrides":[{"op":"add","path":"/metadata/labels/tier","value":"gold"},` +
			`{"op":"remove","path":"/metadata/annotations/note"},{"op":"replace","path":"/spec/replicas","value":5}]}]`, deployment, "member-1", 0},
		{`[{"clusterName":"member-1","clusterOverrides":[{"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"sidecar","image":"busybox"}},` +
			`{"path":"/spec/template/spec/containers/0/image","value":"nginx:2"}]}]`, deployment, "member-1", 0},
		{`[{"clusterName":"member-1","clusterOverrides":[{"op":"add","path":"/metadata/labels/kubefed.io~1managed","value":"false"}]}]`, deployment, "member-1", 0},
		{`[{"clusterName":"member-1","clusterOverrides":[{"path":"","value":{}}]}]`, deployment, "member-1", 0},
		{`[{"clusterName":"member-2","clusterOverrides":[{"path":"/data/a","value":"b"}]}]`, `{"data":{"a":"x"}}`, "member-1", 1},
		{`[{"clusterName":"member-1","clusterOverrides":[{"path":"/stringData/k","value":"v"}]}]`, `{"stringData":{"k":"s"},"data":{"x":"eA=="}}`, "member-1", 2},
		{``, ``, "demo", 3},
		{`{"clusterName":"member-1"}`, `[1,2]`, "member-1", 4},
		{`[{"clusterName":"member-1","clusterOverrides":[{"op":"move","path":"/spec/size","value":1.7976931348623157e308}]}]`, `{"spec":{"size":9223372036854775808}}`, "member-1", 5},
	} {
		f.Add([]byte(seed.overrides), []byte(seed.template), seed.cluster, seed.target)
	}
	f.Fuzz(func(t *testing.T, overridesJSON, templateJSON []byte, cluster string, targetIndex uint8) {
		target := fuzzRenderTargets[int(targetIndex)%len(fuzzRenderTargets)]
		spec := map[string]any{"placement": map[string]any{"clusters": []any{map[string]any{"name": "member-1"}}}}
		for name, input := range map[string][]byte{"overrides": overridesJSON, "template": templateJSON} {
			if len(input) == 0 {
				continue
			}
			value := fuzzJSONValue(input)
			spec[name] = value
		}
		metadata := map[string]any{"name": "web"}
		if target.namespaced {
			metadata["namespace"] = "demo"
		}
		federated := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "types.kubefed.io/v1beta1", "kind": "Federated" + target.gvk.Kind, "metadata": metadata, "spec": spec,
		}}
		before := federated.DeepCopy()

		rendered, err := Render(federated, target.gvk, target.namespaced, cluster)
		if !reflect.DeepEqual(before.Object, federated.Object) {
			t.Fatalf("Render changed the federated object:\nbefore %v\nafter  %v", before.Object, federated.Object)
		}
		again, errAgain := Render(federated, target.gvk, target.namespaced, cluster)
		if (err == nil) != (errAgain == nil) || (err != nil && err.Error() != errAgain.Error()) ||
			(err == nil && !reflect.DeepEqual(rendered.Object, again.Object)) {
			t.Fatalf("Render is not deterministic: %v, %v", err, errAgain)
		}
		if err != nil {
			if rendered != nil {
				t.Errorf("Render returned an object with error %v", err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("Render failed with an empty message: %#v", err)
			}
			var overrideErr *OverrideError
			if errors.As(err, &overrideErr) && overrideErr.Cluster != cluster {
				t.Errorf("override error %q names cluster %q, not %q", err, overrideErr.Cluster, cluster)
			}
			return
		}
		fuzzCheckIdentity(t, rendered, target.gvk, target.namespaced)
		if _, err := json.Marshal(rendered.Object); err != nil {
			t.Fatalf("the rendered object is not JSON: %v", err)
		}
		_ = runtime.DeepCopyJSON(rendered.Object) // panics on anything but JSON types, as a member client's copy would
		if target.gvk.Group == "" && target.gvk.Kind == "Secret" {
			if _, ok := rendered.Object["stringData"]; ok {
				t.Errorf("a rendered Secret kept stringData: %v", rendered.Object)
			}
		}
		fuzzCheckLastOverride(t, federated, rendered, cluster, target.gvk)
	})
}

// fuzzJSONValue decodes data as objects arrive from an API server (integers
// as int64, other numbers as float64); bytes that are not JSON become a
// string, a value of the wrong type that Render must refuse without panicking.
func fuzzJSONValue(data []byte) any {
	var value any
	if err := utiljson.Unmarshal(data, &value); err != nil {
		return string(data)
	}
	return value
}

// fuzzCheckIdentity checks what Render promises whatever the template and overrides say.
func fuzzCheckIdentity(t *testing.T, rendered *unstructured.Unstructured, target schema.GroupVersionKind, namespaced bool) {
	t.Helper()
	if rendered == nil {
		t.Fatal("Render returned neither an object nor an error")
	}
	want := map[string]any{"apiVersion": target.GroupVersion().String(), "kind": target.Kind}
	for key, value := range want {
		if rendered.Object[key] != value {
			t.Errorf("rendered %s is %#v, want %#v", key, rendered.Object[key], value)
		}
	}
	if name, _, _ := unstructured.NestedFieldNoCopy(rendered.Object, "metadata", "name"); name != "web" {
		t.Errorf("rendered metadata.name is %#v, want web", name)
	}
	namespace, found, _ := unstructured.NestedFieldNoCopy(rendered.Object, "metadata", "namespace")
	switch {
	case namespaced && !isNamespace(target) && namespace != "demo":
		t.Errorf("rendered metadata.namespace is %#v, want demo", namespace)
	case (!namespaced || isNamespace(target)) && found:
		t.Errorf("rendered %s has metadata.namespace %#v, want none", target.Kind, namespace)
	}
	if label, _, _ := unstructured.NestedFieldNoCopy(rendered.Object, "metadata", "labels", ManagedLabel); label != "true" {
		t.Errorf("rendered label %s is %#v, want \"true\"", ManagedLabel, label)
	}
}

// fuzzCheckLastOverride checks that the last override listed for cluster,
// when it adds or replaces, left its value at its path. Earlier overrides may
// be undone by later ones, so only the last one is checked.
func fuzzCheckLastOverride(t *testing.T, federated, rendered *unstructured.Unstructured, cluster string, target schema.GroupVersionKind) {
	t.Helper()
	entries, _, _ := unstructured.NestedSlice(federated.Object, "spec", "overrides")
	var last map[string]any
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if entry["clusterName"] != cluster {
			continue
		}
		list, _ := entry["clusterOverrides"].([]any)
		if len(list) > 0 {
			last, _ = list[len(list)-1].(map[string]any)
		}
	}
	if last == nil {
		return
	}
	op, _ := last["op"].(string)
	path, _ := last["path"].(string)
	if op == "remove" || !strings.HasPrefix(path, "/") {
		return
	}
	if target.Group == "" && target.Kind == "Secret" && (strings.HasPrefix(path, "/stringData") || strings.HasPrefix(path, "/data")) {
		return // folding stringData into data moves what the override wrote
	}
	want, err := fuzzNormalize(last["value"])
	if err != nil {
		t.Fatalf("override value %#v does not round-trip through JSON: %v", last["value"], err)
	}
	var got any = rendered.Object
	for _, raw := range strings.Split(path[1:], "/") {
		token := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		switch node := got.(type) {
		case map[string]any:
			got = node[token]
		case []any:
			if token == "-" { // appended
				got = node[len(node)-1]
				continue
			}
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(node) {
				t.Fatalf("override %s=%v was applied, but %q is no index of %v", path, want, token, node)
			}
			got = node[i]
		default:
			t.Fatalf("override %s=%v was applied, but the rendered object has %#v on the way", path, want, node)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("override %s %s: rendered value is %#v, want %#v", op, path, got, want)
	}
}

// fuzzNormalize returns value as it reads after a trip through JSON.
func fuzzNormalize(value any) (any, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	var out any
	err = utiljson.Unmarshal(data, &out)
	return out, err
}
