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

// Package clusterproxy serves the proxy subresource of KubeFedClusters: a
// request to .../kubefedclusters/NAME/proxy/PATH goes to PATH on the member's
// API server as fedhub's member identity impersonating the hub user, with
// every name prefixed (ImpersonationFor), so that the member's RBAC decides
// what the hub user may do there.
package clusterproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

// Prefix is put before the hub user's name and each of its groups in the
// member: hub user alice in group team-a is fedhub:alice in group
// fedhub:team-a there.
const Prefix = "fedhub:"

// TunnelDialer reaches pull members: DialContext opens a connection to the
// agent of the pull member cluster (the KubeFedCluster's name) through its
// tunnel. The agent serves HTTP/1.1 (upgrades included) on the connection and
// sends each request on to its member with its own member identity, keeping
// fedhub's Impersonate-User and Impersonate-Group headers (all
// fedhub:-prefixed); fedhub sends no credentials on it. pkg/tunnel's
// Registry implements it.
type TunnelDialer interface {
	DialContext(ctx context.Context, cluster string) (net.Conn, error)
}

// ErrTunnelNotConnected may be wrapped by a TunnelDialer's error when the
// cluster's agent has no tunnel open (as pkg/tunnel's NotConnectedError
// does); every dial error of a pull member is a 503.
var ErrTunnelNotConnected = errors.New("its agent's tunnel is not connected")

// ImpersonationFor is who the hub user u is in a member: its name and every
// group with Prefix. UID and extra are not forwarded.
func ImpersonationFor(u user.Info) (name string, groups []string) {
	for _, g := range u.GetGroups() {
		groups = append(groups, Prefix+g)
	}
	return Prefix + u.GetName(), groups
}

// StripClientHeaders removes from h every header by which the client could
// choose an identity or credential in the member: Impersonate-*,
// Authorization, Proxy-Authorization and the front-proxy X-Remote-* headers.
func StripClientHeaders(h http.Header) {
	for key := range h {
		lower := strings.ToLower(key)
		if strings.HasPrefix(lower, "impersonate-") || strings.HasPrefix(lower, "x-remote-") ||
			lower == "authorization" || lower == "proxy-authorization" {
			delete(h, key)
		}
	}
}

// setImpersonation strips the client's headers and asks the member to act as u.
func setImpersonation(h http.Header, u user.Info) {
	StripClientHeaders(h)
	name, groups := ImpersonationFor(u)
	h.Set(authenticationv1.ImpersonateUserHeader, name)
	for _, g := range groups {
		h.Add(authenticationv1.ImpersonateGroupHeader, g)
	}
}

// Proxy builds the handlers of the proxy subresource. Its member transports
// are kept per cluster while the cluster and its Secret are unchanged.
type Proxy struct {
	host    kubernetes.Interface
	tunnels TunnelDialer

	mu       sync.Mutex
	backends map[string]*backend
}

// New returns a Proxy that reads push members' Secrets with host (nil in
// standalone mode: push members are then unreachable) and reaches pull
// members through tunnels (nil: not yet connected).
func New(host kubernetes.Interface, tunnels TunnelDialer) *Proxy {
	return &Proxy{host: host, tunnels: tunnels, backends: map[string]*backend{}}
}

// backend is how one member is reached: where, with which transports.
type backend struct {
	version   string // of the cluster and its Secret
	location  *url.URL
	transport http.RoundTripper
	upgrade   proxy.UpgradeRequestRoundTripper
}

// Handler returns the handler that sends a request to path on cluster's API
// server for the user in ctx. Errors (also those of the handler) are Status
// objects written by responder.
func (p *Proxy) Handler(ctx context.Context, cluster *corev1beta1.KubeFedCluster, path string, responder rest.Responder) (http.Handler, error) {
	u, ok := request.UserFrom(ctx)
	if !ok || u.GetName() == "" {
		return nil, apierrors.NewForbidden(corev1beta1.Resource("kubefedclusters"), cluster.Name, errors.New("no user in the request"))
	}
	b, err := p.backendFor(ctx, cluster)
	if err != nil {
		return nil, err
	}
	errs := errorResponder{responder: responder, cluster: cluster.Name, pull: cluster.Spec.Mode == corev1beta1.ClusterModePull}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		klog.V(2).InfoS("Proxying to member", "user", u.GetName(), "cluster", cluster.Name, "verb", req.Method, "path", "/"+strings.TrimPrefix(path, "/"))
		location := *b.location
		location.Path = joinPath(location.Path, path)
		// Upgrades are sent to the location as it is: it carries the query.
		location.RawQuery = req.URL.RawQuery
		handler := proxy.NewUpgradeAwareHandler(&location, b.transport, false, false, errs)
		handler.UpgradeTransport = b.upgrade
		handler.UseLocationHost = true
		handler.RejectForwardingRedirects = true
		req = req.Clone(req.Context())
		setImpersonation(req.Header, u)
		handler.ServeHTTP(w, req)
	}), nil
}

