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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/pkg/certs"
)

// embeddedEtcdStartTimeout bounds how long a fresh or recovering etcd may take to serve.
const embeddedEtcdStartTimeout = 2 * time.Minute

// embeddedEtcdTLSDir, inside the data directory, holds the certificates of
// one run; it is made afresh at each start and removed at stop.
const embeddedEtcdTLSDir = "tls"

// EmbeddedEtcd is an etcd server running inside fedhub-apiserver's process.
// Its loopback ports are reachable by every local user, so both serve TLS
// only and admit only clients with a certificate from a CA that exists for
// one run of the process: etcd holds every object unencrypted and has no
// authorization of its own.
type EmbeddedEtcd struct {
	etcd   *embed.Etcd
	tlsDir string
	client tlsFiles
	// ClientURL is where clients reach it: https, with the client certificate.
	ClientURL string
	// ClientTLS carries the client certificate and the CA, for etcd clients
	// built in this process.
	ClientTLS *tls.Config
}

// tlsFiles are PEM files etcd and the storage's client read.
type tlsFiles struct{ cert, key, ca string }

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
	e := &EmbeddedEtcd{tlsDir: filepath.Join(dir, embeddedEtcdTLSDir), ClientURL: clientURL.String()}
	member, err := e.writeCertificates()
	if err != nil {
		e.removeCertificates()
		return nil, fmt.Errorf("embedded etcd certificates in %s: %w", e.tlsDir, err)
	}
	// The member certificate serves and is a client too: etcd's gRPC gateway
	// dials the client port with it, and a member dials its peers with it.
	memberTLS := transport.TLSInfo{CertFile: member.cert, KeyFile: member.key, TrustedCAFile: member.ca, ClientCertAuth: true}

	cfg := embed.NewConfig()
	cfg.Name = "fedhub"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.ClientTLSInfo = memberTLS
	cfg.PeerTLSInfo = memberTLS
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"

	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		e.removeCertificates()
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dir, err)
	}
	e.etcd = etcd
	select {
	case <-etcd.Server.ReadyNotify():
		return e, nil
	case err := <-etcd.Err():
		e.Stop()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(embeddedEtcdStartTimeout):
		e.Stop()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready within %s", dir, embeddedEtcdStartTimeout)
	}
}

// ApplyTo points an API server's storage at this etcd, with the client certificate.
func (e *EmbeddedEtcd) ApplyTo(storage *storagebackend.TransportConfig) {
	storage.ServerList = []string{e.ClientURL}
	storage.CertFile, storage.KeyFile, storage.TrustedCAFile = e.client.cert, e.client.key, e.client.ca
}

// Stop shuts etcd down, waits until its data is closed and removes the certificates.
func (e *EmbeddedEtcd) Stop() {
	e.etcd.Close()
	e.removeCertificates()
}

// writeCertificates makes a CA for this run, a member certificate and a
// client certificate. Only the storage's client needs them as files (it reads
// nothing else), so they go, readable by fedhub's user alone, next to the
// data they guard; the CA's key stays in memory.
func (e *EmbeddedEtcd) writeCertificates() (member tlsFiles, err error) {
	ca, err := certs.NewCA("fedhub-etcd-ca")
	if err != nil {
		return member, err
	}
	memberPair, err := ca.IssuePeer("fedhub-etcd")
	if err != nil {
		return member, err
	}
	clientPair, err := ca.IssueClient("fedhub-apiserver")
	if err != nil {
		return member, err
	}
	clientCert, err := tls.X509KeyPair(clientPair.CertPEM, clientPair.KeyPEM)
	if err != nil {
		return member, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	e.ClientTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, Certificates: []tls.Certificate{clientCert}}

	// A directory left by a run that did not stop cleanly is replaced, so no
	// file keeps looser permissions than these.
	if err := os.RemoveAll(e.tlsDir); err != nil {
		return member, err
	}
	if err := os.MkdirAll(e.tlsDir, 0o700); err != nil {
		return member, err
	}
	path := func(name string) string { return filepath.Join(e.tlsDir, name) }
	member = tlsFiles{cert: path("member.crt"), key: path("member.key"), ca: path("ca.crt")}
	e.client = tlsFiles{cert: path("client.crt"), key: path("client.key"), ca: member.ca}
	for name, data := range map[string][]byte{
		member.ca: ca.CertPEM, member.cert: memberPair.CertPEM, member.key: memberPair.KeyPEM,
		e.client.cert: clientPair.CertPEM, e.client.key: clientPair.KeyPEM,
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return member, err
		}
	}
	return member, nil
}

func (e *EmbeddedEtcd) removeCertificates() {
	if err := os.RemoveAll(e.tlsDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Harmless: the next start replaces them, and they fit no other run's CA.
		klog.ErrorS(err, "Removing the embedded etcd's certificates", "dir", e.tlsDir)
	}
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
	return &url.URL{Scheme: "https", Host: addr}, nil
}
