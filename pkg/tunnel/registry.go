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
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// NotConnectedError is DialContext's error for a cluster without a tunnel
// to this process.
type NotConnectedError struct {
	Cluster string
}

func (e *NotConnectedError) Error() string {
	return fmt.Sprintf("cluster %s has no tunnel to this fedhub replica: its fedhub-agent is not connected", e.Cluster)
}

// IsNotConnected tells whether err is (or wraps) a NotConnectedError.
func IsNotConnected(err error) bool {
	var e *NotConnectedError
	return errors.As(err, &e)
}

// Registry holds the open tunnels of this process by cluster name. A newer
// tunnel of a cluster replaces (and closes) an older one; a closed one is
// removed.
type Registry struct {
	mu         sync.Mutex
	tunnels    map[string]*entry
	transports map[string]*http.Transport
	// peers, when set, reach the tunnels other replicas hold (UsePeers).
	peers *peers
}

type entry struct {
	session *yamux.Session
	since   time.Time
}

// Default is the process's registry: the attach subresource registers the
// agents' tunnels in it and the proxy subresource dials through it.
var Default = NewRegistry()

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{tunnels: map[string]*entry{}, transports: map[string]*http.Transport{}}
}

// Register makes session cluster's tunnel, closing the one it replaces. The
// session is removed once closed.
func (r *Registry) Register(cluster string, session *yamux.Session) {
	e := &entry{session: session, since: time.Now()}
	r.mu.Lock()
	old := r.tunnels[cluster]
	r.tunnels[cluster] = e
	transport := r.transports[cluster]
	r.mu.Unlock()
	if old != nil {
		_ = old.session.Close()
	}
	if transport != nil {
		// Idle connections were streams of the old session.
		transport.CloseIdleConnections()
	}
	go func() {
		r.announce(cluster)
		<-session.CloseChan()
		r.mu.Lock()
		removed := r.tunnels[cluster] == e
		if removed {
			delete(r.tunnels, cluster)
		}
		r.mu.Unlock()
		if removed {
			r.withdraw(cluster)
		}
	}()
}

// Close closes cluster's tunnel, if any (its agent reconnects; used when
// the agent's registration is gone or no longer approved).
func (r *Registry) Close(cluster string) {
	r.mu.Lock()
	e := r.tunnels[cluster]
	delete(r.tunnels, cluster)
	r.mu.Unlock()
	if e != nil {
		_ = e.session.Close()
		r.withdraw(cluster)
	}
}

// Connected tells whether cluster has an open tunnel, and since when.
func (r *Registry) Connected(cluster string) (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.tunnels[cluster]
	if e == nil || e.session.IsClosed() {
		return false, time.Time{}
	}
	return true, e.since
}

// Clusters lists the clusters with an open tunnel, sorted.
func (r *Registry) Clusters() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for name, e := range r.tunnels {
		if !e.session.IsClosed() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// DialContext opens a stream to cluster's agent: a connection on which the
// agent serves plain HTTP/1.1 (upgrades included) and forwards each request
// to its member's API. A cluster whose tunnel another replica holds is
// reached through that replica (UsePeers); one without a tunnel anywhere is
// a NotConnectedError.
func (r *Registry) DialContext(ctx context.Context, cluster string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	e := r.tunnels[cluster]
	p := r.peers
	r.mu.Unlock()
	if e == nil {
		if p != nil {
			return r.dialPeer(ctx, p, cluster)
		}
		return nil, &NotConnectedError{Cluster: cluster}
	}
	stream, err := e.session.Open()
	if err != nil {
		if e.session.IsClosed() {
			return nil, &NotConnectedError{Cluster: cluster}
		}
		return nil, fmt.Errorf("opening a stream in the tunnel of cluster %s: %w", cluster, err)
	}
	return stream, nil
}

// Transport returns the http.Transport (one per cluster, kept) whose every
// connection is a stream of cluster's tunnel, whatever address is dialled.
// Requests through it use the scheme http (the agent serves plain HTTP on
// the streams; the tunnel itself is TLS up to the host and from the host to
// fedhub); the host part of their URL is not used. proxy.DialURL uses its
// DialContext too, so an UpgradeAwareHandler with this Transport (and a
// location with the scheme http) upgrades through the tunnel.
func (r *Registry) Transport(cluster string) *http.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.transports[cluster]; t != nil {
		return t
	}
	t := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return r.DialContext(ctx, cluster)
		},
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // watches and logs -f wait as long as they need
	}
	r.transports[cluster] = t
	return t
}
