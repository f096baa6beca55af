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

package clusterproxy

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	netproxy "golang.org/x/net/proxy"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	restclient "k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/tunnel"
)

// MemberTransports are what a proxy to a member's API server needs, built
// from the client configuration of an identity there: the member's address,
// the transport of ordinary requests, and the transport of upgrades (exec,
// attach, port-forward, SPDY or websocket). Upgrades are dialled as
// kube-aggregator dials them: a connection with the member's TLS
// configuration, the credentials written onto the request by client-go's
// wrappers. fedhub uses it for push members, the agent for its own member.
func MemberTransports(config *restclient.Config) (*url.URL, http.RoundTripper, proxy.UpgradeRequestRoundTripper, error) {
	host := config.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	location, err := url.Parse(host)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the member's address %q: %w", config.Host, err)
	}
	location.RawQuery, location.Fragment = "", ""
	if location.Path == "" {
		// An empty path would have UpgradeAwareHandler redirect every GET.
		location.Path = "/"
	}
	transport, err := restclient.TransportFor(config)
	if err != nil {
		return nil, nil, nil, err
	}
	connection := config.Transport
	if connection == nil {
		tlsConfig, err := restclient.TLSConfigFor(config)
		if err != nil {
			return nil, nil, nil, err
		}
		if tlsConfig == nil && location.Scheme == "https" {
			// client-go leaves the configuration out when the system's roots
			// are trusted; proxy.DialURL would then skip verification.
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		connection = utilnet.SetTransportDefaults(&http.Transport{TLSClientConfig: tlsConfig, Proxy: config.Proxy, DialContext: config.Dial})
	}
	if t, ok := connection.(*http.Transport); ok && t.Proxy != nil {
		// proxy.DialURL dials upgrades with the transport's DialContext
		// and ignores its Proxy: reach the member through the proxy there.
		t = t.Clone()
		t.DialContext = proxyDialer(t.Proxy, t.DialContext)
		t.Proxy = nil
		connection = t
	}
	wrappers, err := restclient.HTTPWrappersForConfig(config, proxy.MirrorRequest)
	if err != nil {
		return nil, nil, nil, err
	}
	return location, transport, proxy.NewUpgradeRequestRoundTripper(connection, wrappers), nil
}

// dialFunc is http.Transport's DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// proxyDialer dials addr through the proxy proxyFor names for an https
// request to addr (spec.proxyURL, or the environment's), as net/http does
// for plain requests: an HTTP CONNECT through an http:// or https://
// proxy, or SOCKS5; directly when it names none.
func proxyDialer(proxyFor func(*http.Request) (*url.URL, error), direct dialFunc) dialFunc {
	if direct == nil {
		direct = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		proxyURL, err := proxyFor(&http.Request{URL: &url.URL{Scheme: "https", Host: addr}})
		if err != nil {
			return nil, err
		}
		if proxyURL == nil {
			return direct(ctx, network, addr)
		}
		switch proxyURL.Scheme {
		case "socks5", "socks5h":
			dialer, err := netproxy.FromURL(proxyURL, contextDialer(direct))
			if err != nil {
				return nil, err
			}
			return dialer.(netproxy.ContextDialer).DialContext(ctx, network, addr)
		case "http", "https":
			return connectThrough(ctx, proxyURL, direct, addr)
		}
		return nil, fmt.Errorf("proxy %s: scheme %q is not supported", proxyURL.Redacted(), proxyURL.Scheme)
	}
}

// contextDialer is a dialFunc as golang.org/x/net/proxy's forward dialer.
type contextDialer dialFunc

func (d contextDialer) Dial(network, addr string) (net.Conn, error) {
	return d(context.Background(), network, addr)
}

func (d contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// connectThrough opens a tunnel to addr with an HTTP CONNECT to the proxy at
// proxyURL (over TLS for https://, with its user info as basic credentials).
func connectThrough(ctx context.Context, proxyURL *url.URL, direct dialFunc, addr string) (net.Conn, error) {
	proxyAddr := proxyURL.Host
	if proxyURL.Port() == "" {
		port := "80"
		if proxyURL.Scheme == "https" {
			port = "443"
		}
		proxyAddr = net.JoinHostPort(proxyURL.Hostname(), port)
	}
	conn, err := direct(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, err
	}
	if proxyURL.Scheme == "https" {
		tlsConn := tls.Client(conn, &tls.Config{ServerName: proxyURL.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS to proxy %s: %w", proxyURL.Redacted(), err)
		}
		conn = tlsConn
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	connect := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if user := proxyURL.User; user != nil {
		password, _ := user.Password()
		connect.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+password)))
	}
	resp, tunnelled, err := tunnel.Exchange(conn, connect)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("CONNECT %s through proxy %s: %w", addr, proxyURL.Redacted(), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("CONNECT %s through proxy %s: %s", addr, proxyURL.Redacted(), resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return tunnelled, nil
}
