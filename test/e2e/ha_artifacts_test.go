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

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/fedhub/fedhub/test/framework"
)

// haPlaceholders are the values the HA manifests' ${NAME}s get here; the
// images are never pulled, a dry run creates no pod.
var haPlaceholders = map[string]string{
	"FEDHUB_IMAGE": "registry.example.com/fedhub-apiserver:e2e",
	"ETCD_IMAGE":   "registry.example.com/etcd:e2e",
}

// TestHAArtifactsAreValid: every manifest of artifacts/ha, rendered as
// envsubst would, is accepted by a real kube-apiserver. A server-side dry
// run goes through decoding, strict field validation, defaulting and
// admission, which a client-side check would not, and leaves the shared
// host unchanged.
func TestHAArtifactsAreValid(t *testing.T) {
	sharedFederation(t)
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "artifacts", "ha", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("artifacts/ha holds no manifests")
	}
	rendered := t.TempDir()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// $(POD_NAME) is the kubelet's syntax, left alone by os.Expand as by
		// envsubst; a ${NAME} this test has no value for is a new placeholder
		// the README must document, so it fails here.
		var missing []string
		manifest := os.Expand(string(data), func(name string) string {
			value, ok := haPlaceholders[name]
			if !ok {
				missing = append(missing, name)
			}
			return value
		})
		if len(missing) > 0 {
			t.Fatalf("%s: no value for the placeholders %v", file, missing)
		}
		if err := os.WriteFile(filepath.Join(rendered, filepath.Base(file)), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// kubectl exits non-zero when any object is refused, and mustKubectlAs then fails the test.
	out := mustKubectlAs(t, hostKubeconfig(), "apply", "--dry-run=server", "--validate=strict", "-f", rendered)
	for _, object := range []string{
		"service/fedhub-etcd",
		"service/fedhub-etcd-client",
		"statefulset.apps/fedhub-etcd",
		"poddisruptionbudget.policy/fedhub-etcd",
		"deployment.apps/fedhub-apiserver",
		"poddisruptionbudget.policy/fedhub-apiserver",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(object) + ` (created|configured) \(server dry run\)$`).MatchString(out) {
			t.Errorf("kubectl apply --dry-run=server did not accept %s:\n%s", object, out)
		}
	}
}