// joinPath appends path to base, keeping a trailing slash of path.
func joinPath(base, path string) string {
	return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(path, "/")
}

func (p *Proxy) backendFor(ctx context.Context, cluster *corev1beta1.KubeFedCluster) (*backend, error) {
	if cluster.Spec.Mode == corev1beta1.ClusterModePull {
		return p.pullBackend(cluster)
	}
	if p.host == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s: fedhub has no host to read its Secret from", cluster.Name))
	}
	name := cluster.Spec.SecretRef.Name
	secret, err := p.host.CoreV1().Secrets(cluster.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s: Secret %s/%s not found", cluster.Name, cluster.Namespace, name))
	case err != nil:
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s: reading Secret %s/%s: %v", cluster.Name, cluster.Namespace, name, err))
	}
	version := string(cluster.UID) + "/" + cluster.ResourceVersion + "/" + string(secret.UID) + "/" + secret.ResourceVersion
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.backends[cluster.Name]; b != nil && b.version == version {
		return b, nil
	}
	b, err := pushBackend(cluster, secret)
	if err != nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s: %v", cluster.Name, err))
	}
	b.version = version
	if old := p.backends[cluster.Name]; old != nil {
		utilnet.CloseIdleConnectionsFor(old.transport)
	}
	p.backends[cluster.Name] = b
	return b, nil
}

// pushBackend reaches the member with the credentials of its Secret, as the
// reconcilers do (member.Config).
func pushBackend(cluster *corev1beta1.KubeFedCluster, secret *corev1.Secret) (*backend, error) {
	config, err := member.Config(cluster, secret)
	if err != nil {
		return nil, err
	}
	location, transport, upgrade, err := MemberTransports(config)
	if err != nil {
		return nil, err
	}
	return &backend{location: location, transport: transport, upgrade: upgrade}, nil
}

// pullBackend reaches the member through its agent's tunnel: plain HTTP on
// a connection TunnelDialer opens, no credentials.
func (p *Proxy) pullBackend(cluster *corev1beta1.KubeFedCluster) (*backend, error) {
	notConnected := apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s is a pull member; %v", cluster.Name, ErrTunnelNotConnected))
	if p.tunnels == nil {
		return nil, notConnected
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.backends[cluster.Name]; b != nil && b.version == "pull" {
		return b, nil
	}
	name := cluster.Name
	// No proxy from the environment and no HTTP/2: the agent serves HTTP/1.1 on the tunnel.
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return p.tunnels.DialContext(ctx, name)
		},
		MaxIdleConnsPerHost: 10,
		IdleConnTimeout:     90 * time.Second,
	}
	b := &backend{version: "pull", location: &url.URL{Scheme: "http", Host: name}, transport: transport,
		upgrade: proxy.NewUpgradeRequestRoundTripper(transport, proxy.MirrorRequest)}
	p.backends[cluster.Name] = b
	return b, nil
}

// errorResponder writes the errors of proxying as Status objects: a member
// that cannot be reached is 503.
type errorResponder struct {
	responder rest.Responder
	cluster   string
	pull      bool
}

func (r errorResponder) Error(_ http.ResponseWriter, _ *http.Request, err error) {
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status):
	case errors.Is(err, ErrTunnelNotConnected) || tunnel.IsNotConnected(err):
		err = apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s is a pull member; %v", r.cluster, ErrTunnelNotConnected))
	case r.pull:
		err = apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s is a pull member, reached through its agent's tunnel: %v", r.cluster, err))
	default:
		err = apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %s: %v", r.cluster, err))
	}
	r.responder.Error(err)
}
