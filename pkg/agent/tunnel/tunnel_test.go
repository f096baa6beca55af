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

package tunnel

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"k8s.io/client-go/rest"

	fedhubtunnel "github.com/fedhub/fedhub/pkg/tunnel"
)

// seen is what the fake member received.
type seen struct {
	Method, Path, Query string
	Header              http.Header
}

// fakeMember answers a request with what it received (JSON), and an
// upgrade with 101 then an echo of every byte.
func fakeMember(t *testing.T) (*httptest.Server, chan seen) {
	received := make(chan seen, 10)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := seen{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone()}
		received <- s
		if req.Header.Get("Upgrade") != "" {
			conn, buffered, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(buffered, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", req.Header.Get("Upgrade"))
			buffered.Flush()
			io.Copy(conn, buffered)
			return
		}
		json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(member.Close)
	return member, received
}

// throughTunnel serves handler at the agent's end of a yamux session on a
// pipe and returns fedhub's registry holding the other end as "member-2".
func throughTunnel(t *testing.T, handler http.Handler) *fedhubtunnel.Registry {
	a, b := net.Pipe()
	server, err := yamux.Server(a, fedhubtunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	client, err := yamux.Client(b, fedhubtunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	go (&http.Server{Handler: handler}).Serve(client)
	t.Cleanup(func() { server.Close(); client.Close() })
	registry := fedhubtunnel.NewRegistry()
	registry.Register("member-2", server)
	return registry
}

func TestMemberProxy(t *testing.T) {
	member, received := fakeMember(t)
	p, err := NewMemberProxy(&rest.Config{Host: member.URL, BearerToken: "agent-member-token"})
	if err != nil {
		t.Fatal(err)
	}
	registry := throughTunnel(t, p)
	client := &http.Client{Transport: registry.Transport("member-2")}

	send := func(header http.Header) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://member-2/api/v1/namespaces?watch=true&timeoutSeconds=30", nil)
		req.Header = header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("prefixed impersonation passes, the rest is dropped", func(t *testing.T) {
		header := http.Header{}
		header.Set("Impersonate-User", "fedhub:alice")
		header.Add("Impersonate-Group", "fedhub:team-a")
		header.Add("Impersonate-Group", "system:masters")
		header.Add("Impersonate-Group", "fedhub:system:authenticated")
		header.Set("Impersonate-Uid", "1234")
		header.Set("Impersonate-Extra-Scopes", "all")
		header.Set("Authorization", "Bearer the-hub-users-token")
		header.Set("Proxy-Authorization", "Basic x")
		header.Set("X-Remote-User", "admin")
		header.Set("X-Remote-Group", "system:masters")
		header.Set("Accept", "application/json")
		resp := send(header)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		got := <-received
		if got.Path != "/api/v1/namespaces" || got.Query != "watch=true&timeoutSeconds=30" || got.Method != http.MethodGet {
			t.Errorf("the member got %s %s?%s", got.Method, got.Path, got.Query)
		}
		if v := got.Header.Values("Impersonate-User"); !reflect.DeepEqual(v, []string{"fedhub:alice"}) {
			t.Errorf("Impersonate-User %v", v)
		}
		if v := got.Header.Values("Impersonate-Group"); !reflect.DeepEqual(v, []string{"fedhub:team-a", "fedhub:system:authenticated"}) {
			t.Errorf("Impersonate-Group %v", v)
		}
		if v := got.Header.Get("Authorization"); v != "Bearer agent-member-token" {
			t.Errorf("Authorization %q: not the agent's member credentials", v)
		}
		for key := range got.Header {
			lower := strings.ToLower(key)
			if lower == "impersonate-uid" || strings.HasPrefix(lower, "impersonate-extra-") || strings.HasPrefix(lower, "x-remote-") ||
				lower == "proxy-authorization" {
				t.Errorf("the member got %s: %v", key, got.Header[key])
			}
		}
		if got.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q", got.Header.Get("Accept"))
		}
	})

	for name, header := range map[string]http.Header{
		"no impersonation":            {},
		"an unprefixed user":          {"Impersonate-User": {"admin"}},
		"the prefix alone":            {"Impersonate-User": {"fedhub:"}},
		"two users":                   {"Impersonate-User": {"fedhub:alice", "fedhub:bob"}},
		"only groups":                 {"Impersonate-Group": {"fedhub:team-a"}},
		"a user in X-Remote-User":     {"X-Remote-User": {"fedhub:alice"}},
		"an unprefixed user, masters": {"Impersonate-User": {"system:admin"}, "Impersonate-Group": {"system:masters"}},
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			resp := send(header)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "impersonate a hub user") {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			select {
			case got := <-received:
				t.Fatalf("the member was reached: %+v", got)
			default:
			}
		})
	}

	t.Run("an upgraded connection", func(t *testing.T) {
		conn, err := registry.DialContext(context.Background(), "member-2")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, "POST /api/v1/namespaces/default/pods/p/exec?command=echo HTTP/1.1\r\nHost: member-2\r\n"+
			"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\n"+
			"Impersonate-User: fedhub:alice\r\nImpersonate-Group: system:masters\r\nAuthorization: Bearer x\r\nContent-Length: 0\r\n\r\n")
		reader := bufio.NewReader(conn)
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "SPDY/3.1" {
			t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
		}
		got := <-received
		if got.Path != "/api/v1/namespaces/default/pods/p/exec" || got.Header.Get("Impersonate-User") != "fedhub:alice" ||
			len(got.Header.Values("Impersonate-Group")) != 0 || got.Header.Get("Authorization") != "Bearer agent-member-token" ||
			got.Header.Get("X-Stream-Protocol-Version") != "v5.channel.k8s.io" {
			t.Fatalf("the member got %+v", got)
		}
		for _, message := range []string{"ping\n", "ok\n"} {
			if _, err := io.WriteString(conn, message); err != nil {
				t.Fatal(err)
			}
			line, err := reader.ReadString('\n')
			if err != nil || line != message {
				t.Fatalf("echo %q, %v", line, err)
			}
		}
	})
}

