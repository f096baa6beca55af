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

package clusterproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestImpersonationFor(t *testing.T) {
	for _, tc := range []struct {
		name       string
		user       user.Info
		wantName   string
		wantGroups []string
	}{
		{"user and groups", &user.DefaultInfo{Name: "alice", Groups: []string{"team-a", "system:authenticated"}},
			"fedhub:alice", []string{"fedhub:team-a", "fedhub:system:authenticated"}},
		{"system:admin in system:masters stays prefixed", &user.DefaultInfo{Name: "system:admin", Groups: []string{"system:masters"}},
			"fedhub:system:admin", []string{"fedhub:system:masters"}},
		{"no groups", &user.DefaultInfo{Name: "bob"}, "fedhub:bob", nil},
		{"UID and extra are not forwarded", &user.DefaultInfo{Name: "carol", UID: "42", Extra: map[string][]string{"scopes": {"x"}}},
			"fedhub:carol", nil},
		{"a name that has the prefix is prefixed again", &user.DefaultInfo{Name: "fedhub:dave", Groups: []string{"fedhub:x"}},
			"fedhub:fedhub:dave", []string{"fedhub:fedhub:x"}},
		{"a service account", &user.DefaultInfo{Name: "system:serviceaccount:ns:sa", Groups: []string{"system:serviceaccounts"}},
			"fedhub:system:serviceaccount:ns:sa", []string{"fedhub:system:serviceaccounts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, groups := ImpersonationFor(tc.user)
			if name != tc.wantName || !slices.Equal(groups, tc.wantGroups) {
				t.Errorf("got %q %q, want %q %q", name, groups, tc.wantName, tc.wantGroups)
			}
		})
	}
}

// clientHeaders are what a client could send to choose an identity in the member.
func clientHeaders() http.Header {
	h := http.Header{}
	h.Set("Impersonate-User", "admin")
	h.Add("Impersonate-Group", "system:masters")
	h.Set("Impersonate-Uid", "1")
	h.Set("Impersonate-Extra-Scopes", "all")
	h.Set("Authorization", "Bearer client-token")
	h.Set("Proxy-Authorization", "Basic x")
	h.Set("X-Remote-User", "admin")
	h.Set("X-Remote-Group", "system:masters")
	h.Set("X-Remote-Extra-Scopes", "all")
	h.Set("Accept", "application/json")
	return h
}

func TestStripClientHeaders(t *testing.T) {
	h := clientHeaders()
	h["impersonate-user"] = []string{"not canonical"}
	StripClientHeaders(h)
	if len(h) != 1 || h.Get("Accept") != "application/json" {
		t.Errorf("left %v, want only Accept", h)
	}
}

// echo answers with the method, path, query and headers it got.
type echoed struct {
	Method, Path, Query string
	Header              http.Header
}

func echo(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{req.Method, req.URL.Path, req.URL.RawQuery, req.Header})
}

// pushMember returns a KubeFedCluster and its Secret for a TLS server.
func pushMember(t *testing.T, server *httptest.Server) (*corev1beta1.KubeFedCluster, *fake.Clientset) {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	cluster := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-1", Namespace: "kube-federation-system", UID: "u1", ResourceVersion: "1"},
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: server.URL, SecretRef: corev1beta1.LocalSecretReference{Name: "member-1-secret"}},
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "member-1-secret", Namespace: "kube-federation-system", ResourceVersion: "1"},
		Data:       map[string][]byte{"token": []byte("member-token\n"), "ca.crt": ca},
	}
	return cluster, fake.NewClientset(secret)
}

// recorder is a rest.Responder that keeps what it was given.
type recorder struct{ err error }

func (r *recorder) Object(int, runtime.Object) {}
func (r *recorder) Error(err error)            { r.err = err }

var alice = &user.DefaultInfo{Name: "alice", Groups: []string{"team-a", "system:authenticated"}, UID: "7",
	Extra: map[string][]string{"scopes": {"x"}}}

// serve runs the handler Proxy gives for path, as the generic server would
// after Connect, for the requests of a test server.
func serve(t *testing.T, p *Proxy, cluster *corev1beta1.KubeFedCluster, responder *recorder) *httptest.Server {
	t.Helper()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := request.WithUser(req.Context(), alice)
		path := strings.TrimPrefix(req.URL.Path, "/proxy")
		handler, err := p.Handler(ctx, cluster, path, responder)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, req.WithContext(ctx))
	}))
	t.Cleanup(front.Close)
	return front
}

