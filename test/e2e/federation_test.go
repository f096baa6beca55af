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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fedhub/fedhub/test/framework"
)

// Federations started once for the package, on first use, and stopped by TestMain.
var (
	// shared is a host with two API-only members, fedhub registered with the
	// host and every member joined.
	shared = &lazyFederation{dirPattern: "fedhub-e2e-", options: framework.FederationOptions{Members: 2, MembersAPIOnly: true}}
	// workloads is a host with two full members whose kwok nodes run pods.
	workloads = &lazyFederation{dirPattern: "fedhub-e2e-workloads-", options: framework.FederationOptions{Members: 2, NodesPerMember: 1}}
	// pullShared is a host with two API-only members, member-2 joined in
	// pull mode with its fedhub-agent, for the tests that need a pull member
	// but do nothing to its agent or its registration.
	pullShared = &lazyFederation{dirPattern: "fedhub-e2e-pull-shared-", options: framework.FederationOptions{Members: 2, MembersAPIOnly: true,
		PullMembers: []int{2}, Agent: framework.AgentOptions{LeaseDuration: pullAgentLease}}}
)

// lazyFederation starts a federation the first time a test asks for it.
type lazyFederation struct {
	dirPattern string
	options    framework.FederationOptions

	once       sync.Once
	federation *framework.Federation
	dir        string
	err        error
}

func (l *lazyFederation) get(t *testing.T) *framework.Federation {
	t.Helper()
	l.once.Do(func() {
		binaries, err := framework.DefaultBinaries()
		if err != nil {
			l.err = err
			return
		}
		binaries.FedhubAPIServer = fedhubAPIServer
		if l.dir, err = os.MkdirTemp("", l.dirPattern); err != nil {
			l.err = err
			return
		}
		if len(l.options.PullMembers) > 0 {
			if binaries.FedhubAgent, err = agentBinary(l.dir, binaries); err != nil {
				l.err = err
				return
			}
		}
		options := l.options
		options.Binaries, options.Dir = binaries, l.dir
		l.federation, l.err = framework.StartFederation(context.Background(), options)
		if l.err == nil {
			l.err = l.federation.WriteKubeconfigs(filepath.Join(l.dir, "kubeconfigs"))
		}
	})
	if l.err != nil {
		t.Fatalf("starting the federation: %v", l.err)
	}
	return l.federation
}

// kubeconfig is the path of one of the federation's kubeconfigs: host or federation.
func (l *lazyFederation) kubeconfig(name string) string {
	return filepath.Join(l.dir, "kubeconfigs", name+".kubeconfig")
}

// stop stops the federation's processes; its logs stay when tests failed.
func (l *lazyFederation) stop(failed bool) {
	if l.federation != nil {
		l.federation.Stop()
	}
	if l.dir == "" {
		return
	}
	if failed {
		fmt.Fprintf(os.Stderr, "process logs are in %s\n", l.dir)
		return
	}
	_ = os.RemoveAll(l.dir)
}

func stopFederations(failed bool) {
	shared.stop(failed)
	workloads.stop(failed)
	pullShared.stop(failed)
	ha.stop(failed)
}

// sharedFederation returns the shared federation of API-only members.
func sharedFederation(t *testing.T) *framework.Federation {
	t.Helper()
	return shared.get(t)
}

// hostKubeconfig is the host administrator's kubeconfig.
func hostKubeconfig() string {
	return shared.kubeconfig("host")
}

// federationKubeconfig has a context per cluster: host (current), member-1, member-2.
func federationKubeconfig() string {
	return shared.kubeconfig("federation")
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