// TestMemberProxyBasePath: a member address with a path keeps it.
func TestMemberProxyBasePath(t *testing.T) {
	member, received := fakeMember(t)
	p, err := NewMemberProxy(&rest.Config{Host: member.URL + "/k8s/clusters/c-1"})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil)
	req.Header.Set("Impersonate-User", "fedhub:alice")
	w := httptest.NewRecorder()
	p.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := <-received; got.Path != "/k8s/clusters/c-1/api/v1/pods" {
		t.Fatalf("the member got %s", got.Path)
	}
}

// TestRunReconnects: a tunnel that closes is opened again, with backoff.
func TestRunReconnects(t *testing.T) {
	registry := fedhubtunnel.NewRegistry()
	var mu sync.Mutex
	var dials []time.Time
	fail := 2 // the first two dials after the first tunnel fail
	dial := func(ctx context.Context) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dials = append(dials, time.Now())
		if len(dials) > 1 && fail > 0 {
			fail--
			return nil, &fedhubtunnel.RefusedError{StatusCode: http.StatusServiceUnavailable, Body: "fedhub is restarting"}
		}
		a, b := net.Pipe()
		go func() {
			server, err := yamux.Server(a, fedhubtunnel.Config(io.Discard))
			if err == nil {
				registry.Register("member-2", server)
			}
		}()
		return b, nil
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { io.WriteString(w, "ok") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Options{Cluster: "member-2", Handler: handler, dial: dial,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, StableAfter: time.Hour})
	}()

	get := func() error {
		resp, err := (&http.Client{Transport: registry.Transport("member-2"), Timeout: 5 * time.Second}).Get("http://member-2/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "ok" {
			return fmt.Errorf("got %q", body)
		}
		return nil
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for get() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %v", what, get())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the tunnel")
	registry.Close("member-2") // fedhub's end goes away
	waitFor("the tunnel to come back")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dials) != 4 {
		t.Fatalf("%d dials, want 4 (the first, two refused, the one that worked)", len(dials))
	}
	// Waits: ≥ 20 ms, ≥ 40 ms, ≥ 80 ms (doubling, jitter on top).
	for i, least := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if gap := dials[i+1].Sub(dials[i]); gap < least {
			t.Errorf("wait %d was %v, less than %v", i+1, gap, least)
		}
	}
}
