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

package v1beta1

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestKubeFedManifestRoundTrips: a KubeFed FederatedDeployment decodes into the
// typed struct with no unknown field, and encodes back to the same JSON, so a
// program using the typed clientset neither loses nor adds anything.
func TestKubeFedManifestRoundTrips(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join("..", "..", "..", "test", "e2e", "testdata", "kubefed", "federateddeployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var typed FederatedDeployment
	if err := yaml.UnmarshalStrict(manifest, &typed); err != nil {
		t.Fatalf("decoding KubeFed's manifest: %v", err)
	}
	if got := *typed.Spec.Template.Spec.Replicas; got != 3 {
		t.Errorf("template replicas = %d, want 3", got)
	}
	if len(typed.Spec.Placement.Clusters) != 1 || typed.Spec.Placement.Clusters[0].Name != "member-1" {
		t.Errorf("placement = %+v, want member-1", typed.Spec.Placement)
	}
	override := typed.Spec.Overrides[0].ClusterOverrides[0]
	if typed.Spec.Overrides[0].ClusterName != "member-1" || override.Path != "/spec/replicas" || string(override.Value.Raw) != "1" {
		t.Errorf("override = %+v with value %s", override, override.Value.Raw)
	}

	encoded, err := json.Marshal(&typed)
	if err != nil {
		t.Fatal(err)
	}
	original, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(original, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(encoded, &got); err != nil {
		t.Fatal(err)
	}
	// Fields the typed struct always writes, empty, are not part of the manifest.
	delete(got, "status")
	pruneEmpty(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("re-encoded manifest differs:\n got: %s\nwant: %s", encoded, original)
	}
}

func TestJSONKeepsAnyValue(t *testing.T) {
	for _, value := range []string{`1`, `"text"`, `{"a":[1,2]}`, `[true]`, `false`} {
		var j JSON
		if err := json.Unmarshal([]byte(value), &j); err != nil {
			t.Fatalf("%s: %v", value, err)
		}
		out, err := json.Marshal(j)
		if err != nil || string(out) != value {
			t.Errorf("%s encoded back as %s (%v)", value, out, err)
		}
	}
}

// pruneEmpty removes empty objects that Go's encoder writes for struct fields
// without omitempty semantics (e.g. metadata.creationTimestamp: null).
func pruneEmpty(m map[string]any) {
	for key, value := range m {
		switch v := value.(type) {
		case map[string]any:
			pruneEmpty(v)
			if len(v) == 0 {
				delete(m, key)
			}
		case []any:
			for _, item := range v {
				if object, ok := item.(map[string]any); ok {
					pruneEmpty(object)
				}
			}
		case nil:
			delete(m, key)
		}
	}
}
