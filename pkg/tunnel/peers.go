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
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/klog/v2"
)

// PeerProtocol is the Upgrade header of a replica asking the holder of a
// cluster's tunnel for a stream to that cluster's agent (docs/ha.md,
// "Cluster access through pull tunnels"). It is asked on the same
// subresource as the agent's tunnel, clusterregistrations/NAME/attach.
const PeerProtocol = "fedhub-tunnel-peer"

// Directory records, in storage every replica shares, which replica holds
// each cluster's tunnel.
type Directory interface {
	// Announce records this replica as the holder of cluster's tunnel.
	Announce(ctx context.Context, cluster string) error
	// Withdraw removes the record of cluster if it still names this replica
	// (a newer holder's record stays).
	Withdraw(ctx context.Context, cluster string) error
	// Holder returns the address at which the holder of cluster's tunnel
	// serves its peers, and whether that is this replica; found is false
	// when no replica holds it.
	Holder(ctx context.Context, cluster string) (address string, self, found bool, err error)
}

// PeerDialer opens, through the replica serving at address, a stream to
// cluster's agent.
type PeerDialer interface {
	DialPeer(ctx context.Context, address, cluster string) (net.Conn, error)
}

// peers is how a Registry reaches the tunnels other replicas hold.
type peers struct {
	directory Directory
	dialer    PeerDialer
}

// announceTimeout bounds a write of the directory when a tunnel opens or closes.
const announceTimeout = 10 * time.Second

// UsePeers makes r record its tunnels in directory, and reach a cluster
// whose tunnel another replica holds through dialer. Call it before the
// server serves.
func (r *Registry) UsePeers(directory Directory, dialer PeerDialer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.peers = &peers{directory: directory, dialer: dialer}
}

// announce records cluster's new tunnel in the directory, if any.
func (r *Registry) announce(cluster string) {
	p := r.peersOf()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	if err := p.directory.Announce(ctx, cluster); err != nil {
		// The directory re-announces every open tunnel when its session comes back.
		klog.ErrorS(err, "Recording a pull member's tunnel for the other replicas failed", "cluster", cluster)
	}
}

// withdraw removes cluster's record after its tunnel here closed, unless
// the cluster has a new tunnel here already.
func (r *Registry) withdraw(cluster string) {
	p := r.peersOf()
	if p == nil {
		return
	}
	if connected, _ := r.Connected(cluster); connected {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	if err := p.directory.Withdraw(ctx, cluster); err != nil {
		// The record goes with this replica's etcd lease at the latest; until
		// then a peer's dial through it fails like a missing tunnel.
		klog.ErrorS(err, "Removing a closed tunnel's record failed", "cluster", cluster)
	}
}

func (r *Registry) peersOf() *peers {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers
}

// dialPeer reaches cluster's agent through the replica holding its tunnel.
func (r *Registry) dialPeer(ctx context.Context, p *peers, cluster string) (net.Conn, error) {
	address, self, found, err := p.directory.Holder(ctx, cluster)
	if err != nil {
		return nil, fmt.Errorf("looking up which fedhub replica holds the tunnel of cluster %s: %w", cluster, err)
	}
	if !found || self {
		// A record naming this replica is one whose tunnel just closed.
		return nil, &NotConnectedError{Cluster: cluster}
	}
	conn, err := p.dialer.DialPeer(ctx, address, cluster)
	if err != nil {
		if IsNotConnected(err) {
			return nil, err
		}
		return nil, fmt.Errorf("reaching the tunnel of cluster %s through the fedhub replica at %s: %w", cluster, address, err)
	}
	return conn, nil
}

// IsPeerRequest tells whether req asks to upgrade to PeerProtocol.
func IsPeerRequest(req *http.Request) bool {
	return isUpgradeTo(req, PeerProtocol)
}

// ServePeer answers a peer replica's request for a stream to cluster's
// agent: it opens the stream on this replica's tunnel, answers 101 and
// copies bytes both ways until either side closes. The caller has
// authenticated the peer. Without a tunnel here the answer is 503.
func (r *Registry) ServePeer(w http.ResponseWriter, req *http.Request, cluster string) {
	logger := klog.FromContext(req.Context()).WithValues("cluster", cluster)
	r.mu.Lock()
	e := r.tunnels[cluster]
	r.mu.Unlock()
	if e == nil {
		http.Error(w, (&NotConnectedError{Cluster: cluster}).Error(), http.StatusServiceUnavailable)
		return
	}
	stream, err := e.session.Open()
	if err != nil {
		http.Error(w, (&NotConnectedError{Cluster: cluster}).Error(), http.StatusServiceUnavailable)
		return
	}
	conn, err := hijack(w, req, PeerProtocol)
	if err != nil {
		_ = stream.Close()
		logger.V(2).Info("Refused a peer's stream", "err", err)
		return
	}
	logger.V(4).Info("Serving a peer replica's stream", "remote", req.RemoteAddr)
	splice(conn, stream)
}

// splice copies a to b and b to a until either direction ends, then closes both.
func splice(a, b io.ReadWriteCloser) {
	var once sync.Once
	closeBoth := func() {
		_ = a.Close()
		_ = b.Close()
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); once.Do(closeBoth); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); once.Do(closeBoth); done <- struct{}{} }()
	<-done
	<-done
}

// isUpgradeTo tells whether req is an HTTP/1.1 upgrade naming protocol.
func isUpgradeTo(req *http.Request, protocol string) bool {
	if !httpstream.IsUpgradeRequest(req) {
		return false
	}
	for _, p := range strings.Split(req.Header.Get("Upgrade"), ",") {
		if strings.EqualFold(strings.TrimSpace(p), protocol) {
			return true
		}
	}
	return false
}
