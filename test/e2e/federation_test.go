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
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fedhub/fedhub/test/framework"
)

// The federation is started once for the package, on first use, and stopped by TestMain.
var (
	federationOnce    sync.Once
	federation        *framework.Federation
	federationDir     string
	federationStarted error
)

// sharedFederation returns a host with two API-only members and fedhub
// registered with the host, every member joined.
func sharedFederation(t *testing.T) *framework.Federation {
	t.Helper()
	federationOnce.Do(func() {
		binaries, err := framework.DefaultBinaries()
		if err != nil {
			federationStarted = err
			return
		}
		binaries.FedhubAPIServer = fedhubAPIServer
		if federationDir, err = os.MkdirTemp("", "fedhub-e2e-"); err != nil {
			federationStarted = err
			return
		}
		federation, federationStarted = framework.StartFederation(context.Background(), framework.FederationOptions{
			Binaries: binaries, Dir: federationDir, Members: 2, MembersAPIOnly: true,
		})
		if federationStarted == nil {
			federationStarted = federation.WriteKubeconfigs(filepath.Join(federationDir, "kubeconfigs"))
		}
	})
	if federationStarted != nil {
		t.Fatalf("starting the federation: %v", federationStarted)
	}
	return federation
}

func stopSharedFederation() {
	if federation != nil {
		federation.Stop()
	}
	if federationDir != "" {
		_ = os.RemoveAll(federationDir)
	}
}

// hostKubeconfig is the host administrator's kubeconfig.
func hostKubeconfig() string {
	return filepath.Join(federationDir, "kubeconfigs", "host.kubeconfig")
}

// federationKubeconfig has a context per cluster: host (current), member-1, member-2.
func federationKubeconfig() string {
	return filepath.Join(federationDir, "kubeconfigs", "federation.kubeconfig")
}

// userKubeconfig writes a kubeconfig for a host user authenticated by a client certificate.
func userKubeconfig(t *testing.T, f *framework.Federation, user string, groups ...string) string {
	t.Helper()
	config, err := f.Host.UserConfig(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := framework.WriteKubeconfig(path, "host", config); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlAs runs the real kubectl with the given kubeconfig.
func kubectlAs(kubeconfig string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func mustKubectlAs(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, errOut, err := kubectlAs(kubeconfig, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}
