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
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	restclient "k8s.io/client-go/rest"
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
	wrappers, err := restclient.HTTPWrappersForConfig(config, proxy.MirrorRequest)
	if err != nil {
		return nil, nil, nil, err
	}
	return location, transport, proxy.NewUpgradeRequestRoundTripper(connection, wrappers), nil
}
