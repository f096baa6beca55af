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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Differs says whether live differs from desired in anything desired sets: every field desired
// has must be present in live with an equal value; fields only live has (server defaults, status,
// server-set metadata) do not count. Lists must have equal length and compare element-wise, map
// elements with the same subset rule. Numbers compare by value across int64 and float64.
// metadata.resourceVersion in desired is ignored.
func Differs(desired, live *unstructured.Unstructured) bool {
	return !containsValue(live.Object, withoutResourceVersion(desired.Object))
}

// withoutResourceVersion returns obj without metadata.resourceVersion, copying only
// the maps on the way so desired is not modified.
func withoutResourceVersion(obj map[string]interface{}) map[string]interface{} {
	md, ok := obj["metadata"].(map[string]interface{})
	if !ok {
		return obj
	}
	if _, ok := md["resourceVersion"]; !ok {
		return obj
	}
	out := make(map[string]interface{}, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	mdOut := make(map[string]interface{}, len(md))
	for k, v := range md {
		if k != "resourceVersion" {
			mdOut[k] = v
		}
	}
	out["metadata"] = mdOut
	return out
}

// containsValue reports whether live holds everything desired sets. A null in desired
// sets nothing, and an empty map or list matches an absent field, because the API
// server drops both and an update could never make them appear.
func containsValue(live, desired interface{}) bool {
	switch d := desired.(type) {
	case nil:
		return true
	case map[string]interface{}:
		return containsMap(live, d)
	case []interface{}:
		return containsList(live, d)
	}
	return scalarEqual(desired, live)
}

// containsMap is containsValue for objects: every key desired has must match in live.
func containsMap(live interface{}, desired map[string]interface{}) bool {
	l, ok := live.(map[string]interface{})
	if !ok {
		return live == nil && len(desired) == 0
	}
	for k, dv := range desired {
		lv, found := l[k]
		if !found {
			if setsNothing(dv) {
				continue
			}
			return false
		}
		if !containsValue(lv, dv) {
			return false
		}
	}
	return true
}

// containsList is containsValue for lists: a list desired sets is owned wholesale, so
// lengths must match, but each element may carry server defaults.
func containsList(live interface{}, desired []interface{}) bool {
	l, ok := live.([]interface{})
	if !ok {
		return live == nil && len(desired) == 0
	}
	if len(l) != len(desired) {
		return false
	}
	for i := range desired {
		if !containsValue(l[i], desired[i]) {
			return false
		}
	}
	return true
}

// setsNothing reports whether a desired value sets nothing the API server would keep.
func setsNothing(v interface{}) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]interface{}:
		return len(t) == 0
	case []interface{}:
		return len(t) == 0
	}
	return false
}

// scalarEqual compares scalars, numbers by value whatever their Go type, because
// JSON decoding yields int64 or float64 for the same number depending on its form.
func scalarEqual(a, b interface{}) bool {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		return ai == bi
	}
	af, aNum := asFloat(a)
	bf, bNum := asFloat(b)
	if aNum || bNum {
		return aNum && bNum && af == bf
	}
	return reflect.DeepEqual(a, b)
}

// asFloat converts the numeric types unstructured content may hold.
func asFloat(v interface{}) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}