func TestProxyHeaders(t *testing.T) {
	member := httptest.NewTLSServer(http.HandlerFunc(echo))
	defer member.Close()
	cluster, host := pushMember(t, member)
	front := serve(t, New(host, nil), cluster, &recorder{})

	req, _ := http.NewRequest(http.MethodPatch, front.URL+"/proxy/api/v1/namespaces/a/configmaps/b?fieldManager=kubectl&force=true", strings.NewReader("{}"))
	req.Header = clientHeaders()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got echoed
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPatch || got.Path != "/api/v1/namespaces/a/configmaps/b" || got.Query != "fieldManager=kubectl&force=true" {
		t.Errorf("member got %s %s?%s", got.Method, got.Path, got.Query)
	}
	checkIdentity(t, got.Header, "Bearer member-token")
}

// checkIdentity checks that the member saw fedhub's credentials (none for a
// pull member) and alice's prefixed identity, and nothing the client sent.
func checkIdentity(t *testing.T, h http.Header, authorization string) {
	t.Helper()
	if got := h.Get("Authorization"); got != authorization {
		t.Errorf("Authorization %q, want %q", got, authorization)
	}
	if got := h.Values("Impersonate-User"); !slices.Equal(got, []string{"fedhub:alice"}) {
		t.Errorf("Impersonate-User %q", got)
	}
	if got := h.Values("Impersonate-Group"); !slices.Equal(got, []string{"fedhub:team-a", "fedhub:system:authenticated"}) {
		t.Errorf("Impersonate-Group %q", got)
	}
	for key := range h {
		switch lower := strings.ToLower(key); {
		case lower == "impersonate-user" || lower == "impersonate-group" || lower == "authorization":
		case strings.HasPrefix(lower, "impersonate-") || strings.HasPrefix(lower, "x-remote-") || lower == "proxy-authorization":
			t.Errorf("the member got the client's header %s: %q", key, h[key])
		}
	}
}

// upgrader accepts an upgrade to "test", reports the request's headers on
// the connection, then echoes what it reads.
func upgrader(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Upgrade") != "test" {
		http.Error(w, "upgrade required", http.StatusBadRequest)
		return
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	headers, _ := json.Marshal(echoed{req.Method, req.URL.Path, req.URL.RawQuery, req.Header})
	_, _ = rw.Write(append(headers, '\n'))
	_ = rw.Flush()
	_, _ = io.Copy(conn, rw)
}

// upgradeThrough sends an upgrade request through front and checks that the
// connection reaches the member with the right identity and carries data both ways.
func upgradeThrough(t *testing.T, front *httptest.Server, authorization string) {
	t.Helper()
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/proxy/api/v1/namespaces/a/pods/p/exec?command=echo&stdout=true", nil)
	req.Header = clientHeaders()
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var got echoed
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if got.Path != "/api/v1/namespaces/a/pods/p/exec" || got.Query != "command=echo&stdout=true" {
		t.Errorf("member got %s?%s", got.Path, got.Query)
	}
	checkIdentity(t, got.Header, authorization)
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if back, err := r.ReadString('\n'); err != nil || back != "ping\n" {
		t.Errorf("echo %q, %v", back, err)
	}
}

func TestProxyUpgrade(t *testing.T) {
	member := httptest.NewUnstartedServer(http.HandlerFunc(upgrader))
	member.StartTLS()
	defer member.Close()
	cluster, host := pushMember(t, member)
	upgradeThrough(t, serve(t, New(host, nil), cluster, &recorder{}), "Bearer member-token")
}

// connectProxy is an HTTP proxy that serves CONNECT only and records the
// addresses it tunnels to.
type connectProxy struct {
	mu      sync.Mutex
	targets []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, req.Host)
	p.mu.Unlock()
	target, err := net.Dial("tcp", req.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		target.Close()
		return
	}
	_, _ = rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
	_ = rw.Flush()
	go func() { _, _ = io.Copy(target, rw); target.Close() }()
	_, _ = io.Copy(conn, target)
	conn.Close()
}

func (p *connectProxy) tunnels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}

