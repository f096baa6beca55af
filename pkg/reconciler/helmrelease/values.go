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

package helmrelease

import (
	"encoding/json"
	"fmt"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// clusterValues are the values the release is installed with in a cluster:
// spec.values with the cluster's override values merged over them.
func clusterValues(release *appsv1alpha1.FederatedHelmRelease, cluster string) (map[string]any, error) {
	values, err := decodeValues(release.Spec.Values, "spec.values")
	if err != nil {
		return nil, err
	}
	for i, o := range release.Spec.Overrides {
		if o.ClusterName != cluster {
			continue
		}
		override, err := decodeValues(o.Values, fmt.Sprintf("spec.overrides[%d].values", i))
		if err != nil {
			return nil, err
		}
		values = mergeValues(values, override)
	}
	return values, nil
}

func decodeValues(raw *typesv1beta1.JSON, field string) (map[string]any, error) {
	values := map[string]any{}
	if raw == nil || len(raw.Raw) == 0 || string(raw.Raw) == "null" {
		return values, nil
	}
	if err := json.Unmarshal(raw.Raw, &values); err != nil {
		return nil, fmt.Errorf("%s: must be a JSON object: %w", field, err)
	}
	return values, nil
}

// mergeValues merges override into base as Helm merges a later -f file
// over an earlier one: maps merge key by key, any other value replaces, and
// null removes the key. Both are fresh decodes, so base is changed in place.
func mergeValues(base, override map[string]any) map[string]any {
	for key, value := range override {
		if value == nil {
			delete(base, key)
			continue
		}
		overrideMap, isMap := value.(map[string]any)
		baseMap, baseIsMap := base[key].(map[string]any)
		if isMap && baseIsMap {
			base[key] = mergeValues(baseMap, overrideMap)
			continue
		}
		base[key] = value
	}
	return base
}
