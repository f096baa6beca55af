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

// Package e2e runs the built fedhub binaries as separate processes and drives
// them with the real kubectl, as a user would.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fedhubAPIServer and fedhubctl are the binaries under test.
var fedhubAPIServer, fedhubctl string

// TestMain uses the binaries named by FEDHUB_APISERVER and FEDHUBCTL (make test
// sets them to those make build wrote) or builds them, so that the tests always
// run what users run.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests need kubectl on PATH:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "fedhub-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// kubectl caches discovery and OpenAPI per host:port in ~/.kube/cache for
	// hours, and the servers here listen on free ports that earlier runs used
	// for other servers. Every run starts with an empty cache of its own, so
	// no run reads what another run's servers said. (Once, kubectl validated
	// client-side instead of asking fedhub for strict field validation in
	// TestKubectlAgainstStandalone; whether a shared cache caused it is not
	// established.)
	cacheDir := filepath.Join(dir, "kubectl-cache")
	if err := os.Setenv("KUBECACHEDIR", cacheDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if fedhubAPIServer, err = binary(dir, "FEDHUB_APISERVER", "fedhub-apiserver"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if fedhubctl, err = binary(dir, "FEDHUBCTL", "fedhubctl"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	stopFederations(code != 0)
	return code
}

// binary returns the path in the environment variable, or builds the command into dir.
func binary(dir, variable, command string) (string, error) {
	if path := os.Getenv(variable); path != "" {
		return path, nil
	}
	path := filepath.Join(dir, command)
	build := exec.Command("go", "build", "-o", path, "github.com/fedhub/fedhub/cmd/"+command)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", command, err)
	}
	return path, nil
}
