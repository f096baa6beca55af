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

// Package render turns a federated object into the object one member cluster
// gets: its template with the target's identity, the managed label and that
// cluster's overrides. The propagation controller writes what it renders, and
// admission renders every cluster's overrides so that one that cannot be
// applied is refused when it is written, not found later in a status.
package render

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// ManagedLabel marks member objects the federation manages.
const ManagedLabel = typesv1beta1.ManagedLabel

// OverrideError says an override could not be applied; its message names the cluster, the path and why.
type OverrideError struct {
	Cluster, Path, Reason string
	// Entry and Override locate the failing override: its indices in
	// spec.overrides and in that entry's clusterOverrides, or -1 when the
	// error is not about one entry or one override.
	Entry, Override int
}

// Error names the cluster and, when the failing override has one, its path.
func (e *OverrideError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("overrides for cluster %q: %s", e.Cluster, e.Reason)
	}
	return fmt.Sprintf("override of %s for cluster %q: %s", e.Path, e.Cluster, e.Reason)
}

// Render returns the object one member cluster gets: a deep copy of spec.template, with apiVersion and
// kind of target, metadata.name = federated object's name, metadata.namespace = federated object's
// namespace when namespaced is true (a Namespace target gets no namespace), the label
// kubefed.io/managed=true (other template labels kept), then the overrides for cluster applied as an
// RFC 6902 JSON patch. Template metadata other than labels and annotations is dropped.
func Render(federated *unstructured.Unstructured, target schema.GroupVersionKind, namespaced bool, cluster string) (*unstructured.Unstructured, error) {
	obj, err := renderBase(federated, target, namespaced)
	if err != nil {
		return nil, err
	}
	overrides, err := overridesFor(federated, cluster)
	if err != nil {
		return nil, err
	}
	for _, o := range overrides {
		if obj.Object, err = applyOverride(obj.Object, o, cluster); err != nil {
			return nil, err
		}
	}
	if target.Group == "" && target.Kind == "Secret" {
		foldStringData(obj)
	}
	return obj, nil
}

// foldStringData moves a Secret's stringData into data, as the member's API
// server does on write: stringData is never stored, so a rendered object that
// kept it would differ from the member's forever.
func foldStringData(secret *unstructured.Unstructured) {
	stringData, ok := secret.Object["stringData"].(map[string]any)
	delete(secret.Object, "stringData")
	if !ok || len(stringData) == 0 {
		return
	}
	data, _ := secret.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for key, value := range stringData {
		if text, isText := value.(string); isText {
			data[key] = base64.StdEncoding.EncodeToString([]byte(text))
		}
	}
	secret.Object["data"] = data
}

// renderBase builds the member object before overrides, so overrides see (and may
// adjust) the same labels and annotations the member will get.
func renderBase(federated *unstructured.Unstructured, target schema.GroupVersionKind, namespaced bool) (*unstructured.Unstructured, error) {
	tmpl, err := templateOf(federated)
	if err != nil {
		return nil, err
	}
	md, err := keptMetadata(tmpl)
	if err != nil {
		return nil, err
	}
	tmpl["metadata"] = md
	obj := &unstructured.Unstructured{Object: tmpl}
	obj.SetAPIVersion(target.GroupVersion().String())
	obj.SetKind(target.Kind)
	obj.SetName(federated.GetName())
	if namespaced && !isNamespace(target) {
		obj.SetNamespace(federated.GetNamespace())
	}
	return obj, nil
}

// isNamespace reports whether target is core Namespace, whose member object is
// named after the federated object and, being cluster-scoped, has no namespace.
func isNamespace(target schema.GroupVersionKind) bool {
	return target.Group == "" && target.Kind == "Namespace"
}

