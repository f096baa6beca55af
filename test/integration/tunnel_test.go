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

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	agenttunnel "github.com/fedhub/fedhub/pkg/agent/tunnel"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

// TestTunnel: the attach subresource through fedhub's whole handler chain.
// The agent's end (agent tunnel.Dial and MemberProxy) serves a fake member;
// this process's tunnel.Default reaches it as the proxy subresource does.
// Only the agent's identity may open its cluster's tunnel.
func TestTunnel(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	registrations := server.client.AgentV1alpha1().ClusterRegistrations(federationNamespace)
	for name, approved := range map[string]bool{"tunnel-1": true, "tunnel-2": false} {
		if _, err := registrations.Create(ctx, &agentv1alpha1.ClusterRegistration{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: approved},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The agent of NAME, as the admin impersonating it (standalone mode
	// authorizes system:masters only).
	agentConfig := func(name string) *rest.Config {
		c := rest.CopyConfig(server.config)
		c.Impersonate = rest.ImpersonationConfig{UserName: agentidentity.AgentUser(name), Groups: []string{"system:masters", "system:authenticated"}}
		return c
	}
	// Refusals: another user than the agent (even system:masters), a
	// registration that is not approved or missing, a GET that is no upgrade.
	for _, refusal := range []struct {
		config  *rest.Config
		cluster string
		status  int
		message string
	}{
		{server.config, "tunnel-1", http.StatusForbidden, "only the agent of cluster tunnel-1 (system:serviceaccount:fedhub-agents:agent-tunnel-1) may open its tunnel"},
		{agentConfig("tunnel-2"), "tunnel-1", http.StatusForbidden, "only the agent of cluster tunnel-1"},
		{agentConfig("tunnel-2"), "tunnel-2", http.StatusForbidden, "cluster registration tunnel-2 is not approved"},
		{agentConfig("tunnel-9"), "tunnel-9", http.StatusNotFound, "not found"},
	} {
		_, err := agenttunnel.Dial(ctx, refusal.config, federationNamespace, refusal.cluster)
		var refused *tunnel.RefusedError
		if !errors.As(err, &refused) || refused.StatusCode != refusal.status || !strings.Contains(refused.Body, refusal.message) {
			t.Errorf("the tunnel of %s as %s: %v, want %d %q", refusal.cluster, refusal.config.Impersonate.UserName, err, refusal.status, refusal.message)
		}
	}
	httpClient, err := rest.HTTPClientFor(agentConfig("tunnel-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Get(server.config.Host + tunnel.AttachPath(federationNamespace, "tunnel-1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Upgrade: fedhub-tunnel") {
		t.Errorf("a GET of attach without an upgrade: %d %s", resp.StatusCode, body)
	}

	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"path": req.URL.Path, "user": req.Header.Get("Impersonate-User")})
	}))
	defer member.Close()
	memberProxy, err := agenttunnel.NewMemberProxy(&rest.Config{Host: member.URL})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := agenttunnel.Dial(ctx, agentConfig("tunnel-1"), federationNamespace, "tunnel-1")
	if err != nil {
		t.Fatal(err)
	}
	session, err := yamux.Client(conn, tunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	go (&http.Server{Handler: memberProxy}).Serve(session)

	get := func() (map[string]string, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://tunnel-1/api/v1/namespaces", nil)
		req.Header.Set("Impersonate-User", "fedhub:alice")
		resp, err := (&http.Client{Transport: tunnel.Default.Transport("tunnel-1"), Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var got map[string]string
		return got, json.NewDecoder(resp.Body).Decode(&got)
	}
	var got map[string]string
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		got, err = get()
		return err == nil, nil
	}); err != nil {
		t.Fatalf("a request through the tunnel: %v", err)
	}
	if got["path"] != "/api/v1/namespaces" || got["user"] != "fedhub:alice" {
		t.Fatalf("the member got %v", got)
	}

	// Revoking the registration closes the tunnel (checked every 10 s).
	if err := registrations.Delete(ctx, "tunnel-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-session.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatal("the tunnel of a deleted registration stayed open")
	}
	if _, err := get(); !tunnel.IsNotConnected(err) {
		t.Fatalf("a request after the revocation: %v", err)
	}
}
