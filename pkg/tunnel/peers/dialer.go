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
	"net"
	"net/http"

	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	restclient "k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/tunnel"
)

// HTTPDialer is the tunnel.PeerDialer of a replica: it asks the holder,
// at its peer address, for an upgrade of clusterregistrations/NAME/attach
// to tunnel.PeerProtocol (tunnel.Dial, as the agent asks for its tunnel).
// It authenticates with this replica's host credentials (fedhub's identity
// on the host, which the holder accepts from no one else) and trusts only a
// peer that presents a certificate this replica's own serving certificate
// chain vouches for, for the serving certificate's first DNS name (every
// replica serves the same certificate).
type HTTPDialer struct {
	host      *restclient.Config
	serving   dynamiccertificates.CertKeyContentProvider
	namespace string
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
	config, err := d.peerConfig(address)
	if err != nil {
		return nil, err
	}
	conn, err := tunnel.Dial(ctx, config, d.namespace, cluster, tunnel.PeerProtocol)
	var refused *tunnel.RefusedError
	if errors.As(err, &refused) && refused.StatusCode == http.StatusServiceUnavailable {
		return nil, &tunnel.NotConnectedError{Cluster: cluster}
	}
	return conn, err
}

// peerConfig reaches the replica at address with the host credentials and
// the current serving certificate as the only trusted root.
func (d *HTTPDialer) peerConfig(address string) (*restclient.Config, error) {
	cert, _ := d.serving.CurrentCertKeyContent()
	serverName, err := firstDNSName(cert)
	if err != nil {
		return nil, err
	}
	config := restclient.CopyConfig(d.host)
	config.Host = "https://" + address
	config.TLSClientConfig = restclient.TLSClientConfig{
		CertFile: d.host.CertFile, KeyFile: d.host.KeyFile, CertData: d.host.CertData, KeyData: d.host.KeyData,
		CAData: cert, ServerName: serverName,
	}
	return config, nil
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