// templateOf returns a deep copy of spec.template; a missing template renders as an
// empty object because FederatedNamespace objects commonly carry none.
func templateOf(federated *unstructured.Unstructured) (map[string]interface{}, error) {
	raw, _, err := unstructured.NestedFieldNoCopy(federated.Object, "spec", "template")
	if err != nil {
		return nil, fmt.Errorf("spec.template: %w", err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	tmpl, ok := raw.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("spec.template is %T, not an object", raw)
	}
	return runtime.DeepCopyJSON(tmpl), nil
}

// keptMetadata keeps only the template's labels and annotations: everything else in
// template metadata is either set by Render or belongs to the member's API server.
func keptMetadata(tmpl map[string]interface{}) (map[string]interface{}, error) {
	old, _ := tmpl["metadata"].(map[string]interface{})
	md := map[string]interface{}{}
	if a, ok := old["annotations"]; ok && a != nil {
		md["annotations"] = a
	}
	labels := map[string]interface{}{}
	if l, ok := old["labels"]; ok && l != nil {
		if labels, ok = l.(map[string]interface{}); !ok {
			return nil, fmt.Errorf("spec.template.metadata.labels is %T, not an object", l)
		}
	}
	labels[ManagedLabel] = "true"
	md["labels"] = labels
	return md, nil
}

// clusterOverride is one entry of a cluster's clusterOverrides.
type clusterOverride struct {
	op, path string
	value    interface{}
	hasValue bool
	// entry and index are where it is listed in spec.overrides, for errors.
	entry, index int
}

// overridesFor collects, in order, the overrides listed for cluster; entries for
// other clusters are skipped without further inspection.
func overridesFor(federated *unstructured.Unstructured, cluster string) ([]clusterOverride, error) {
	raw, _, err := unstructured.NestedFieldNoCopy(federated.Object, "spec", "overrides")
	if err != nil {
		return nil, &OverrideError{Cluster: cluster, Reason: err.Error(), Entry: -1, Override: -1}
	}
	if raw == nil {
		return nil, nil
	}
	entries, ok := raw.([]interface{})
	if !ok {
		return nil, &OverrideError{Cluster: cluster, Reason: fmt.Sprintf("spec.overrides is %T, not a list", raw), Entry: -1, Override: -1}
	}
	var out []clusterOverride
	for i, e := range entries {
		entry, ok := e.(map[string]interface{})
		if !ok {
			return nil, &OverrideError{Cluster: cluster, Reason: fmt.Sprintf("spec.overrides[%d] is %T, not an object", i, e), Entry: i, Override: -1}
		}
		name, ok := entry["clusterName"].(string)
		if !ok {
			return nil, &OverrideError{Cluster: cluster, Reason: fmt.Sprintf("spec.overrides[%d].clusterName is not a string", i), Entry: i, Override: -1}
		}
		if name != cluster {
			continue
		}
		list, err := parseClusterOverrides(entry["clusterOverrides"], fmt.Sprintf("spec.overrides[%d].clusterOverrides", i))
		if err != nil {
			err.Cluster, err.Entry = cluster, i
			return nil, err
		}
		for j := range list {
			list[j].entry = i
		}
		out = append(out, list...)
	}
	return out, nil
}

// parseClusterOverrides decodes one clusterOverrides list; where names it in errors.
func parseClusterOverrides(raw interface{}, where string) ([]clusterOverride, *OverrideError) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]interface{})
	if !ok {
		return nil, &OverrideError{Reason: fmt.Sprintf("%s is %T, not a list", where, raw), Override: -1}
	}
	out := make([]clusterOverride, 0, len(list))
	for i, item := range list {
		o, err := parseOverride(item, fmt.Sprintf("%s[%d]", where, i))
		if err != nil {
			err.Override = i
			return nil, err
		}
		o.index = i
		out = append(out, o)
	}
	return out, nil
}

// parseOverride decodes one override. A null value counts as absent, as in
// KubeFed's typed API where value is omitempty.
func parseOverride(raw interface{}, where string) (clusterOverride, *OverrideError) {
	m, ok := raw.(map[string]interface{})
	if !ok {
		return clusterOverride{}, &OverrideError{Reason: fmt.Sprintf("%s is %T, not an object", where, raw)}
	}
	path, ok := m["path"].(string)
	if !ok {
		return clusterOverride{}, &OverrideError{Reason: fmt.Sprintf("%s.path is missing or not a string", where)}
	}
	o := clusterOverride{op: "replace", path: path, value: m["value"], hasValue: m["value"] != nil}
	if op, ok := m["op"]; ok && op != nil {
		s, ok := op.(string)
		if !ok {
			return clusterOverride{}, &OverrideError{Path: path, Reason: fmt.Sprintf("%s.op is %T, not a string", where, op)}
		}
		if s != "" {
			o.op = s
		}
	}
	return o, nil
}

// applyOverride applies one override to doc and returns the result, refusing any
// override that would change what identifies or marks the member object.
func applyOverride(doc map[string]interface{}, o clusterOverride, cluster string) (map[string]interface{}, error) {
	fail := func(err error) error {
		return &OverrideError{Cluster: cluster, Path: o.path, Reason: err.Error(), Entry: o.entry, Override: o.index}
	}
	if err := checkOverride(doc, o); err != nil {
		return nil, fail(err)
	}
	out, err := applyPatch(doc, o)
	if err != nil {
		return nil, fail(err)
	}
	if field := changedGuard(doc, out); field != "" {
		return nil, fail(fmt.Errorf("overrides may not change %s", field))
	}
	return out, nil
}

// checkOverride checks o against doc before patching. Replace may create a
// missing object key, as KubeFed's json-patch v4 let it (manifests written for
// KubeFed rely on it, e.g. /spec/replicas on a template without replicas);
// json-patch v4 also accepts negative list indices, which RFC 6902 does not,
// so indices and every other existence rule are checked here.
func checkOverride(doc map[string]interface{}, o clusterOverride) error {
	switch o.op {
	case "add", "remove", "replace":
	default:
		return fmt.Errorf("unsupported op %q: want add, remove or replace", o.op)
	}
	tokens, err := parsePointer(o.path)
	if err != nil {
		return err
	}
	if field := protectedField(tokens); field != "" {
		return fmt.Errorf("overrides may not change %s", field)
	}
	if o.op != "remove" && !o.hasValue {
		return fmt.Errorf("op %s needs a value", o.op)
	}
	return checkTarget(doc, tokens, o.op)
}

