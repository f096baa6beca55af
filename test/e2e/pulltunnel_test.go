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
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fedhub/fedhub/test/framework"
)

// member2Proxy is member-2's API through the host, the proxy subresource
// and member-2's agent's tunnel.
const member2Proxy = "/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters/member-2/proxy"

// TestPullTunnel: a pull member's API reached through the host and its
// agent's tunnel (docs/clusteraccess.md): the tunnel and a 30 s watch
// through it outlive the host's 10 s request timeout, and the tunnel comes
// back after the agent restarts and after fedhub restarts.
func TestPullTunnel(t *testing.T) {
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	binaries.FedhubAPIServer = fedhubAPIServer
	if os.Getenv("FEDHUB_AGENT") == "" && os.Getenv("FEDHUB_APISERVER") == "" {
		if binaries.FedhubAgent, err = binary(t.TempDir(), "FEDHUB_AGENT", "fedhub-agent"); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp("", "fedhub-e2e-pulltunnel-")
	if err != nil {
		t.Fatal(err)
	}
	f, err := framework.StartFederation(context.Background(), framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: 2, NodesPerMember: 1, PullMembers: []int{2},
		Agent: framework.AgentOptions{LeaseDuration: pullAgentLease}, HostArgs: []string{"--request-timeout=10s"},
	})
	if err != nil {
		t.Fatalf("starting the federation (process logs are in %s): %v", dir, err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("process logs are in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	host := filepath.Join(dir, "kubeconfigs", "host.kubeconfig")
	if err := f.WriteKubeconfigs(filepath.Join(dir, "kubeconfigs")); err != nil {
		t.Fatal(err)
	}
	member := f.Members[1]
	// Every hub user may read member-2's namespaces and pods, their logs, and
	// exec into them (fedhub impersonates fedhub:<group>).
	mustKubectlAs(t, member.AdminKubeconfig, "create", "clusterrole", "hub-users-read", "--verb=get,list,watch,create",
		"--resource=namespaces,pods,pods/log,pods/exec")
	mustKubectlAs(t, member.AdminKubeconfig, "create", "clusterrolebinding", "hub-users-read", "--clusterrole=hub-users-read",
		"--group=fedhub:system:authenticated")

	reachable := func(what string, within time.Duration) {
		t.Helper()
		start := time.Now()
		var last string
		err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, within, true, func(context.Context) (bool, error) {
			out, errOut, err := kubectlAs(host, "get", "--raw", member2Proxy+"/api/v1/namespaces/kube-system")
			if err != nil {
				last = strings.TrimSpace(errOut)
				return false, nil
			}
			return strings.Contains(out, `"name":"kube-system"`), nil
		})
		if err != nil {
			t.Fatalf("member-2 is not reachable through the proxy %s within %s; last error: %s", what, within, last)
		}
		t.Logf("member-2 reachable through its tunnel %s after %s", what, time.Since(start).Round(10*time.Millisecond))
	}
	reachable("once the federation is ready", 30*time.Second)

	out := mustKubectlAs(t, host, "get", "--raw", member2Proxy+"/api/v1/namespaces")
	if !strings.Contains(out, `"kind":"NamespaceList"`) || !strings.Contains(out, `"name":"default"`) {
		t.Fatalf("the namespaces of member-2 through the proxy: %s", out)
	}

	t.Run("kubectl logs and exec on a pod of member-2 through the tunnel (upgrades)", func(t *testing.T) {
		ctx := context.Background()
		const namespace, pod = "tunnel-pods", "tunnel-pod"
		mustKubectlAs(t, member.AdminKubeconfig, "create", "namespace", namespace)
		mustKubectlAs(t, member.AdminKubeconfig, "run", pod, "-n", namespace, "--image=registry.k8s.io/pause:3.10", "--restart=Never")
		mustKubectlAs(t, member.AdminKubeconfig, "wait", "-n", namespace, "pod/"+pod, "--for=jsonpath={.status.phase}=Running", "--timeout=60s")
		memberConfig := filepath.Join(t.TempDir(), "member-2.kubeconfig")
		if out, err := exec.CommandContext(ctx, fedhubctl, "--kubeconfig", host, "kubeconfig", "member-2", "-o", memberConfig).CombinedOutput(); err != nil {
			t.Fatalf("fedhubctl kubeconfig member-2: %v\n%s", err, out)
		}
		if got := mustKubectlAs(t, memberConfig, "logs", "-n", namespace, pod); got != framework.KwokPodLog+"\n" {
			t.Errorf("kubectl logs through the tunnel = %q, want %q", got, framework.KwokPodLog+"\n")
		}
		if got := mustKubectlAs(t, memberConfig, "exec", "-n", namespace, pod, "--", "echo", "ok"); got != "ok\n" {
			t.Errorf("kubectl exec -- echo ok through the tunnel = %q, want %q", got, "ok\n")
		}
		agentLog := readLog(t, member.Agent.LogPath)
		for _, want := range []string{`path="/api/v1/namespaces/tunnel-pods/pods/tunnel-pod/log"`, `path="/api/v1/namespaces/tunnel-pods/pods/tunnel-pod/exec"`} {
			if !strings.Contains(agentLog, want) {
				t.Errorf("the agent's log has no line proxying %s", want)
			}
		}
	})

	t.Run("a 30 s watch through the tunnel outlives the host's 10 s request timeout", func(t *testing.T) {
		opened := strings.Count(readLog(t, f.Fedhub.LogPath), "A pull member's tunnel is open")
		created := make(chan error, 1)
		go func() {
			// After the host's timeout has passed.
			time.Sleep(15 * time.Second)
			_, errOut, err := kubectlAs(member.AdminKubeconfig, "create", "namespace", "tunnel-watch")
			if err != nil {
				err = &kubectlError{err: err, stderr: errOut}
			}
			created <- err
		}()
		start := time.Now()
		out, errOut, err := kubectlAs(host, "get", "--raw", member2Proxy+"/api/v1/namespaces?watch=true&timeoutSeconds=30")
		took := time.Since(start)
		if err != nil {
			t.Fatalf("the watch failed after %s: %v\n%s", took.Round(time.Millisecond), err, errOut)
		}
		if err := <-created; err != nil {
			t.Fatalf("creating a namespace in member-2: %v", err)
		}
		if took < 29*time.Second {
			t.Errorf("the watch ended after %s, before its 30 s", took.Round(time.Millisecond))
		}
		if !strings.Contains(out, `"type":"ADDED"`) || !strings.Contains(out, `"name":"tunnel-watch"`) {
			t.Errorf("the watch did not see the namespace created at 15 s:\n%s", out)
		}
		if now := strings.Count(readLog(t, f.Fedhub.LogPath), "A pull member's tunnel is open"); now != opened || opened == 0 {
			t.Errorf("fedhub logged %d tunnels opened before the watch and %d after: the tunnel did not stay open", opened, now)
		}
		t.Logf("the watch lasted %s; the tunnel stayed open", took.Round(time.Millisecond))
	})

	t.Run("the tunnel holds no seat of the host's API Priority and Fairness", func(t *testing.T) {
		// The agents' ServiceAccounts are in the priority level workload-low.
		// A tunnel the host did not treat as long-running would keep one of
		// its seats for as long as it is open.
		var samples []string
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			out, _, err := kubectlAs(host, "get", "--raw", "/metrics")
			if err != nil {
				return false, nil
			}
			executing := 0.0
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "apiserver_flowcontrol_current_executing_seats{") && strings.Contains(line, `priority_level="workload-low"`) {
					fields := strings.Fields(line)
					v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
					if err != nil {
						return false, err
					}
					executing += v
				}
			}
			samples = append(samples, strconv.FormatFloat(executing, 'f', -1, 64))
			return executing == 0, nil
		})
		if err != nil {
			t.Fatalf("workload-low's executing seats on the host never fell to 0 in 10 s (samples %v): the tunnel holds one", samples)
		}
	})

	t.Run("the tunnel comes back after the agent restarts", func(t *testing.T) {
		member.StopAgent()
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			_, errOut, err := kubectlAs(host, "get", "--raw", member2Proxy+"/api/v1/namespaces/kube-system")
			return err != nil && strings.Contains(errOut, "tunnel is not connected"), nil
		})
		if err != nil {
			t.Fatalf("member-2 did not turn unreachable (a 503 naming the tunnel) with its agent stopped")
		}
		if err := member.StartAgent(); err != nil {
			t.Fatal(err)
		}
		reachable("after the agent restarted", 30*time.Second)
	})

	t.Run("the tunnel comes back after fedhub restarts", func(t *testing.T) {
		if err := f.Fedhub.Restart(context.Background(), f.Host); err != nil {
			t.Fatal(err)
		}
		// The agent's backoff starts at 1 s.
		reachable("after fedhub restarted", 30*time.Second)
	})
}

type kubectlError struct {
	err    error
	stderr string
}

func (e *kubectlError) Error() string { return e.err.Error() + ": " + e.stderr }

func readLog(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
