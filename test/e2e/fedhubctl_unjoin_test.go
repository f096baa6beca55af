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
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestFedhubctlUnjoinUnknownCluster: unjoining a name that is not a
// KubeFedCluster fails as kubectl delete does (issue 19: it exited 0 saying
// "nothing of the federation is left"), and --ignore-not-found makes it
// succeed. The joined members stay joined either way.
func TestFedhubctlUnjoinUnknownCluster(t *testing.T) {
	sharedFederation(t)
	const notFound = `Error from server (NotFound): kubefedclusters.core.kubefed.io "no-such-cluster" not found`

	t.Run("an unknown name is an error", func(t *testing.T) {
		out, errOut, err := typesCtl("unjoin", "no-such-cluster")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("fedhubctl unjoin no-such-cluster: %v, want exit code 1\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		if !strings.Contains(errOut, notFound) {
			t.Errorf("stderr %q, want it to say %s", errOut, notFound)
		}
		if strings.Contains(out, "nothing of the federation is left") {
			t.Errorf("stdout claims an unjoin: %q", out)
		}
	})

	t.Run("--ignore-not-found exits 0", func(t *testing.T) {
		out, errOut, err := typesCtl("unjoin", "no-such-cluster", "--ignore-not-found")
		if err != nil {
			t.Fatalf("fedhubctl unjoin no-such-cluster --ignore-not-found: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		if strings.Contains(errOut, notFound) {
			t.Errorf("stderr %q still has the NotFound error", errOut)
		}
	})

	clusters := mustKubectlAs(t, federationKubeconfig(), "get", "kubefedclusters", "-n", federationNamespace, "-o", "name")
	for _, name := range []string{"member-1", "member-2"} {
		if !strings.Contains(clusters, "/"+name+"\n") {
			t.Errorf("KubeFedCluster %s is gone after unjoining an unknown name:\n%s", name, clusters)
		}
	}
}
