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

package peers_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	restclient "k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/certs"
	"github.com/fedhub/fedhub/pkg/cmd/server"
	"github.com/fedhub/fedhub/pkg/tunnel"
	"github.com/fedhub/fedhub/pkg/tunnel/peers"
)

const prefix = "/registry/fedhub/tunnels"

func etcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	etcd, err := server.StartEmbeddedEtcd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Stop)
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.ClientURL}, TLS: etcd.ClientTLS, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// runDirectory runs a replica's directory until the test ends or stop is called.
func runDirectory(t *testing.T, client *clientv3.Client, replica string, open ...string) (d *peers.EtcdDirectory, stop func()) {
	t.Helper()
	d = peers.NewEtcdDirectory(client, prefix, peers.Record{Replica: replica, Address: replica + ":8443"}, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx, func() []string { return open }) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return d, stop
}

// holder polls d until cluster's holder is want ("" for none).
func holder(t *testing.T, d *peers.EtcdDirectory, cluster, want string) {
	t.Helper()
	var got string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		address, _, found, err := d.Holder(ctx, cluster)
		if err != nil {
			return false, err
		}
		got = address
		return found == (want != "") && address == want, nil
	})
	if err != nil {
		t.Fatalf("the holder of %s is %q, want %q: %v", cluster, got, want, err)
	}
}

func TestEtcdDirectory(t *testing.T) {
	client := etcdClient(t)
	a, stopA := runDirectory(t, client, "replica-a", "member-1")
	b, _ := runDirectory(t, client, "replica-b")

	// Run announces the tunnels open when its session starts.
	holder(t, b, "member-1", "replica-a:8443")
	if _, self, _, _ := a.Holder(context.Background(), "member-1"); !self {
		t.Error("replica-a does not see its own record as its own")
	}
	if _, self, _, _ := b.Holder(context.Background(), "member-1"); self {
		t.Error("replica-b sees replica-a's record as its own")
	}

	// A newer tunnel on b wins; a's late withdrawal leaves it.
	if err := b.Announce(context.Background(), "member-1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Withdraw(context.Background(), "member-1"); err != nil {
		t.Fatal(err)
	}
	holder(t, a, "member-1", "replica-b:8443")
	if err := b.Withdraw(context.Background(), "member-1"); err != nil {
		t.Fatal(err)
	}
	holder(t, a, "member-1", "")

	// A replica that stops takes its records with it.
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		return a.Announce(ctx, "member-2") == nil, nil
	}); err != nil {
		t.Fatal("replica-a could not announce member-2")
	}
	holder(t, b, "member-2", "replica-a:8443")
	stopA()
	holder(t, b, "member-2", "")
}

// agentSession is fedhub's end of a tunnel whose agent answers every
// stream with "hello from NAME".
func agentSession(t *testing.T, name string) *yamux.Session {
	t.Helper()
	a, b := net.Pipe()
	server, err := yamux.Server(a, tunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	client, err := yamux.Client(b, tunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			stream, err := client.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(stream, "hello from %s\n", name)
			_ = stream.Close()
		}
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server
}

// staticDirectory says every cluster's tunnel is at address.
type staticDirectory string

func (d staticDirectory) Announce(context.Context, string) error { return nil }
func (d staticDirectory) Withdraw(context.Context, string) error { return nil }
func (d staticDirectory) Holder(context.Context, string) (string, bool, bool, error) {
	return string(d), false, true, nil
}

// holderReplica serves peer streams through holder's tunnels over TLS with
// serving, to requests with the bearer token "fedhub".
func holderReplica(t *testing.T, holder *tunnel.Registry, serving *certs.KeyPair) string {
	t.Helper()
	cert, err := tls.X509KeyPair(serving.CertPEM, serving.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer fedhub" {
			http.Error(w, "not fedhub", http.StatusForbidden)
			return
		}
		parts := strings.Split(req.URL.Path, "/")
		if len(parts) < 3 || parts[len(parts)-1] != tunnel.Subresource || !tunnel.IsPeerRequest(req) {
			http.Error(w, "not a peer request: "+req.URL.Path, http.StatusBadRequest)
			return
		}
		holder.ServePeer(w, req, parts[len(parts)-2])
	}))
	server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server.StartTLS()
	t.Cleanup(server.Close)
	return strings.TrimPrefix(server.URL, "https://")
}

func TestAReplicaReachesATunnelHeldByAnother(t *testing.T) {
	ca, err := certs.NewCA("fedhub-serving-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueServing("fedhub-apiserver.kube-federation-system.svc")
	if err != nil {
		t.Fatal(err)
	}
	holder := tunnel.NewRegistry()
	holder.Register("member-1", agentSession(t, "member-1"))
	address := holderReplica(t, holder, serving)

	dialWith := func(token string, trusted *certs.KeyPair) *tunnel.Registry {
		content, err := dynamiccertificates.NewStaticCertKeyContent("serving", trusted.CertPEM, trusted.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		asker := tunnel.NewRegistry()
		asker.UsePeers(staticDirectory(address), peers.NewHTTPDialer(&restclient.Config{BearerToken: token}, content, "kube-federation-system"))
		return asker
	}

	t.Run("streams through the holder", func(t *testing.T) {
		asker := dialWith("fedhub", serving)
		for range 2 {
			conn, err := asker.DialContext(context.Background(), "member-1")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(conn)
			_ = conn.Close()
			if string(got) != "hello from member-1\n" {
				t.Fatalf("through the peer: %q", got)
			}
		}
	})
	t.Run("a cluster the holder has no tunnel for is not connected", func(t *testing.T) {
		_, err := dialWith("fedhub", serving).DialContext(context.Background(), "member-2")
		if !tunnel.IsNotConnected(err) {
			t.Fatalf("got %v, want a NotConnectedError", err)
		}
	})
	t.Run("the holder refuses other identities", func(t *testing.T) {
		_, err := dialWith("alice", serving).DialContext(context.Background(), "member-1")
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("got %v, want the holder's 403", err)
		}
	})
	t.Run("a peer whose certificate this replica's does not vouch for is not trusted", func(t *testing.T) {
		otherCA, err := certs.NewCA("another-ca")
		if err != nil {
			t.Fatal(err)
		}
		other, err := otherCA.IssueServing("fedhub-apiserver.kube-federation-system.svc")
		if err != nil {
			t.Fatal(err)
		}
		_, err = dialWith("fedhub", other).DialContext(context.Background(), "member-1")
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("got %v, want a certificate verification error", err)
		}
	})
}
