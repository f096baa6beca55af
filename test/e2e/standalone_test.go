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
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// startTimeout bounds how long a standalone fedhub-apiserver may take to answer kubectl.
const startTimeout = 2 * time.Minute

// standalone is a fedhub-apiserver process in standalone mode.
type standalone struct {
	kubeconfig string
}

// startStandalone runs fedhub-apiserver --standalone on a free port with an
// embedded etcd in a temporary directory, and stops it when the test ends.
func startStandalone(t *testing.T) *standalone {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	logFile, err := os.Create(filepath.Join(dir, "fedhub-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fedhubAPIServer,
		"--standalone",
		"--secure-port", "0",
		"--cert-dir", filepath.Join(dir, "certs"),
		"--embedded-etcd-dir", filepath.Join(dir, "etcd"),
		"--write-kubeconfig", kubeconfig,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that stopping it reaches anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		_ = logFile.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("fedhub-apiserver log:\n%s", log)
			}
		}
	})

	s := &standalone{kubeconfig: kubeconfig}
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, startTimeout, true,
		func(context.Context) (bool, error) {
			select {
			case err := <-exited:
				t.Fatalf("fedhub-apiserver exited before it served: %v", err)
			default:
			}
			if _, err := os.Stat(kubeconfig); err != nil {
				return false, nil
			}
			_, _, err := s.kubectl("get", "--raw", "/readyz")
			return err == nil, nil
		})
	if err != nil {
		t.Fatalf("fedhub-apiserver did not become ready: %v", err)
	}
	return s
}

// kubectl runs the real kubectl against the server and returns its output.
func (s *standalone) kubectl(args ...string) (stdout, stderr string, err error) {
	return kubectlAs(s.kubeconfig, args...)
}

// mustKubectl runs kubectl and fails the test if it fails.
func (s *standalone) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	return mustKubectlAs(t, s.kubeconfig, args...)
}
