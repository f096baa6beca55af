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
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/test/framework"
)

// member2Registration is the agent's tunnel subresource of member-2, which
// replicas also upgrade to ask each other for streams.
const member2Registration = "/apis/agent.fedhub.io/v1alpha1/namespaces/kube-federation-system/clusterregistrations/member-2/attach"

// peerReplicaSubtests: two fedhub replicas share one etcd, and the host's
// aggregator reaches only the first, so member-2's agent holds its tunnel
// there. A request sent straight to the second replica reaches member-2
// through the first (docs/ha.md, "Cluster access through pull tunnels").
func peerReplicaSubtests(t *testing.T, f *framework.Federation) {
	if len(f.FedhubReplicas) < 2 {
		t.Fatal("these subtests need two fedhub replicas")
	}
	holder, other := f.FedhubReplicas[0], f.FedhubReplicas[1]
	member := f.Members[1]

	t.Run("the tunnel's holder is recorded in fedhub's etcd", func(t *testing.T) {
		client, err := clientv3.New(clientv3.Config{Endpoints: f.FedhubEtcd.ClientURLs(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		want := strings.TrimPrefix(holder.URL, "https://")
		var got string
		err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			response, err := client.Get(ctx, "/registry/fedhub/tunnels/member-2")
			if err != nil || len(response.Kvs) == 0 {
				return false, nil
			}
			var record struct{ Address string }
			if err := json.Unmarshal(response.Kvs[0].Value, &record); err != nil {
				return false, err
			}
			got = record.Address
			return got == want, nil
		})
		if err != nil {
			t.Fatalf("the record of member-2's tunnel names %q, want the first replica, %q: %v", got, want, err)
		}
	})

	t.Run("the replica without member-2's tunnel reaches member-2 through the holder: get, logs, exec", func(t *testing.T) {
		const namespace, pod = "peer-pods", "peer-pod"
		mustKubectlAs(t, member.AdminKubeconfig, "create", "namespace", namespace)
		mustKubectlAs(t, member.AdminKubeconfig, "run", pod, "-n", namespace, "--image=registry.k8s.io/pause:3.10", "--restart=Never")
		mustKubectlAs(t, member.AdminKubeconfig, "wait", "-n", namespace, "pod/"+pod, "--for=jsonpath={.status.phase}=Running", "--timeout=60s")

		config := other.AdminConfig(f.Host)
		config.Host = other.URL + member2Proxy
		kubeconfig := filepath.Join(t.TempDir(), "member-2-through-replica-1.kubeconfig")
		if err := framework.WriteKubeconfig(kubeconfig, "member-2-through-replica-1", config); err != nil {
			t.Fatal(err)
		}
		if got := mustKubectlAs(t, kubeconfig, "get", "pod", "-n", namespace, pod, "-o", "jsonpath={.status.phase}"); got != "Running" {
			t.Errorf("kubectl get pod through the second replica: phase %q, want Running", got)
		}
		if got := mustKubectlAs(t, kubeconfig, "logs", "-n", namespace, pod); got != framework.KwokPodLog+"\n" {
			t.Errorf("kubectl logs through the second replica = %q, want %q", got, framework.KwokPodLog+"\n")
		}
		if got := mustKubectlAs(t, kubeconfig, "exec", "-n", namespace, pod, "--", "echo", "ok"); got != "ok\n" {
			t.Errorf("kubectl exec -- echo ok through the second replica = %q, want %q", got, "ok\n")
		}
		// The second replica holds no tunnel: the agent served the exec on
		// the holder's stream.
		if log := readLog(t, member.Agent.LogPath); !strings.Contains(log, `path="/api/v1/namespaces/`+namespace+`/pods/`+pod+`/exec"`) {
			t.Error("the agent's log has no line proxying the exec")
		}
	})

	t.Run("no one but fedhub itself gets a peer stream, not even system:masters", func(t *testing.T) {
		for _, replica := range f.FedhubReplicas {
			config := replica.AdminConfig(f.Host)
			config.NextProtos = []string{"http/1.1"}
			transport, err := rest.TransportFor(config)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(http.MethodGet, replica.URL+member2Registration, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "fedhub-tunnel-peer")
			resp, err := transport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "only the agent of cluster member-2") {
				t.Errorf("the host's admin asking %s for a peer stream: %s %s, want 403", replica.URL, resp.Status, body)
			}
		}
	})
}
