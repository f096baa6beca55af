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
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

// handshakeTimeout bounds the upgrade request, from dialling to the 101.
const handshakeTimeout = 30 * time.Second

// RefusedError is an upgrade request answered with another status than 101.
type RefusedError struct {
	StatusCode int
	Body       string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the upgrade request was answered %d: %s", e.StatusCode, e.Body)
}

// AttachPath is the path of cluster's tunnel subresource.
func AttachPath(namespace, cluster string) string {
	return "/apis/" + v1alpha1.SchemeGroupVersion.Group + "/" + v1alpha1.SchemeGroupVersion.Version +
		"/namespaces/" + namespace + "/clusterregistrations/" + cluster + "/" + Subresource
}

// Dial sends the upgrade of cluster's attach subresource to protocol to
// hub, with hub's credentials and TLS settings, and returns the upgraded
// connection. The agent asks so for its tunnel (Protocol, through the
// host, which proxies it to fedhub); a replica asks the holder of a tunnel
// so for a stream through it (PeerProtocol, at the holder's address).
func Dial(ctx context.Context, hub *rest.Config, namespace, cluster, protocol string) (net.Conn, error) {
	base, err := url.Parse(hub.Host)
	if err != nil {
		return nil, fmt.Errorf("the hub's address %q: %w", hub.Host, err)
	}
	if base.Scheme == "" {
		base, err = url.Parse("https://" + hub.Host)
		if err != nil {
			return nil, fmt.Errorf("the hub's address %q: %w", hub.Host, err)
		}
	}
	location := *base
	location.Path = strings.TrimSuffix(base.Path, "/") + AttachPath(namespace, cluster)

	tlsConfig, err := rest.TLSConfigFor(hub)
	if err != nil {
		return nil, err
	}
	if tlsConfig == nil {
		// proxy.DialURL would skip verification without a configuration;
		// the system's roots are what client-go uses then.
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{Timeout: handshakeTimeout, KeepAlive: 30 * time.Second}
	connection := &http.Transport{TLSClientConfig: tlsConfig, DialContext: dialer.DialContext}
	if hub.Dial != nil {
		connection.DialContext = hub.Dial
	}
	// The request with the headers hub's configuration adds (the agent's
	// bearer token, its user agent), written by hand on a connection that
	// speaks HTTP/1.1 (proxy.DialURL negotiates no HTTP/2).
	decorate, err := rest.HTTPWrappersForConfig(hub, proxy.MirrorRequest)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", protocol)
	mirrored, err := decorate.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	req = mirrored.Request

	conn, err := proxy.DialURL(ctx, &location, connection)
	if err != nil {
		return nil, fmt.Errorf("dialling %s: %w", location.Host, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	resp, upgraded, err := Exchange(conn, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("the upgrade request: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		conn.Close()
		return nil, &RefusedError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), protocol) {
		conn.Close()
		return nil, fmt.Errorf("the upgrade was answered with the protocol %q, not %q", resp.Header.Get("Upgrade"), protocol)
	}
	_ = conn.SetDeadline(time.Time{})
	return upgraded, nil
}
