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

package helm

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped by errors about a repository address the
// fetcher will not connect to.
var ErrForbiddenAddress = errors.New("forbidden chart repository address")

// checkAddress refuses the addresses a tenant's repository URL must not make
// fedhub (or an agent) connect to from inside its network: link-local ones,
// where cloud providers serve instance metadata and credentials, unspecified
// and multicast ones, and loopback ones, where the process's own neighbours
// listen, unless allowLoopback.
func checkAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// Not an IP address: a name, judged once it resolves.
		return nil
	}
	ip = ip.Unmap()
	switch {
	case ip.IsUnspecified() || ip.IsMulticast():
		return fmt.Errorf("%w: %s is not a host's address", ErrForbiddenAddress, ip)
	case ip.IsLinkLocalUnicast():
		return fmt.Errorf("%w: %s is link-local (cloud metadata services live there)", ErrForbiddenAddress, ip)
	case ip.IsLoopback() && !allowLoopback:
		return fmt.Errorf("%w: %s is loopback", ErrForbiddenAddress, ip)
	}
	return nil
}

// guardedTransport is an HTTP transport that refuses forbidden addresses
// twice: a literal IP in the URL before any connection (a proxy would
// otherwise be the only address judged), and the address actually dialled,
// so that neither a DNS name nor a redirect gets around the check.
func guardedTransport(allowLoopback bool) http.RoundTripper {
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return checkAddress(address, allowLoopback)
		},
	}
	// The default transport's proxy, HTTP/2 and idle settings, unless a
	// program replaced it with something else.
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		base = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	transport := base.Clone()
	transport.DialContext = dialer.DialContext
	return &urlGuard{next: transport, allowLoopback: allowLoopback}
}

type urlGuard struct {
	next          http.RoundTripper
	allowLoopback bool
}

func (g *urlGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkAddress(req.URL.Hostname(), g.allowLoopback); err != nil {
		return nil, err
	}
	return g.next.RoundTrip(req)
}
