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
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// pair returns fedhub's session and the agent's on a net.Pipe; the agent's
// end answers every stream with "hello from NAME".
func pair(t *testing.T, name string) (server, client *yamux.Session) {
	t.Helper()
	a, b := net.Pipe()
	server, err := yamux.Server(a, Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	client, err = yamux.Client(b, Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			stream, err := client.Accept()
			if err != nil {
				return
			}
			go func() {
				defer stream.Close()
				fmt.Fprintf(stream, "hello from %s\n", name)
			}()
		}
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func greeting(t *testing.T, r *Registry, cluster string) string {
	t.Helper()
	conn, err := r.DialContext(context.Background(), cluster)
	if err != nil {
		t.Fatalf("dialling %s: %v", cluster, err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading from %s: %v", cluster, err)
	}
	return strings.TrimSpace(line)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()

	_, err := r.DialContext(context.Background(), "member-2")
	if !IsNotConnected(err) || err.Error() != "cluster member-2 has no tunnel to this fedhub replica: its fedhub-agent is not connected" {
		t.Fatalf("dialling a cluster without a tunnel: %v", err)
	}

	first, _ := pair(t, "first")
	r.Register("member-2", first)
	if got := greeting(t, r, "member-2"); got != "hello from first" {
		t.Fatalf("got %q", got)
	}
	if ok, since := r.Connected("member-2"); !ok || since.IsZero() {
		t.Fatalf("Connected = %v, %v", ok, since)
	}

	// A newer tunnel replaces the older one, which is closed.
	second, _ := pair(t, "second")
	r.Register("member-2", second)
	if got := greeting(t, r, "member-2"); got != "hello from second" {
		t.Fatalf("after the replacement got %q", got)
	}
	eventually(t, "the replaced session to close", first.IsClosed)
	// Its closing does not remove the newer one.
	time.Sleep(50 * time.Millisecond)
	if got := r.Clusters(); len(got) != 1 || got[0] != "member-2" {
		t.Fatalf("Clusters = %v", got)
	}

	// A session closed by the agent's end is removed.
	third, agent := pair(t, "third")
	r.Register("member-3", third)
	agent.Close()
	eventually(t, "the closed session to be removed", func() bool {
		ok, _ := r.Connected("member-3")
		return !ok
	})
	if _, err := r.DialContext(context.Background(), "member-3"); !IsNotConnected(err) {
		t.Fatalf("dialling a closed tunnel: %v", err)
	}

	// Close ends a tunnel.
	r.Close("member-2")
	eventually(t, "Close to close the session", second.IsClosed)
	if got := r.Clusters(); len(got) != 0 {
		t.Fatalf("Clusters after Close = %v", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.DialContext(ctx, "member-2"); err != context.Canceled {
		t.Fatalf("dialling with an ended context: %v", err)
	}
}

// TestTransport: HTTP requests through Transport are served by the agent's end.
func TestTransport(t *testing.T) {
	r := NewRegistry()
	a, b := net.Pipe()
	server, err := yamux.Server(a, Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	client, err := yamux.Client(b, Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	go (&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "%s %s", req.Method, req.URL.Path)
	})}).Serve(client)
	r.Register("member-2", server)

	httpClient := &http.Client{Transport: r.Transport("member-2")}
	for range 3 {
		resp, err := httpClient.Get("http://member-2/api/v1/namespaces")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "GET /api/v1/namespaces" {
			t.Fatalf("got %q", body)
		}
	}
	if r.Transport("member-2") != r.Transport("member-2") {
		t.Fatal("Transport is not kept per cluster")
	}
	_, err = (&http.Client{Transport: r.Transport("member-9")}).Get("http://member-9/")
	if !IsNotConnected(err) {
		t.Fatalf("a request to a cluster without a tunnel: %v", err)
	}
}

// TestAccept: a 101 answer to an upgrade, 400 to anything else.
func TestAccept(t *testing.T) {
	sessions := make(chan *yamux.Session, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := Accept(w, req)
		if err == nil {
			sessions <- s
		}
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a plain GET: %d", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", Protocol)
	reader := bufio.NewReader(conn)
	answer, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if answer.StatusCode != http.StatusSwitchingProtocols || answer.Header.Get("Upgrade") != Protocol {
		t.Fatalf("answer %d %v", answer.StatusCode, answer.Header)
	}
	client, err := yamux.Client(conn, Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-sessions
	defer server.Close()
	go func() {
		stream, err := client.Accept()
		if err == nil {
			io.WriteString(stream, "pong")
			stream.Close()
		}
	}()
	stream, err := server.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(stream)
	if string(got) != "pong" {
		t.Fatalf("got %q", got)
	}
}