// parsePointer splits an RFC 6901 JSON pointer into unescaped reference tokens.
// The empty pointer (the whole object) is refused: it would replace kind and name.
func parsePointer(path string) ([]string, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q is not a JSON pointer to a field: it must start with /", path)
	}
	tokens := strings.Split(path[1:], "/")
	for i, t := range tokens {
		if strings.Count(t, "~") != strings.Count(t, "~0")+strings.Count(t, "~1") {
			return nil, fmt.Errorf("path %q has an invalid ~ escape", path)
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// protectedField names the identity or lifecycle field tokens point at, if
// any: Render sets the identity from the federated object and target, and a
// member object's finalizers and owners are the member's own, so an override
// may not set either.
func protectedField(tokens []string) string {
	switch {
	case len(tokens) == 1 && (tokens[0] == "kind" || tokens[0] == "apiVersion"):
		return tokens[0]
	case len(tokens) == 2 && tokens[0] == "metadata" && (tokens[1] == "name" || tokens[1] == "namespace"):
		return "metadata." + tokens[1]
	case len(tokens) >= 2 && tokens[0] == "metadata" && (tokens[1] == "finalizers" || tokens[1] == "ownerReferences"):
		return "metadata." + tokens[1]
	}
	return ""
}

// checkTarget checks that the parent of tokens exists and, for remove and replace,
// the target itself.
func checkTarget(doc map[string]interface{}, tokens []string, op string) error {
	parent, ok := resolvePointer(doc, tokens[:len(tokens)-1])
	if !ok {
		return errors.New("parent path not found")
	}
	last := tokens[len(tokens)-1]
	switch p := parent.(type) {
	case map[string]interface{}:
		if _, ok := p[last]; !ok && op == "remove" {
			return errors.New("path not found")
		}
	case []interface{}:
		if op == "add" && last == "-" {
			return nil
		}
		limit := len(p)
		if op == "add" {
			limit++
		}
		if i, ok := listIndex(last); !ok || i >= limit {
			return fmt.Errorf("index %q out of range for a list of %d", last, len(p))
		}
	default:
		return fmt.Errorf("parent is %T, not an object or a list", parent)
	}
	return nil
}

// resolvePointer walks tokens from doc and returns the value they point at.
func resolvePointer(doc interface{}, tokens []string) (interface{}, bool) {
	cur := doc
	for _, t := range tokens {
		switch c := cur.(type) {
		case map[string]interface{}:
			v, ok := c[t]
			if !ok {
				return nil, false
			}
			cur = v
		case []interface{}:
			i, ok := listIndex(t)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// listIndex parses an RFC 6901 array index: digits without a leading zero.
func listIndex(token string) (int, bool) {
	i, err := strconv.Atoi(token)
	if err != nil || i < 0 || strconv.Itoa(i) != token {
		return 0, false
	}
	return i, true
}

// applyPatch runs o as a one-operation JSON patch over doc; decoding numbers with
// apimachinery's JSON keeps integers int64, as everywhere else in unstructured.
func applyPatch(doc map[string]interface{}, o clusterOverride) (map[string]interface{}, error) {
	op := map[string]interface{}{"op": o.op, "path": o.path}
	if o.op != "remove" {
		op["value"] = o.value
	}
	patchJSON, err := json.Marshal([]interface{}{op})
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(patchJSON)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	patched, err := patch.Apply(in)
	if err != nil {
		return nil, err
	}
	var out map[string]interface{}
	if err := utiljson.Unmarshal(patched, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// guardedFields are the fields no override may change, even through a parent such as
// /metadata or /metadata/labels, named as override errors name them.
var guardedFields = []struct {
	name   string
	fields []string
}{
	{"apiVersion", []string{"apiVersion"}},
	{"kind", []string{"kind"}},
	{"metadata.name", []string{"metadata", "name"}},
	{"metadata.namespace", []string{"metadata", "namespace"}},
	{"the " + ManagedLabel + " label", []string{"metadata", "labels", ManagedLabel}},
	// A finalizer would let a tenant hold a member object's deletion hostage,
	// and an owner reference would let the member's garbage collector delete
	// it with an object of someone else's.
	{"metadata.finalizers", []string{"metadata", "finalizers"}},
	{"metadata.ownerReferences", []string{"metadata", "ownerReferences"}},
}

// changedGuard names the first guarded field that differs between before and after.
func changedGuard(before, after map[string]interface{}) string {
	for _, g := range guardedFields {
		b, bFound, _ := unstructured.NestedFieldNoCopy(before, g.fields...)
		a, aFound, _ := unstructured.NestedFieldNoCopy(after, g.fields...)
		if aFound != bFound || !reflect.DeepEqual(a, b) {
			return g.name
		}
	}
	return ""
}
