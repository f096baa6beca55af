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

package framework

import (
	"fmt"
	"os"
	"path/filepath"
)

// Binaries are the executables the framework runs.
type Binaries struct {
	KubeAPIServer, KubeControllerManager, KubeScheduler, Etcd, Kwok string
	FedhubAPIServer                                                 string
	// FedhubAgent runs beside pull members; it must exist only when one is started.
	FedhubAgent string
}

// DefaultBinaries finds the binaries make builds: bin/tools/* (test/tools),
// bin/fedhub-apiserver ($FEDHUB_APISERVER) and bin/fedhub-agent
// ($FEDHUB_AGENT; by default beside fedhub-apiserver), below the repository root.
func DefaultBinaries() (Binaries, error) {
	root, err := RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	tools := filepath.Join(root, "bin", "tools")
	b := Binaries{
		KubeAPIServer:         filepath.Join(tools, "kube-apiserver"),
		KubeControllerManager: filepath.Join(tools, "kube-controller-manager"),
		KubeScheduler:         filepath.Join(tools, "kube-scheduler"),
		Etcd:                  filepath.Join(tools, "etcd"),
		Kwok:                  filepath.Join(tools, "kwok"),
		FedhubAPIServer:       filepath.Join(root, "bin", "fedhub-apiserver"),
	}
	if path := os.Getenv("FEDHUB_APISERVER"); path != "" {
		b.FedhubAPIServer = path
	}
	// Beside the fedhub-apiserver in use, unless FEDHUB_AGENT says otherwise.
	b.FedhubAgent = filepath.Join(filepath.Dir(b.FedhubAPIServer), "fedhub-agent")
	if path := os.Getenv("FEDHUB_AGENT"); path != "" {
		b.FedhubAgent = path
	}
	for _, path := range []string{b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Etcd, b.Kwok, b.FedhubAPIServer} {
		if _, err := os.Stat(path); err != nil {
			return Binaries{}, fmt.Errorf("%s is missing: run 'make tools build' first", path)
		}
	}
	return b, nil
}

// RepoRoot is the directory of the main module's go.mod, found from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isMainModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no fedhub go.mod above the working directory")
		}
		dir = parent
	}
}

func isMainModule(goMod []byte) bool {
	const want = "module github.com/fedhub/fedhub\n"
	return len(goMod) >= len(want) && string(goMod[:len(want)]) == want
}
