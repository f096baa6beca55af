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

// fedhubAPIServer is the fedhub-apiserver binary under test.
var fedhubAPIServer string

// TestMain uses the binary named by FEDHUB_APISERVER (make test sets it to the
// one make build wrote) or builds one, so that the test always runs what users run.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests need kubectl on PATH:", err)
		return 1
	}
	fedhubAPIServer = os.Getenv("FEDHUB_APISERVER")
	if fedhubAPIServer == "" {
		dir, err := os.MkdirTemp("", "fedhub-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		fedhubAPIServer = filepath.Join(dir, "fedhub-apiserver")
		build := exec.Command("go", "build", "-o", fedhubAPIServer, "github.com/fedhub/fedhub/cmd/fedhub-apiserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building fedhub-apiserver:", err)
			return 1
		}
	}
	code := m.Run()
	stopSharedFederation()
	return code
}
