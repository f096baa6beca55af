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

package peers

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	restclient "k8s.io/client-go/rest"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

// dialTimeout bounds a peer's answer to a request for a stream.
const dialTimeout = 10 * time.Second

// HTTPDialer is the tunnel.PeerDialer of a replica: it asks the holder,
// at its peer address, for an upgrade of
// clusterregistrations/NAME/attach to tunnel.PeerProtocol. It
// authenticates with this replica's host credentials (fedhub's identity on
// the host, which the holder accepts from no one else) and trusts only a
// peer that presents a certificate this replica's own serving certificate
// chain vouches for, for the serving certificate's first DNS name (every
// replica serves the same certificate).
type HTTPDialer struct {
	host      *restclient.Config
	serving   dynamiccertificates.CertKeyContentProvider
	namespace string

	mu        sync.Mutex
	cert      []byte
	transport http.RoundTripper
}

var _ tunnel.PeerDialer = &HTTPDialer{}

// NewHTTPDialer dials peers with host's credentials, trusting serving's
// certificate, for the registrations in namespace.
func NewHTTPDialer(host *restclient.Config, serving dynamiccertificates.CertKeyContentProvider, namespace string) *HTTPDialer {
	return &HTTPDialer{host: host, serving: serving, namespace: namespace}
}

// DialPeer returns the stream to cluster's agent that the replica at
// address opened; a 503 from it is a tunnel.NotConnectedError.
func (d *HTTPDialer) DialPeer(ctx context.Context, address, cluster string) (net.Conn, error) {
	transport, err := d.roundTripper()
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "https", Host: address, Path: path.Join("/apis", agentv1alpha1.SchemeGroupVersion.Group,
		agentv1alpha1.SchemeGroupVersion.Version, "namespaces", d.namespace, "clusterregistrations", cluster, tunnel.Subresource)}
	// The stream outlives the request that needed it (an http.Transport
	// keeps it for the next ones): only the wait for the answer follows ctx.
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopFollowing := context.AfterFunc(ctx, cancel)
	timer := time.AfterFunc(dialTimeout, cancel)
	req, err := http.NewRequestWithContext(streamCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", tunnel.PeerProtocol)
	resp, err := transport.RoundTrip(req)
	following := stopFollowing()
	stopped := timer.Stop()
	if err != nil {
		cancel()
		return nil, err
	}
	if !following || !stopped {
		// ctx ended or the timeout fired as the answer came.
		cancel()
		_ = resp.Body.Close()
		return nil, fmt.Errorf("the peer's answer came too late")
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer cancel()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return nil, &tunnel.NotConnectedError{Cluster: cluster}
		}
		return nil, fmt.Errorf("the peer answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	stream, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		cancel()
		_ = resp.Body.Close()
		return nil, fmt.Errorf("the peer's upgraded connection is not writable (%T)", resp.Body)
	}
	return &streamConn{ReadWriteCloser: stream, cancel: cancel, local: peerAddr("local"), remote: peerAddr(address)}, nil
}

// roundTripper is an HTTP/1.1 transport with the host credentials and the
// current serving certificate as the only trusted root, rebuilt when that
// certificate changes.
func (d *HTTPDialer) roundTripper() (http.RoundTripper, error) {
	cert, _ := d.serving.CurrentCertKeyContent()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.transport != nil && string(cert) == string(d.cert) {
		return d.transport, nil
	}
	serverName, err := firstDNSName(cert)
	if err != nil {
		return nil, err
	}
	config := restclient.CopyConfig(d.host)
	config.TLSClientConfig = restclient.TLSClientConfig{
		CertFile: d.host.CertFile, KeyFile: d.host.KeyFile, CertData: d.host.CertData, KeyData: d.host.KeyData,
		CAData: cert, ServerName: serverName,
		// An upgrade needs HTTP/1.1; without h2 offered, none is configured.
		NextProtos: []string{"http/1.1"},
	}
	// Peers are reached directly, never through an HTTP proxy of the environment.
	config.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	config.Timeout = 0
	transport, err := restclient.TransportFor(config)
	if err != nil {
		return nil, fmt.Errorf("building the transport to fedhub's peers: %w", err)
	}
	d.cert, d.transport = cert, transport
	return transport, nil
}

// firstDNSName is the first DNS name of the first certificate in certPEM.
func firstDNSName(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return "", errors.New("fedhub has no serving certificate to trust its peers with")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("parsing the serving certificate: %w", err)
	}
	if len(cert.DNSNames) == 0 {
		return "", errors.New("the serving certificate names no DNS name, which its peers would check")
	}
	return cert.DNSNames[0], nil
}

// streamConn is the upgraded connection to a peer as a net.Conn. Its
// deadlines are not supported (nothing that dials a tunnel sets them).
type streamConn struct {
	io.ReadWriteCloser
	cancel        context.CancelFunc
	local, remote net.Addr
}

func (c *streamConn) Close() error {
	err := c.ReadWriteCloser.Close()
	c.cancel()
	return err
}
func (c *streamConn) LocalAddr() net.Addr                { return c.local }
func (c *streamConn) RemoteAddr() net.Addr               { return c.remote }
func (c *streamConn) SetDeadline(t time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return nil }

// peerAddr names an end of a peer stream.
type peerAddr string

func (a peerAddr) Network() string { return "fedhub-peer" }
func (a peerAddr) String() string  { return string(a) }