// TestProxyUpgradeThroughSpecProxy: a member behind spec.proxyURL is
// reached through that proxy for upgrades too (proxy.DialURL alone would
// dial the member directly).
func TestProxyUpgradeThroughSpecProxy(t *testing.T) {
	member := httptest.NewUnstartedServer(http.HandlerFunc(upgrader))
	member.StartTLS()
	defer member.Close()
	connect := &connectProxy{}
	proxyServer := httptest.NewServer(connect)
	defer proxyServer.Close()
	cluster, host := pushMember(t, member)
	cluster.Spec.ProxyURL = proxyServer.URL
	upgradeThrough(t, serve(t, New(host, nil), cluster, &recorder{}), "Bearer member-token")
	memberAddr := member.Listener.Addr().String()
	if got := connect.tunnels(); len(got) == 0 || !slices.Contains(got, memberAddr) {
		t.Errorf("the proxy tunnelled to %v, want %s", got, memberAddr)
	}
}

// dialer reaches a pull member's "agent", here a plain HTTP server.
type dialer struct{ addr string }

func (d dialer) DialContext(ctx context.Context, cluster string) (net.Conn, error) {
	if cluster != "member-2" {
		return nil, ErrTunnelNotConnected
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", d.addr)
}

func pullMember() *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2", Namespace: "kube-federation-system"},
		Spec:       corev1beta1.KubeFedClusterSpec{Mode: corev1beta1.ClusterModePull, APIEndpoint: "https://member-2:6443"},
	}
}

func TestProxyPull(t *testing.T) {
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Upgrade") != "" {
			upgrader(w, req)
			return
		}
		echo(w, req)
	}))
	defer agent.Close()
	front := serve(t, New(nil, dialer{agent.Listener.Addr().String()}), pullMember(), &recorder{})
	req, _ := http.NewRequest(http.MethodGet, front.URL+"/proxy/api/v1/pods?watch=true", nil)
	req.Header = clientHeaders()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got echoed
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Path != "/api/v1/pods" || got.Query != "watch=true" {
		t.Errorf("agent got %s?%s", got.Path, got.Query)
	}
	checkIdentity(t, got.Header, "")
	upgradeThrough(t, front, "")
}

func TestProxyUnreachable(t *testing.T) {
	ctx := request.WithUser(context.Background(), alice)
	// A pull member without tunnels: 503 at once.
	_, err := New(nil, nil).Handler(ctx, pullMember(), "/api", &recorder{})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "cluster member-2 is a pull member; its agent's tunnel is not connected") {
		t.Errorf("pull member without tunnels: %v", err)
	}
	// A pull member whose agent is not connected: 503 from the handler.
	other := pullMember()
	other.Name = "member-3"
	responder := &recorder{}
	handler, err := New(nil, dialer{}).Handler(ctx, other, "/api", responder)
	if err != nil {
		t.Fatal(err)
	}
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api", nil).WithContext(ctx))
	if !apierrors.IsServiceUnavailable(responder.err) || !strings.Contains(responder.err.Error(), "cluster member-3 is a pull member; its agent's tunnel is not connected") {
		t.Errorf("pull member not connected: %v", responder.err)
	}
	// A push member without a host to read its Secret from.
	member := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "m"}, Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://m"}}
	if _, err := New(nil, nil).Handler(ctx, member, "/api", &recorder{}); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("push member without a host: %v", err)
	}
	// No user: refused.
	if _, err := New(nil, nil).Handler(context.Background(), member, "/api", &recorder{}); !apierrors.IsForbidden(err) {
		t.Errorf("no user: %v", err)
	}
	// A missing Secret: 503 naming it.
	if _, err := New(fake.NewClientset(), nil).Handler(ctx, member, "/api", &recorder{}); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("missing Secret: %v", err)
	}
}

// TestAudit: every proxied request is logged at -v=2 with the hub user, the
// cluster, the method and the path.
func TestAudit(t *testing.T) {
	var flags flag.FlagSet
	klog.InitFlags(&flags)
	_ = flags.Set("v", "2")
	_ = flags.Set("logtostderr", "false")
	var logs bytes.Buffer
	klog.SetOutput(&logs)
	t.Cleanup(func() {
		_ = flags.Set("v", "0")
		_ = flags.Set("logtostderr", "true")
	})
	member := httptest.NewTLSServer(http.HandlerFunc(echo))
	defer member.Close()
	cluster, host := pushMember(t, member)
	front := serve(t, New(host, nil), cluster, &recorder{})
	resp, err := http.Post(front.URL+"/proxy/api/v1/namespaces/a/configmaps", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	klog.Flush()
	want := `"Proxying to member" user="alice" cluster="member-1" verb="POST" path="/api/v1/namespaces/a/configmaps"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log %q lacks %s", logs.String(), want)
	}
}
