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

package clusterregistration

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/yamux"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

// revocationCheckInterval is how often an open tunnel's registration is
// read again: a tunnel whose registration is gone or no longer approved is
// closed (the agent's host identity is revoked with it).
const revocationCheckInterval = 10 * time.Second

// TunnelREST serves clusterregistrations/NAME/attach (tunnel.Subresource):
// the agent of the approved registration NAME upgrades a GET to
// tunnel.Protocol; the connection becomes a yamux session registered in
// tunnels under NAME, through which the proxy subresource of the
// KubeFedCluster NAME reaches the member. pkg/agentauth lets only the
// agent identity of NAME do this. The same subresource, upgraded to
// tunnel.PeerProtocol, gives another fedhub replica a stream through the
// tunnel held here (docs/ha.md); only fedhub's own identity may ask.
type TunnelREST struct {
	registrations rest.Getter
	tunnels       *tunnel.Registry
	fedhub        FedhubIdentity
}

// FedhubIdentity tells whether a user is fedhub itself (pkg/tunnel/peers.Self).
type FedhubIdentity interface {
	Is(ctx context.Context, u user.Info) bool
}

var (
	_ rest.Connecter = &TunnelREST{}
	_ rest.Scoper    = &TunnelREST{}
)

// NewTunnelREST returns the subresource of the registrations served by
// registrations, registering tunnels in tunnels; peer replicas are those
// fedhub recognizes (none when it is nil).
func NewTunnelREST(registrations rest.Getter, tunnels *tunnel.Registry, fedhub FedhubIdentity) *TunnelREST {
	return &TunnelREST{registrations: registrations, tunnels: tunnels, fedhub: fedhub}
}

// New returns a ClusterRegistration, the resource the subresource is of.
func (r *TunnelREST) New() runtime.Object { return &agent.ClusterRegistration{} }

// Destroy does nothing: the registrations' storage is destroyed with its own REST.
func (r *TunnelREST) Destroy() {}

// NamespaceScoped is true, as registrations are.
func (r *TunnelREST) NamespaceScoped() bool { return true }

// ConnectMethods: the agent's upgrade is a GET.
func (r *TunnelREST) ConnectMethods() []string { return []string{http.MethodGet} }

// NewConnectOptions: the subresource takes no options and no path.
func (r *TunnelREST) NewConnectOptions() (runtime.Object, bool, string) { return nil, false, "" }

// Connect returns the handler that takes the connection over, once the
// registration name is found approved.
func (r *TunnelREST) Connect(ctx context.Context, name string, _ runtime.Object, _ rest.Responder) (http.Handler, error) {
	namespace, _ := genericapirequest.NamespaceFrom(ctx)
	if u, ok := genericapirequest.UserFrom(ctx); ok && r.fedhub != nil && r.fedhub.Is(ctx, u) {
		return r.peerHandler(name), nil
	}
	// Whatever RBAC grants (fedhub:federation-admin has every verb on
	// agent.fedhub.io), only the cluster's agent may stand in for it: the
	// holder of a tunnel receives the hub users' requests to the member.
	if u, ok := genericapirequest.UserFrom(ctx); !ok || u.GetName() != agentidentity.AgentUser(name) {
		return nil, apierrors.NewForbidden(agent.Resource("clusterregistrations/"+tunnel.Subresource), name,
			fmt.Errorf("only the agent of cluster %s (%s) may open its tunnel", name, agentidentity.AgentUser(name)))
	}
	if err := r.approved(ctx, name); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		logger := klog.FromContext(req.Context()).WithValues("cluster", name)
		session, err := tunnel.Accept(w, req)
		if err != nil {
			logger.V(2).Info("Refused a tunnel", "err", err)
			return
		}
		r.tunnels.Register(name, session)
		logger.Info("A pull member's tunnel is open", "remote", req.RemoteAddr)
		go r.watch(klog.NewContext(context.Background(), klog.Background().WithValues("cluster", name)), namespace, name, session)
	}), nil
}

// peerHandler gives another replica a stream through name's tunnel here.
func (r *TunnelREST) peerHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !tunnel.IsPeerRequest(req) {
			http.Error(w, fmt.Sprintf("fedhub's peers upgrade the %s subresource to %s", tunnel.Subresource, tunnel.PeerProtocol), http.StatusBadRequest)
			return
		}
		r.tunnels.ServePeer(w, req, name)
	})
}

// approved is nil when the registration name exists and is approved.
func (r *TunnelREST) approved(ctx context.Context, name string) error {
	stored, err := r.registrations.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !stored.(*agent.ClusterRegistration).Spec.Approved {
		return apierrors.NewForbidden(agent.Resource("clusterregistrations/"+tunnel.Subresource), name,
			fmt.Errorf("cluster registration %s is not approved", name))
	}
	return nil
}

// watch closes session once the registration is gone or no longer
// approved, and logs its end.
func (r *TunnelREST) watch(ctx context.Context, namespace, name string, session *yamux.Session) {
	logger := klog.FromContext(ctx)
	ticker := time.NewTicker(revocationCheckInterval)
	defer ticker.Stop()
	ctx = genericapirequest.WithNamespace(ctx, namespace)
	for {
		select {
		case <-session.CloseChan():
			logger.Info("A pull member's tunnel closed")
			return
		case <-ticker.C:
		}
		err := r.approved(ctx, name)
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			logger.Info("Closing the tunnel of a cluster whose registration is gone or not approved", "reason", err)
			_ = session.Close()
			return
		}
	}
}
