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

// Package agentauth decides, in fedhub itself, what the pull-mode agents'
// host identities may do (docs/pull.md, "What fedhub lets an agent do"). It
// answers for every ServiceAccount of the agents' namespace and is put in
// front of the delegated authorizer, so that the host's RBAC, however loose,
// never widens an agent.
package agentauth

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/client-go/tools/cache"

	"github.com/fedhub/fedhub/apis/agent"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

const (
	registrations = "clusterregistrations"
	works         = "works"
)

// Authorizer answers for the users system:serviceaccount:fedhub-agents:*:
// Allow or Deny for every resource request, NoOpinion for the rest (the
// host's RBAC then decides discovery and other non-resource paths), and
// NoOpinion for every other user.
type Authorizer struct {
	namespace     string
	registrations agentlisters.ClusterRegistrationLister
	synced        cache.InformerSynced
}

// New returns the authorizer for the ClusterRegistrations and Works of
// namespace (the federation namespace); registrations is a cache of them,
// filled once synced returns true.
func New(namespace string, registrations agentlisters.ClusterRegistrationLister, synced cache.InformerSynced) *Authorizer {
	return &Authorizer{namespace: namespace, registrations: registrations, synced: synced}
}

// AuthorizerName names the authorizer in the union InFrontOf builds.
const AuthorizerName = "fedhub-agents"

// InFrontOf returns an authorizer that asks a first and delegate only when a
// has no opinion, i.e. for every user but the agents.
func (a *Authorizer) InFrontOf(delegate authorizer.Authorizer) (authorizer.Authorizer, error) {
	// Its decisions are unconditional, as AuthorizerFunc's.
	return union.New(union.NamedAuthorizer{AuthorizerName: AuthorizerName, Authorizer: authorizer.AuthorizerFunc(a.Authorize)},
		union.NamedAuthorizer{AuthorizerName: "delegated", Authorizer: delegate})
}

// Authorize decides a request; the reason of a Deny says why.
func (a *Authorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if attrs.GetUser() == nil {
		return authorizer.DecisionNoOpinion, "", nil
	}
	role, cluster := agentidentity.Classify(attrs.GetUser().GetName())
	if role == agentidentity.NotAgent || !attrs.IsResourceRequest() {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if attrs.GetAPIGroup() != agent.GroupName || attrs.GetNamespace() != a.namespace {
		return deny("a pull-mode agent may only use %s in the namespace %s", agent.GroupName, a.namespace)
	}
	switch role {
	case agentidentity.Bootstrap:
		return authorizeBootstrap(cluster, attrs)
	case agentidentity.Agent:
		return a.authorizeAgent(cluster, attrs)
	}
	return deny("the user %s of %s is neither a bootstrap (%sNAME) nor an agent (%sNAME) identity", attrs.GetUser().GetName(),
		agentidentity.AgentNamespace, agentidentity.BootstrapServiceAccountPrefix, agentidentity.AgentServiceAccountPrefix)
}

// authorizeBootstrap lets a bootstrap identity register its cluster, read
// that registration and ask for the agent's token (which the token
// subresource refuses until the registration is approved).
func authorizeBootstrap(cluster string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	resource, subresource, verb, name := attrs.GetResource(), attrs.GetSubresource(), attrs.GetVerb(), attrs.GetName()
	switch {
	case resource == registrations && subresource == "" && verb == "create":
		return allow() // admission holds the name to the cluster's
	case resource == registrations && subresource == "" && readVerb(verb) && name == cluster:
		return allow()
	case resource == registrations && subresource == "token" && verb == "create" && name == cluster:
		return allow()
	case resource == registrations && subresource == "" && readVerb(verb) && name == "":
		return deny("a bootstrap identity of cluster %s may read only its own ClusterRegistration: %s it with fieldSelector=metadata.name=%s",
			cluster, verb, cluster)
	}
	return deny("a bootstrap identity of cluster %s may only create the ClusterRegistration %s, read it and create its token, not %s",
		cluster, cluster, describe(attrs))
}

// authorizeAgent lets an agent identity, while its cluster's registration
// exists and is approved, read its registration, write its status (the
// lease), renew its token, open its tunnel (get of clusterregistrations/attach),
// and read and report on Works (their storage
// narrows them to the agent's cluster).
func (a *Authorizer) authorizeAgent(cluster string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if !a.synced() {
		return deny("fedhub is not ready to authorize agents yet: its cache of cluster registrations is still filling")
	}
	registration, err := a.registrations.ClusterRegistrations(a.namespace).Get(cluster)
	switch {
	case apierrors.IsNotFound(err):
		return deny("cluster registration %s does not exist", cluster)
	case err != nil:
		return deny("reading cluster registration %s: %v", cluster, err)
	case !registration.Spec.Approved:
		return deny("cluster registration %s is not approved", cluster)
	}
	resource, subresource, verb, name := attrs.GetResource(), attrs.GetSubresource(), attrs.GetVerb(), attrs.GetName()
	switch {
	case resource == registrations && subresource == "" && readVerb(verb) && name == cluster:
		return allow()
	case resource == registrations && subresource == "status" && slices.Contains([]string{"get", "update", "patch"}, verb) && name == cluster:
		return allow()
	case resource == registrations && subresource == "token" && verb == "create" && name == cluster:
		return allow()
	case resource == registrations && subresource == tunnel.Subresource && verb == "get" && name == cluster:
		return allow() // the pull tunnel, an upgraded GET
	case resource == works && subresource == "" && slices.Contains([]string{"get", "list", "watch", "update", "patch"}, verb):
		return allow() // the storage narrows these to the agent's cluster
	case resource == works && subresource == "status" && slices.Contains([]string{"get", "update", "patch"}, verb):
		return allow()
	case resource == registrations && name != cluster:
		return deny("the agent of cluster %s may not use the ClusterRegistration of another cluster (%s)", cluster, describe(attrs))
	}
	return deny("the agent of cluster %s may not %s", cluster, describe(attrs))
}

func readVerb(verb string) bool {
	return verb == "get" || verb == "list" || verb == "watch"
}

// describe names a request as "VERB RESOURCE[/SUBRESOURCE] [NAME]".
func describe(attrs authorizer.Attributes) string {
	what := attrs.GetVerb() + " " + attrs.GetResource()
	if attrs.GetSubresource() != "" {
		what += "/" + attrs.GetSubresource()
	}
	if attrs.GetName() != "" {
		what += " " + attrs.GetName()
	}
	return what
}

func allow() (authorizer.Decision, string, error) {
	return authorizer.DecisionAllow, "", nil
}

func deny(format string, args ...any) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, fmt.Sprintf(format, args...), nil
}
