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

package placement

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// FuzzPlacement reads spec.placement from fuzzed JSON (an empty input leaves
// it out) and asks whether it selects a cluster with fuzzed name and labels
// (labels as key=value lines). Of, Selects and Targets must never panic and
// errors must say something. A present clusters list decides alone: Targets
// returns its names and all=false, and Selects picks exactly the listed
// clusters. Otherwise Targets is all clusters exactly when there is a
// selector, and whatever selector LabelSelectorAsSelector accepts selects as
// matchLabels and the In, NotIn, Exists and DoesNotExist operators say.
func FuzzPlacement(f *testing.F) {
	for _, seed := range []struct{ placement, labels, name string }{
		{`{"clusters":[{"name":"member-1"},{"name":"member-2"}]}`, "region=eu", "member-1"},
		{`{"clusters":[{"name":"member-2"}],"clusterSelector":{}}`, "", "member-1"},
		{`{"clusters":[]}`, "", "member-1"},
		{`{"clusters":null,"clusterSelector":{}}`, "", "member-1"},
		{`{"clusterSelector":{"matchLabels":{"region":"eu","tier":"gold"}}}`, "region=eu\ntier=gold", "member-1"},
		{`{"clusterSelector":{"matchExpressions":[{"key":"region","operator":"In","values":["eu","us"]},` +
			`{"key":"tier","operator":"NotIn","values":["bronze"]},{"key":"gpu","operator":"Exists"},` +
			`{"key":"legacy","operator":"DoesNotExist"}]}}`, "region=us\ngpu=", "member-1"},
		{`{"clusterSelector":{"matchExpressions":[{"key":"region","operator":"Near","values":["eu"]}]}}`, "region=eu", "member-1"},
		{`{"clusterSelector":{"matchExpressions":[{"key":"region","operator":"Exists","values":["eu"]}]}}`, "region=eu", "member-1"},
		{`{"clusters":[{"name":7}]}`, "", "member-1"},
		{`"member-1"`, "", "member-1"},
		{``, "region=eu", "member-1"},
	} {
		f.Add([]byte(seed.placement), seed.labels, seed.name)
	}
	f.Fuzz(func(t *testing.T, placementJSON []byte, labelLines, clusterName string) {
		spec := map[string]any{}
		var raw any
		if len(placementJSON) > 0 {
			if err := utiljson.Unmarshal(placementJSON, &raw); err != nil {
				raw = string(placementJSON) // not JSON: a placement of the wrong type, which Of must refuse
			}
			spec["placement"] = raw
		}
		obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		before := obj.DeepCopy()
		labels := map[string]string{}
		for _, line := range strings.Split(labelLines, "\n") {
			if key, value, ok := strings.Cut(line, "="); ok {
				labels[key] = value
			}
		}
		cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: clusterName, Labels: labels}}

		p, err := Of(obj)
		if !reflect.DeepEqual(before.Object, obj.Object) {
			t.Fatalf("Of changed the object:\nbefore %v\nafter  %v", before.Object, obj.Object)
		}
		if err != nil {
			if p != nil || strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("Of returned %v with error %q", p, err)
			}
			return
		}
		selected, why, err := p.Selects(cluster)
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatalf("Selects failed with an empty message: %#v", err)
		}
		if err != nil && selected {
			t.Errorf("Selects selected and failed: %v", err)
		}
		if selected != (why != "") || (why != "" && why != ByName && why != BySelector) {
			t.Errorf("Selects returned selected=%v, why=%q", selected, why)
		}
		again, whyAgain, errAgain := p.Selects(cluster)
		if again != selected || whyAgain != why || (err == nil) != (errAgain == nil) {
			t.Errorf("Selects is not deterministic: %v %q %v, then %v %q %v", selected, why, err, again, whyAgain, errAgain)
		}
		names, all := p.Targets()

		fields, _ := raw.(map[string]any)
		if list, present := fields["clusters"]; present && list != nil {
			entries, ok := list.([]any)
			if !ok {
				t.Fatalf("Of accepted clusters %#v, which is not a list", list)
			}
			var want []string
			for _, e := range entries {
				entry, _ := e.(map[string]any)
				name, _ := entry["name"].(string)
				want = append(want, name)
			}
			if all || !slices.Equal(names, want) {
				t.Errorf("Targets() = %q, %v; want the listed %q, false", names, all, want)
			}
			if err != nil || selected != slices.Contains(want, clusterName) || (selected && why != ByName) {
				t.Errorf("Selects(%q) = %v, %q, %v with clusters %q", clusterName, selected, why, err, want)
			}
			return
		}
		if names != nil {
			t.Errorf("Targets() named %q without a clusters list", names)
		}
		selector, hasSelector := fields["clusterSelector"].(map[string]any)
		if all != hasSelector {
			t.Errorf("Targets() all=%v, want %v for placement %v", all, hasSelector, raw)
		}
		if !hasSelector {
			if selected || err != nil {
				t.Errorf("without clusters or selector, Selects = %v, %v", selected, err)
			}
			return
		}
		if err != nil {
			return
		}
		if want := fuzzSelectorMatches(selector, labels); selected != want || (selected && why != BySelector) {
			t.Errorf("selector %v on labels %v: Selects = %v, %q; want %v", selector, labels, selected, why, want)
		}
	})
}

// fuzzSelectorMatches says whether labels match a metav1.LabelSelector (as
// JSON) by the rules of its documentation; it is only asked about selectors
// LabelSelectorAsSelector accepted.
func fuzzSelectorMatches(selector map[string]any, labels map[string]string) bool {
	matchLabels, _ := selector["matchLabels"].(map[string]any)
	for key, value := range matchLabels {
		if got, ok := labels[key]; !ok || got != value {
			return false
		}
	}
	expressions, _ := selector["matchExpressions"].([]any)
	for _, e := range expressions {
		expression, _ := e.(map[string]any)
		key, _ := expression["key"].(string)
		operator, _ := expression["operator"].(string)
		rawValues, _ := expression["values"].([]any)
		var values []string
		for _, v := range rawValues {
			s, _ := v.(string)
			values = append(values, s)
		}
		value, has := labels[key]
		var ok bool
		switch metav1.LabelSelectorOperator(operator) {
		case metav1.LabelSelectorOpIn:
			ok = has && slices.Contains(values, value)
		case metav1.LabelSelectorOpNotIn:
			ok = !has || !slices.Contains(values, value)
		case metav1.LabelSelectorOpExists:
			ok = has
		case metav1.LabelSelectorOpDoesNotExist:
			ok = !has
		}
		if !ok {
			return false
		}
	}
	return true
}
