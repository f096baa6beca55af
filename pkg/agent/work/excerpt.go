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
	"encoding/json"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// excerpt is what a Work's status.member reports of the member object:
// metadata.generation, and with reportStatus spec.replicas, spec.completions
// and status. The resourceVersion is left out on purpose: it changes with
// every status update in the member, so reporting it would rewrite the Work
// whenever the member's controllers write, reportStatus or not.
func excerpt(obj *unstructured.Unstructured, reportStatus bool) *runtime.RawExtension {
	if obj == nil {
		return nil
	}
	out := map[string]interface{}{
		"metadata": map[string]interface{}{"generation": obj.GetGeneration()},
	}
	if reportStatus {
		spec := map[string]interface{}{}
		for _, field := range []string{"replicas", "completions"} {
			if v, found, err := unstructured.NestedFieldNoCopy(obj.Object, "spec", field); found && err == nil && v != nil {
				spec[field] = v
			}
		}
		if len(spec) > 0 {
			out["spec"] = spec
		}
		if status, ok := obj.Object["status"].(map[string]interface{}); ok && len(status) > 0 {
			out["status"] = status
		}
	}
	// json.Marshal sorts map keys, so an unchanged member gives the same bytes.
	raw, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return &runtime.RawExtension{Raw: raw}
}

// sameExcerpt compares two excerpts by value, so that bytes fedhub
// re-encoded compare equal to the agent's.
func sameExcerpt(a, b *runtime.RawExtension) bool {
	if a == nil || b == nil {
		return (a == nil || len(a.Raw) == 0) && (b == nil || len(b.Raw) == 0)
	}
	var av, bv interface{}
	if json.Unmarshal(a.Raw, &av) != nil || json.Unmarshal(b.Raw, &bv) != nil {
		return string(a.Raw) == string(b.Raw)
	}
	return equalJSON(av, bv)
}

func equalJSON(a, b interface{}) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ab) == string(bb)
}
