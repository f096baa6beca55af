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
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// through it outlive the host's 10 s request timeout; plain kubectl applies
// (server-side), gets and deletes through it, and streams logs -f, attach
// and port-forward through it as through a push member's proxy; kubectl
// fedhub get lists the pods of both; and the tunnel comes back after the
// agent restarts and after fedhub restarts.
func TestPullTunnel(t *testing.T) {
	f, dir := startOwnPullFederation(t, "pulltunnel", framework.FederationOptions{
		// Two replicas on one etcd: the host reaches the first, which holds
		// the tunnel; peerReplicaSubtests go through the second.
		FedhubEtcdMembers: 1, FedhubReplicas: 2,
		HostArgs: []string{"--request-timeout=10s"},
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

	t.Run("a second fedhub replica reaches member-2 through the one holding its tunnel", func(t *testing.T) {
		peerReplicaSubtests(t, f)
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

	// What the next subtests do through the proxy, as kubectl would: the hub
	// user (the host's admin, fedhub:<user> in the members) gets ConfigMaps,
	// pods, their logs, attach and port-forward in both members.
	const accessRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hub-users-access}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods/attach, pods/portforward]
  verbs: [get, create]
`
	memberConfigs := map[string]string{}
	for _, m := range f.Members {
		if _, errOut, err := kubectlStdin(m.AdminKubeconfig, accessRole, "apply", "-f", "-"); err != nil {
			t.Fatalf("the ClusterRole hub-users-access in %s: %v\n%s", m.Name, err, errOut)
		}
		mustKubectlAs(t, m.AdminKubeconfig, "create", "clusterrolebinding", "hub-users-access", "--clusterrole=hub-users-access",
			"--group=fedhub:system:authenticated")
		memberConfigs[m.Name] = filepath.Join(dir, "kubeconfigs", m.Name+"-through-fedhub.kubeconfig")
		if out, err := exec.Command(fedhubctl, "--kubeconfig", host, "kubeconfig", m.Name, "-o", memberConfigs[m.Name]).CombinedOutput(); err != nil {
			t.Fatalf("fedhubctl kubeconfig %s: %v\n%s", m.Name, err, out)
		}
		server := mustKubectlAs(t, memberConfigs[m.Name], "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
		if !strings.HasSuffix(server, "/kubefedclusters/"+m.Name+"/proxy") {
			t.Fatalf("fedhubctl kubeconfig %s: server %s is not the proxy of %s", m.Name, server, m.Name)
		}
	}

	t.Run("kubectl apply --server-side, get and delete a ConfigMap of member-2 through the tunnel", func(t *testing.T) {
		const name, value = "tunnel-applied", "applied-through-the-tunnel"
		config := memberConfigs["member-2"]
		out, errOut, err := kubectlStdin(config, configMap(name, value), "apply", "--server-side", "-f", "-")
		if err != nil || strings.TrimSpace(out) != "configmap/"+name+" serverside-applied" {
			t.Fatalf("kubectl apply --server-side through the tunnel: %v\n%s%s", err, out, errOut)
		}
		if got := mustKubectlAs(t, config, "get", "configmap", "-n", "default", name, "-o", "jsonpath={.data.value}"); got != value {
			t.Errorf("kubectl get through the tunnel: value %q, want %q", got, value)
		}
		// In member-2 itself, applied by kubectl (server-side apply's field manager).
		if got := mustKubectlAs(t, member.AdminKubeconfig, "get", "configmap", "-n", "default", name,
			"-o", "jsonpath={.data.value}/{.metadata.managedFields[0].manager}/{.metadata.managedFields[0].operation}"); got != value+"/kubectl/Apply" {
			t.Errorf("member-2's ConfigMap: %q, want %q", got, value+"/kubectl/Apply")
		}
		if out := mustKubectlAs(t, config, "delete", "configmap", "-n", "default", name); !strings.Contains(out, `configmap "`+name+`" deleted`) {
			t.Errorf("kubectl delete through the tunnel: %q", out)
		}
		// kubectl delete waited for the ConfigMap (which has no finalizer) to be gone.
		if _, errOut, err := kubectlAs(member.AdminKubeconfig, "get", "configmap", "-n", "default", name); err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("member-2's ConfigMap after kubectl delete through the tunnel: err %v, %s", err, errOut)
		}
	})

	// A pod in each member, named after its member, for the next subtests.
	const streamsNamespace = "hub-streams"
	streamPods := map[string]string{}
	for _, m := range f.Members {
		streamPods[m.Name] = "pod-of-" + m.Name
		mustKubectlAs(t, m.AdminKubeconfig, "create", "namespace", streamsNamespace)
		mustKubectlAs(t, m.AdminKubeconfig, "run", streamPods[m.Name], "-n", streamsNamespace, "--image=registry.k8s.io/pause:3.10", "--restart=Never")
	}
	for _, m := range f.Members {
		mustKubectlAs(t, m.AdminKubeconfig, "wait", "-n", streamsNamespace, "pod/"+streamPods[m.Name], "--for=jsonpath={.status.phase}=Running", "--timeout=60s")
	}

	t.Run("kubectl fedhub get pods lists the pods of member-1 (push) and member-2 (pull) in one table", func(t *testing.T) {
		plugins := t.TempDir()
		if err := os.Symlink(fedhubctl, filepath.Join(plugins, "kubectl-fedhub")); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("kubectl", "fedhub", "--kubeconfig", host, "get", "pods", "-n", streamsNamespace, "--clusters", "all")
		cmd.Env = append(os.Environ(), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl fedhub get pods -n %s --clusters all: %v\n%s", streamsNamespace, err, stderrOf(err))
		}
		t.Logf("kubectl fedhub get pods -n %s --clusters all:\n%s", streamsNamespace, out)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if header := strings.Fields(lines[0]); len(header) < 4 || !slices.Equal(header[:4], []string{"CLUSTER", "NAME", "READY", "STATUS"}) {
			t.Errorf("header %v, want CLUSTER NAME READY STATUS ...", header)
		}
		var rows []string
		for _, line := range lines[1:] {
			if fields := strings.Fields(line); len(fields) >= 4 {
				rows = append(rows, fields[0]+" "+fields[1]+" "+fields[3])
			} else {
				rows = append(rows, line)
			}
		}
		want := []string{"member-1 " + streamPods["member-1"] + " Running", "member-2 " + streamPods["member-2"] + " Running"}
		if !slices.Equal(rows, want) {
			t.Errorf("rows (CLUSTER NAME STATUS) %q, want %q", rows, want)
		}
	})

	t.Run("kubectl logs -f, attach and port-forward through the proxy", func(t *testing.T) {
		for _, m := range f.Members {
			mode := "push"
			if m.Agent != nil {
				mode = "pull, through the tunnel"
			}
			t.Run(m.Name+" ("+mode+")", func(t *testing.T) {
				config, pod := memberConfigs[m.Name], streamPods[m.Name]

				// logs -f: the log so far, then a line appended while it runs.
				lines, stderr := startKubectl(t, config, "logs", "-f", "-n", streamsNamespace, pod)
				waitLine(t, lines, framework.KwokPodLog, stderr)
				appended := "appended while kubectl logs -f follows " + m.Name
				if err := m.AppendKwokPodLog(appended); err != nil {
					t.Fatal(err)
				}
				waitLine(t, lines, appended, stderr)

				// attach: what the container writes from the time it attached on.
				// When it has attached is not visible, so a numbered line is
				// appended every 500 ms until one arrives.
				lines, stderr = startKubectl(t, config, "attach", "-n", streamsNamespace, pod)
				prefix := "written while kubectl attach is attached to " + m.Name + " #"
				written := 0
				var got string
				err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
				printed:
					for {
						select {
						case line, ok := <-lines:
							if !ok {
								return false, fmt.Errorf("kubectl attach ended: %s", stderr)
							}
							if strings.HasPrefix(line, prefix) {
								got = line
								return true, nil
							}
						default:
							break printed
						}
					}
					written++
					return false, m.AppendKwokPodLog(prefix + strconv.Itoa(written))
				})
				if err != nil {
					t.Fatalf("kubectl attach printed none of the %d lines written in 30 s: %v", written, err)
				}
				if n, err := strconv.Atoi(strings.TrimPrefix(got, prefix)); err != nil || n < 1 || n > written {
					t.Errorf("kubectl attach printed %q, not one of the %d lines written", got, written)
				}

				// port-forward: kwok forwards the pod's port 8080 to a listener of the test's.
				address, err := m.KwokPortForwardAddress()
				if err != nil {
					t.Fatal(err)
				}
				listener, err := net.Listen("tcp", address)
				if err != nil {
					t.Fatalf("listening where kwok forwards pods' ports: %v", err)
				}
				body := "served to kubectl port-forward in " + m.Name
				server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, body)
				}))
				_ = server.Listener.Close()
				server.Listener = listener
				server.Start()
				t.Cleanup(server.Close)
				localPort, err := framework.FreePort()
				if err != nil {
					t.Fatal(err)
				}
				lines, stderr = startKubectl(t, config, "port-forward", "-n", streamsNamespace, "pod/"+pod, "--address=127.0.0.1", strconv.Itoa(localPort)+":8080")
				waitLine(t, lines, "Forwarding from 127.0.0.1:"+strconv.Itoa(localPort)+" -> 8080", stderr)
				client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
				var last string
				err = wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
					response, err := client.Get("http://127.0.0.1:" + strconv.Itoa(localPort) + "/")
					if err != nil {
						last = err.Error()
						return false, nil
					}
					defer response.Body.Close()
					data, err := io.ReadAll(response.Body)
					last = fmt.Sprintf("%s %q %v", response.Status, data, err)
					return response.StatusCode == http.StatusOK && string(data) == body, nil
				})
				if err != nil {
					t.Fatalf("GET through kubectl port-forward: last %s, want 200 %q; kubectl: %s", last, body, stderr)
				}

				if m.Agent == nil {
					return
				}
				agentLog := readLog(t, m.Agent.LogPath)
				for _, subresource := range []string{"log", "attach", "portforward"} {
					if want := `path="/api/v1/namespaces/` + streamsNamespace + `/pods/` + pod + `/` + subresource + `"`; !strings.Contains(agentLog, want) {
						t.Errorf("the agent's log has no line proxying %s", want)
					}
				}
			})
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

// startKubectl starts kubectl in the background, for commands that run until
// they are stopped (logs -f, attach, port-forward); it is killed when the
// test ends. lines are the lines of its standard output, closed when it
// ends, and stderr what it wrote to its standard error.
func startKubectl(t *testing.T, kubeconfig string, args ...string) (lines <-chan string, stderr *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out := make(chan string, 100)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			out <- scanner.Text()
		}
		close(out)
	}()
	return out, stderr
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
