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

// Package tunnel holds the pull members' tunnels on fedhub's side
// (docs/clusteraccess.md, "Pull members: the tunnel"). A pull member's
// fedhub-agent opens an HTTP/1.1 upgrade request through the host to the
// subresource clusterregistrations/NAME/attach; fedhub hijacks the connection
// and runs a yamux session on it, registered here under the cluster's name.
// Every stream fedhub opens on it carries one plain HTTP/1.1 connection,
// which the agent serves with a reverse proxy to its member's API (upgrades
// included).
package tunnel

import (
	"io"
	"time"

	"github.com/hashicorp/yamux"
)

const (
	// Subresource is the ClusterRegistration subresource the agent upgrades.
	// It is "attach", not "tunnel", so that the host's kube-apiserver treats
	// the request as long-running (its long-running subresources are attach,
	// exec, proxy, log and portforward): no request timeout, no seat of API
	// Priority and Fairness and no place in the non-long-running requests a
	// host waits for at shutdown for as long as the tunnel is open.
	Subresource = "attach"
	// Protocol is the Upgrade header's value of the agent's request and of
	// fedhub's 101 answer.
	Protocol = "fedhub-tunnel"
	// keepAliveInterval is how often each side pings the other: a tunnel
	// whose other end is gone is noticed within about this time plus the
	// write timeout.
	keepAliveInterval = 15 * time.Second
	// connectionWriteTimeout bounds a write to the connection.
	connectionWriteTimeout = 15 * time.Second
)

// Config is the yamux configuration both ends of a tunnel use; logs go to
// logs (yamux logs in its own format).
func Config(logs io.Writer) *yamux.Config {
	c := yamux.DefaultConfig()
	c.KeepAliveInterval = keepAliveInterval
	c.ConnectionWriteTimeout = connectionWriteTimeout
	c.MaxStreamWindowSize = 1 << 20
	c.LogOutput = logs
	return c
}
