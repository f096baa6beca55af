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

package clusterregistration_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/pkg/tunnel"
	"github.com/fedhub/fedhub/registry/agent/clusterregistration"
)

// getter serves registrations from a map.
type getter map[string]*agent.ClusterRegistration

func (g getter) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if r, ok := g[name]; ok {
		return r, nil
	}
	return nil, apierrors.NewNotFound(agent.Resource("clusterregistrations"), name)
}

func TestTunnelConnect(t *testing.T) {
	registrations := getter{
		"member-1": {ObjectMeta: metav1.ObjectMeta{Name: "member-1"}, Spec: agent.ClusterRegistrationSpec{Approved: true}},
		"member-3": {ObjectMeta: metav1.ObjectMeta{Name: "member-3"}},
	}
	tunnels := tunnel.NewRegistry()
	r := clusterregistration.NewTunnelREST(registrations, tunnels, fedhubIs(fedhubUser))
	as := func(name string, groups ...string) context.Context {
		ctx := genericapirequest.WithNamespace(context.Background(), "kube-federation-system")
		return genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: name, Groups: groups})
	}
	for _, refused := range []struct {
		ctx     context.Context
		cluster string
		want    func(error) bool
		message string
	}{
		{as("admin", "system:masters"), "member-1", apierrors.IsForbidden, "only the agent of cluster member-1 (system:serviceaccount:fedhub-agents:agent-member-1) may open its tunnel"},
		{as("system:serviceaccount:fedhub-agents:agent-member-2"), "member-1", apierrors.IsForbidden, "only the agent of cluster member-1"},
		{as("system:serviceaccount:fedhub-agents:bootstrap-member-1"), "member-1", apierrors.IsForbidden, "only the agent"},
		{as("system:serviceaccount:fedhub-agents:agent-member-3"), "member-3", apierrors.IsForbidden, "cluster registration member-3 is not approved"},
		{as("system:serviceaccount:fedhub-agents:agent-member-9"), "member-9", apierrors.IsNotFound, "not found"},
		{genericapirequest.WithNamespace(context.Background(), "kube-federation-system"), "member-1", apierrors.IsForbidden, "only the agent"},
	} {
		_, err := r.Connect(refused.ctx, refused.cluster, nil, nil)
		if !refused.want(err) || !strings.Contains(err.Error(), refused.message) {
			t.Errorf("Connect %s: %v, want %q", refused.cluster, err, refused.message)
		}
	}

	handler, err := r.Connect(as("system:serviceaccount:fedhub-agents:agent-member-1"), "member-1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	defer server.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", tunnel.Protocol)
	answer, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || answer.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("the upgrade: %v %v", answer, err)
	}
	session, err := yamux.Client(conn, tunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	go func() {
		for {
			stream, err := session.Accept()
			if err != nil {
				return
			}
			io.WriteString(stream, "member-1's agent")
			stream.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ok, _ := tunnels.Connected("member-1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tunnel was not registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stream, err := tunnels.DialContext(context.Background(), "member-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(stream); string(got) != "member-1's agent" {
		t.Fatalf("got %q", got)
	}

	t.Run("a peer replica gets a stream through the tunnel held here", func(t *testing.T) {
		peer, err := r.Connect(as(fedhubUser), "member-1", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		server := httptest.NewServer(peer)
		defer server.Close()
		if got := rawUpgrade(t, server.URL, tunnel.PeerProtocol); got != "101 member-1's agent" {
			t.Errorf("a peer's stream: %q", got)
		}
		// fedhub's identity is no agent: it cannot register a tunnel.
		if got := rawUpgrade(t, server.URL, tunnel.Protocol); !strings.HasPrefix(got, "400") {
			t.Errorf("fedhub's identity upgrading to the agent's protocol: %q, want 400", got)
		}
		noTunnel, err := r.Connect(as(fedhubUser), "member-3", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		other := httptest.NewServer(noTunnel)
		defer other.Close()
		if got := rawUpgrade(t, other.URL, tunnel.PeerProtocol); !strings.HasPrefix(got, "503") {
			t.Errorf("a peer's stream to a cluster without a tunnel here: %q, want 503", got)
		}
	})
}

// fedhubUser is fedhub's own host identity in these tests.
const fedhubUser = "system:serviceaccount:kube-federation-system:fedhub-apiserver"

// fedhubIs recognizes name as fedhub.
type fedhubIs string

func (f fedhubIs) Is(_ context.Context, u user.Info) bool { return u.GetName() == string(f) }

// rawUpgrade asks url for an upgrade to protocol and returns the status
// code, then (after 101) what the other end wrote before closing.
func rawUpgrade(t *testing.T, url, protocol string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", protocol)
	reader := bufio.NewReader(conn)
	answer, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if answer.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Sprint(answer.StatusCode)
	}
	rest, _ := io.ReadAll(reader)
	return "101 " + string(rest)
}
