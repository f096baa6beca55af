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

package server

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// embeddedEtcdStartTimeout bounds how long a fresh or recovering etcd may take to serve.
const embeddedEtcdStartTimeout = 2 * time.Minute

// EmbeddedEtcd is an etcd server running inside fedhub-apiserver's process.
type EmbeddedEtcd struct {
	etcd *embed.Etcd
	// ClientURL is where the API server's storage reaches it.
	ClientURL string
}

// StartEmbeddedEtcd starts a single-member etcd with its data in dir, on
// loopback ports chosen now, and waits until it serves.
func StartEmbeddedEtcd(dir string) (*EmbeddedEtcd, error) {
	clientURL, err := freeLoopbackURL()
	if err != nil {
		return nil, err
	}
	peerURL, err := freeLoopbackURL()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "fedhub"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"

	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-etcd.Server.ReadyNotify():
		return &EmbeddedEtcd{etcd: etcd, ClientURL: clientURL.String()}, nil
	case err := <-etcd.Err():
		etcd.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(embeddedEtcdStartTimeout):
		etcd.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready within %s", dir, embeddedEtcdStartTimeout)
	}
}

// Stop shuts etcd down and waits until its data is closed.
func (e *EmbeddedEtcd) Stop() {
	e.etcd.Close()
}

// freeLoopbackURL picks a loopback port nobody listens on. etcd cannot be
// handed a listener, so the port is released and reopened by etcd at once.
func freeLoopbackURL() (*url.URL, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := listener.Addr().String()
	if err := listener.Close(); err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "http", Host: addr}, nil
}
