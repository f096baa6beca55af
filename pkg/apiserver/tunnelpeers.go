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

package apiserver

import (
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/fedhub/fedhub/pkg/leaderelection"
	"github.com/fedhub/fedhub/pkg/tunnel"
	"github.com/fedhub/fedhub/pkg/tunnel/peers"
	"github.com/fedhub/fedhub/registry/agent/clusterregistration"
)

// TunnelPeers says how the replicas reach each other's pull tunnels
// (docs/ha.md, "Cluster access through pull tunnels").
type TunnelPeers struct {
	// Etcd reaches fedhub's etcd, as its storage does.
	Etcd storagebackend.TransportConfig
	// Key is the prefix of the tunnels' records in etcd.
	Key string
	// Address is where the other replicas reach this one (host:port).
	Address string
	// LeaseDuration is the TTL of this replica's records.
	LeaseDuration time.Duration
	// Self is fedhub's own identity on the host, the only one a replica
	// serves peer streams to.
	Self *peers.Self
}

// fedhubIdentity is what recognizes a peer replica; nil without peers.
func (c CompletedConfig) fedhubIdentity() clusterregistration.FedhubIdentity {
	if c.TunnelPeers == nil {
		return nil
	}
	return c.TunnelPeers.Self
}

// installTunnelPeers records this replica's tunnels in etcd once the
// server runs, and dials a cluster whose tunnel another replica holds
// through that replica. The records go when the server stops.
func (c CompletedConfig) installTunnelPeers(server *genericapiserver.GenericAPIServer) error {
	p := c.TunnelPeers
	if p == nil {
		return nil
	}
	return server.AddPostStartHook("fedhub-tunnel-peers", func(hookContext genericapiserver.PostStartHookContext) error {
		client, err := newEtcdClient(p.Etcd)
		if err != nil {
			return err
		}
		directory := peers.NewEtcdDirectory(client, p.Key, peers.Record{Replica: leaderelection.DefaultIdentity(), Address: p.Address}, p.LeaseDuration)
		tunnel.Default.UsePeers(directory, peers.NewHTTPDialer(c.HostConfig, c.GenericConfig.SecureServing.Cert, FederationNamespace))
		go func() {
			defer func() { _ = client.Close() }()
			directory.Run(hookContext, tunnel.Default.Clusters)
		}()
		return nil
	})
}
