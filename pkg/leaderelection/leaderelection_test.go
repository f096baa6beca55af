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

package leaderelection_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fedhub/fedhub/pkg/cmd/server"
	"github.com/fedhub/fedhub/pkg/leaderelection"
)

const key = "/registry/fedhub/leader-election/reconcilers"

func startEtcd(t *testing.T) *server.EmbeddedEtcd {
	t.Helper()
	etcd, err := server.StartEmbeddedEtcd(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Stop)
	return etcd
}

// newClient reaches etcd at endpoint (its own URL, or a proxy's in front of
// it) with the client certificate etcd admits.
func newClient(t *testing.T, etcd *server.EmbeddedEtcd, endpoint string) *clientv3.Client {
	t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, TLS: etcd.ClientTLS, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// replica runs Run and records whether its lead function is running.
type replica struct {
	name    string
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	leading bool
	terms   int
}

func (r *replica) isLeading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

func startReplica(t *testing.T, client *clientv3.Client, name string, lease time.Duration, onLead func(ctx context.Context)) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		leaderelection.Run(ctx, leaderelection.Config{Client: client, Key: key, Identity: name, LeaseDuration: lease},
			func(ctx context.Context) error {
				r.mu.Lock()
				r.leading = true
				r.terms++
				r.mu.Unlock()
				if onLead != nil {
					onLead(ctx)
				}
				<-ctx.Done()
				r.mu.Lock()
				r.leading = false
				r.mu.Unlock()
				return nil
			})
	}()
	t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

// waitFor polls until condition holds, failing the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, condition func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return condition(), nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s", what, timeout)
	}
	return time.Since(start)
}

// leaders counts the replicas running their lead function.
func leaders(replicas ...*replica) int {
	n := 0
	for _, r := range replicas {
		if r.isLeading() {
			n++
		}
	}
	return n
}

func TestOneReplicaLeadsAndAResigningLeaderHandsOverAtOnce(t *testing.T) {
	etcd := startEtcd(t)
	a := startReplica(t, newClient(t, etcd, etcd.ClientURL), "a", 10*time.Second, nil)
	waitFor(t, "a leads", 10*time.Second, a.isLeading)
	b := startReplica(t, newClient(t, etcd, etcd.ClientURL), "b", 10*time.Second, nil)
	// b campaigns and must not be elected while a holds the lease.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if leaders(a, b) != 1 || b.isLeading() {
			t.Fatalf("a leading %v, b leading %v: want only a", a.isLeading(), b.isLeading())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.cancel()
	<-a.done
	if a.isLeading() {
		t.Fatal("a still runs its reconcilers after Run returned")
	}
	// Resigning revokes the lease: b does not wait for its 10 s TTL.
	took := waitFor(t, "b leads after a resigned", 5*time.Second, b.isLeading)
	t.Logf("b took over %s after a resigned", took)
}

func TestALeaderWhoseLeaseIsGoneStopsAtOnce(t *testing.T) {
	etcd := startEtcd(t)
	admin := newClient(t, etcd, etcd.ClientURL)
	var stoppedAt time.Time
	var mu sync.Mutex
	a := startReplica(t, newClient(t, etcd, etcd.ClientURL), "a", 5*time.Second, func(ctx context.Context) {
		go func() {
			<-ctx.Done()
			mu.Lock()
			stoppedAt = time.Now()
			mu.Unlock()
		}()
	})
	waitFor(t, "a leads", 10*time.Second, a.isLeading)
	// Another party revokes every lease, as etcd does when a leader stops
	// renewing: a must notice and stop leading long before its TTL would
	// have run out by its own reckoning.
	leases, err := admin.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for _, lease := range leases.Leases {
		if _, err := admin.Revoke(context.Background(), lease.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a stops leading", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !stoppedAt.IsZero()
	})
	mu.Lock()
	t.Logf("a stopped leading %s after its lease was revoked", stoppedAt.Sub(revoked))
	mu.Unlock()
	// Then it campaigns again and, alone, is elected with a new lease.
	waitFor(t, "a leads again", 10*time.Second, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.leading && a.terms == 2
	})
}

func TestAStandbyTakesOverFromALeaderThatVanished(t *testing.T) {
	etcd := startEtcd(t)
	leaderClient := newClient(t, etcd, etcd.ClientURL)
	a := startReplica(t, leaderClient, "a", 2*time.Second, nil)
	waitFor(t, "a leads", 10*time.Second, a.isLeading)
	b := startReplica(t, newClient(t, etcd, etcd.ClientURL), "b", 2*time.Second, nil)
	// Closing a's client cuts it off from etcd without revoking anything,
	// as a crash would: its lease must expire before b is elected, and a
	// must have stopped by then.
	_ = leaderClient.Close()
	took := waitFor(t, "b leads", 15*time.Second, b.isLeading)
	if a.isLeading() {
		t.Fatal("a and b lead at once")
	}
	if took < time.Second {
		t.Errorf("b was elected %s after a vanished, before a's lease could expire", took)
	}
	t.Logf("b took over %s after a vanished (lease 2s)", took)
}

// cuttableProxy forwards TCP connections to target until cut, which closes
// them all and refuses new ones, as a network partition would.
type cuttableProxy struct {
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	cut      bool
}

func startProxy(t *testing.T, target string) *cuttableProxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{listener: listener}
	t.Cleanup(func() { p.cutOff(); _ = listener.Close() })
	go func() {
		for {
			client, err := listener.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			p.mu.Lock()
			if err != nil || p.cut {
				p.mu.Unlock()
				_ = client.Close()
				if server != nil {
					_ = server.Close()
				}
				continue
			}
			p.conns = append(p.conns, client, server)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
			go func() { _, _ = io.Copy(client, server); _ = client.Close() }()
		}
	}()
	return p
}

func (p *cuttableProxy) cutOff() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		_ = c.Close()
	}
}

func TestALeaderCutOffFromEtcdStopsBeforeAnotherIsElected(t *testing.T) {
	etcd := startEtcd(t)
	proxy := startProxy(t, strings.TrimPrefix(etcd.ClientURL, "https://"))
	var mu sync.Mutex
	var aStopped, bElected time.Time
	a := startReplica(t, newClient(t, etcd, "https://"+proxy.listener.Addr().String()), "a", 3*time.Second, func(ctx context.Context) {
		go func() {
			<-ctx.Done()
			mu.Lock()
			aStopped = time.Now()
			mu.Unlock()
		}()
	})
	waitFor(t, "a leads", 10*time.Second, a.isLeading)
	b := startReplica(t, newClient(t, etcd, etcd.ClientURL), "b", 3*time.Second, func(context.Context) {
		mu.Lock()
		bElected = time.Now()
		mu.Unlock()
	})
	// a can no longer renew its lease, and etcd expires it after the TTL;
	// a must have stopped by the time b is elected.
	proxy.cutOff()
	waitFor(t, "b leads", 15*time.Second, b.isLeading)
	mu.Lock()
	defer mu.Unlock()
	if aStopped.IsZero() || !aStopped.Before(bElected) {
		t.Fatalf("a stopped at %v, b was elected at %v: two leaders at once", aStopped, bElected)
	}
	t.Logf("a stopped %s before b was elected", bElected.Sub(aStopped))
}
