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

package framework

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Etcd is an etcd process that the host and member clusters share, each under its own prefix.
type Etcd struct {
	*Process
	ClientURL string
	// PeerURL is the peer address the member advertises: its DelayProxy's
	// when the cluster has peer proxies.
	PeerURL string

	name, binary, dir string
	args              []string
	restarts          int
}

// StartEtcd starts a single-member etcd with its data under dir and waits
// until it is healthy.
func StartEtcd(ctx context.Context, etcdBinary, dir string) (*Etcd, error) {
	cluster, err := StartEtcdCluster(ctx, etcdBinary, dir, "etcd", 1)
	if err != nil {
		return nil, err
	}
	return cluster.Members[0], nil
}

// EtcdCluster is several etcd members on loopback that form one cluster.
type EtcdCluster struct {
	Members []*Etcd
	// PeerProxies delay the traffic to each member's peer port, in the
	// members' order, when the cluster was started with PeerProxies.
	PeerProxies []*DelayProxy
}

// StartEtcdCluster starts size members named <name>-0, <name>-1, ... (a
// single member is just <name>), each with its data and log under dir, and
// waits until every one is healthy, which needs a quorum.
func StartEtcdCluster(ctx context.Context, etcdBinary, dir, name string, size int) (*EtcdCluster, error) {
	return StartEtcdClusterWith(ctx, etcdBinary, dir, name, size, EtcdClusterOptions{})
}

// EtcdClusterOptions shape an etcd cluster beyond its size.
type EtcdClusterOptions struct {
	// PeerProxies puts a DelayProxy in front of every member's peer port and
	// makes the members advertise the proxies, so that every connection
	// between two members passes one proxy, delayed by PeerDelay each way
	// (a round trip of 2×PeerDelay). Clients reach the members directly.
	PeerProxies bool
	// PeerDelay is the one-way delay between members; it implies PeerProxies.
	PeerDelay time.Duration
	// HeartbeatInterval and ElectionTimeout set --heartbeat-interval and
	// --election-timeout (whole milliseconds); zero keeps etcd's defaults,
	// 100 ms and 1000 ms.
	HeartbeatInterval, ElectionTimeout time.Duration
	// ExtraArgs are further flags for every member; they come last.
	ExtraArgs []string
}

// StartEtcdClusterWith is StartEtcdCluster with options, e.g. members
// separated by a simulated round-trip time.
func StartEtcdClusterWith(ctx context.Context, etcdBinary, dir, name string, size int, o EtcdClusterOptions) (_ *EtcdCluster, err error) {
	cluster := &EtcdCluster{}
	defer func() {
		if err != nil {
			cluster.Stop()
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	type ports struct{ client, peer, advertisedPeer string }
	urls := make([]ports, size)
	var initial []string
	for i := range urls {
		clientPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		peerPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		urls[i] = ports{client: "http://127.0.0.1:" + strconv.Itoa(clientPort), peer: "http://127.0.0.1:" + strconv.Itoa(peerPort)}
		urls[i].advertisedPeer = urls[i].peer
		if o.PeerProxies || o.PeerDelay > 0 {
			proxy, err := StartDelayProxy("127.0.0.1:"+strconv.Itoa(peerPort), o.PeerDelay)
			if err != nil {
				return nil, err
			}
			cluster.PeerProxies = append(cluster.PeerProxies, proxy)
			urls[i].advertisedPeer = "http://" + proxy.Addr
		}
		initial = append(initial, memberName(name, i, size)+"="+urls[i].advertisedPeer)
	}
	for i, u := range urls {
		member := memberName(name, i, size)
		flags := map[string]string{
			"name":                        member,
			"data-dir":                    filepath.Join(dir, member+"-data"),
			"listen-client-urls":          u.client,
			"advertise-client-urls":       u.client,
			"listen-peer-urls":            u.peer,
			"initial-advertise-peer-urls": u.advertisedPeer,
			"initial-cluster":             strings.Join(initial, ","),
			"initial-cluster-token":       name,
			"log-level":                   "warn",
			// Tests write little; a small backend and no fsync wait keep etcd quick on loopback.
			"quota-backend-bytes": strconv.Itoa(2 << 30),
			"unsafe-no-fsync":     "true",
		}
		if o.HeartbeatInterval > 0 {
			flags["heartbeat-interval"] = strconv.FormatInt(o.HeartbeatInterval.Milliseconds(), 10)
		}
		if o.ElectionTimeout > 0 {
			flags["election-timeout"] = strconv.FormatInt(o.ElectionTimeout.Milliseconds(), 10)
		}
		etcd := &Etcd{ClientURL: u.client, PeerURL: u.advertisedPeer, name: member, binary: etcdBinary, dir: dir,
			args: append(flagArgs(flags), o.ExtraArgs...)}
		if etcd.Process, err = StartProcess(member, dir, etcdBinary, etcd.args...); err != nil {
			return nil, err
		}
		cluster.Members = append(cluster.Members, etcd)
	}
	for _, member := range cluster.Members {
		if err := member.waitHealthy(ctx); err != nil {
			return nil, err
		}
	}
	return cluster, nil
}

func memberName(name string, i, size int) string {
	if size == 1 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, i)
}

// ClientURLs are the members' client addresses, for --etcd-servers.
func (c *EtcdCluster) ClientURLs() []string {
	urls := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		urls = append(urls, m.ClientURL)
	}
	return urls
}

// Stop stops every member, then the peer proxies.
func (c *EtcdCluster) Stop() {
	for _, m := range c.Members {
		m.Stop()
	}
	for _, p := range c.PeerProxies {
		_ = p.Close()
	}
}

// SetPeerDelay changes the one-way delay of every peer proxy, for data sent
// from now on: the same cluster measured with and without a round trip.
func (c *EtcdCluster) SetPeerDelay(oneWay time.Duration) {
	for _, p := range c.PeerProxies {
		p.SetDelay(oneWay)
	}
}

// Name is the member's name in the cluster, e.g. fedhub-etcd-0.
func (e *Etcd) Name() string { return e.name }

// Restart starts a stopped member again with its data, as after an outage,
// and waits until it is healthy in the cluster again.
func (e *Etcd) Restart(ctx context.Context) error {
	e.restarts++
	process, err := StartProcess(fmt.Sprintf("%s-restart-%d", e.name, e.restarts), e.dir, e.binary, e.args...)
	if err != nil {
		return err
	}
	e.Process = process
	return e.waitHealthy(ctx)
}

// waitHealthy waits until the member answers /health ok: it serves and the
// cluster has a leader.
func (e *Etcd) waitHealthy(ctx context.Context) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		if exited, _ := e.Exited(); exited {
			return false, fmt.Errorf("exited")
		}
		response, err := http.Get(e.ClientURL + "/health")
		if err != nil {
			return false, nil
		}
		_ = response.Body.Close()
		return response.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return e.Failure("did not become healthy")
	}
	return nil
}
