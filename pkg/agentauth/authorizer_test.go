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

package agentauth

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
)

const ns = "kube-federation-system"

func registration(name string, approved bool) *agentv1alpha1.ClusterRegistration {
	return &agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: approved}}
}

func newAuthorizer(t *testing.T, synced bool, objs ...*agentv1alpha1.ClusterRegistration) *Authorizer {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, obj := range objs {
		if err := indexer.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	return New(ns, agentlisters.NewClusterRegistrationLister(indexer), func() bool { return synced })
}

// request is a resource request in agent.fedhub.io in the federation namespace.
func request(userName, verb, resource, subresource, name string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{
		User: &user.DefaultInfo{Name: userName}, Verb: verb, ResourceRequest: true, Namespace: ns,
		APIGroup: "agent.fedhub.io", APIVersion: "v1alpha1", Resource: resource, Subresource: subresource, Name: name,
	}
}

const (
	bootstrap1 = "system:serviceaccount:fedhub-agents:bootstrap-member-1"
	agent1     = "system:serviceaccount:fedhub-agents:agent-member-1"
	agent2     = "system:serviceaccount:fedhub-agents:agent-member-2"
	agent3     = "system:serviceaccount:fedhub-agents:agent-member-3"
	agentGone  = "system:serviceaccount:fedhub-agents:agent-gone"
)

func TestAuthorize(t *testing.T) {
	authz := newAuthorizer(t, true, registration("member-1", true), registration("member-2", true), registration("member-3", false))
	other := func(attrs authorizer.AttributesRecord, change func(*authorizer.AttributesRecord)) authorizer.AttributesRecord {
		change(&attrs)
		return attrs
	}
	tests := []struct {
		name   string
		attrs  authorizer.AttributesRecord
		want   authorizer.Decision
		reason string // a part of the Deny's reason
	}{
		// Bootstrap identities.
		{"bootstrap creates a registration", request(bootstrap1, "create", "clusterregistrations", "", ""), authorizer.DecisionAllow, ""},
		{"bootstrap gets its registration", request(bootstrap1, "get", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"bootstrap lists its registration by field selector", request(bootstrap1, "list", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"bootstrap watches its registration by field selector", request(bootstrap1, "watch", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"bootstrap creates its token, approved or not (the REST decides)", request(bootstrap1, "create", "clusterregistrations", "token", "member-1"), authorizer.DecisionAllow, ""},
		{"bootstrap lists every registration", request(bootstrap1, "list", "clusterregistrations", "", ""), authorizer.DecisionDeny, "fieldSelector=metadata.name=member-1"},
		{"bootstrap gets another registration", request(bootstrap1, "get", "clusterregistrations", "", "member-2"), authorizer.DecisionDeny, "bootstrap identity of cluster member-1"},
		{"bootstrap creates another's token", request(bootstrap1, "create", "clusterregistrations", "token", "member-2"), authorizer.DecisionDeny, "create clusterregistrations/token member-2"},
		{"bootstrap updates its registration", request(bootstrap1, "update", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, "update clusterregistrations member-1"},
		{"bootstrap writes its status", request(bootstrap1, "update", "clusterregistrations", "status", "member-1"), authorizer.DecisionDeny, ""},
		{"bootstrap deletes its registration", request(bootstrap1, "delete", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, ""},
		{"bootstrap lists works", request(bootstrap1, "list", "works", "", ""), authorizer.DecisionDeny, "list works"},
		{"bootstrap in another group", other(request(bootstrap1, "list", "kubefedclusters", "", ""), func(a *authorizer.AttributesRecord) { a.APIGroup = "core.kubefed.io" }),
			authorizer.DecisionDeny, "may only use agent.fedhub.io"},

		// Agent identities.
		{"agent gets its registration", request(agent1, "get", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"agent watches its registration", request(agent1, "watch", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"agent lists its registration", request(agent1, "list", "clusterregistrations", "", "member-1"), authorizer.DecisionAllow, ""},
		{"agent gets its status", request(agent1, "get", "clusterregistrations", "status", "member-1"), authorizer.DecisionAllow, ""},
		{"agent updates its status", request(agent1, "update", "clusterregistrations", "status", "member-1"), authorizer.DecisionAllow, ""},
		{"agent patches its status", request(agent1, "patch", "clusterregistrations", "status", "member-1"), authorizer.DecisionAllow, ""},
		{"agent renews its token", request(agent1, "create", "clusterregistrations", "token", "member-1"), authorizer.DecisionAllow, ""},
		{"agent opens its tunnel", request(agent1, "get", "clusterregistrations", "attach", "member-1"), authorizer.DecisionAllow, ""},
		{"agent of member-2 opens member-1's tunnel", request(agent2, "get", "clusterregistrations", "attach", "member-1"), authorizer.DecisionDeny, "another cluster"},
		{"agent opens its tunnel with a POST", request(agent1, "create", "clusterregistrations", "attach", "member-1"), authorizer.DecisionDeny, "create clusterregistrations/attach member-1"},
		{"agent of an unapproved cluster opens its tunnel", request(agent3, "get", "clusterregistrations", "attach", "member-3"), authorizer.DecisionDeny, "not approved"},
		{"agent of a removed cluster opens its tunnel", request(agentGone, "get", "clusterregistrations", "attach", "gone"), authorizer.DecisionDeny, "does not exist"},
		{"bootstrap opens its cluster's tunnel", request(bootstrap1, "get", "clusterregistrations", "attach", "member-1"), authorizer.DecisionDeny, "get clusterregistrations/attach member-1"},
		{"agent lists works", request(agent1, "list", "works", "", ""), authorizer.DecisionAllow, ""},
		{"agent watches works", request(agent1, "watch", "works", "", ""), authorizer.DecisionAllow, ""},
		{"agent gets a work", request(agent1, "get", "works", "", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent updates a work (finalizer)", request(agent1, "update", "works", "", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent patches a work (finalizer)", request(agent1, "patch", "works", "", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent gets a work's status", request(agent1, "get", "works", "status", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent updates a work's status", request(agent1, "update", "works", "status", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent patches a work's status", request(agent1, "patch", "works", "status", "member-1-0123456789abcdef"), authorizer.DecisionAllow, ""},
		{"agent of member-2 reads member-1's registration", request(agent2, "get", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, "another cluster"},
		{"agent of member-2 writes member-1's status", request(agent2, "update", "clusterregistrations", "status", "member-1"), authorizer.DecisionDeny, "another cluster"},
		{"agent of member-2 takes member-1's token", request(agent2, "create", "clusterregistrations", "token", "member-1"), authorizer.DecisionDeny, "another cluster"},
		{"agent lists every registration", request(agent1, "list", "clusterregistrations", "", ""), authorizer.DecisionDeny, ""},
		{"agent creates a registration", request(agent1, "create", "clusterregistrations", "", ""), authorizer.DecisionDeny, ""},
		{"agent updates its registration (approval)", request(agent1, "update", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, "update clusterregistrations member-1"},
		{"agent patches its registration", request(agent1, "patch", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, ""},
		{"agent deletes its registration", request(agent1, "delete", "clusterregistrations", "", "member-1"), authorizer.DecisionDeny, ""},
		{"agent creates a work", request(agent1, "create", "works", "", ""), authorizer.DecisionDeny, "create works"},
		{"agent deletes a work", request(agent1, "delete", "works", "", "member-1-0123456789abcdef"), authorizer.DecisionDeny, ""},
		{"agent deletes every work", request(agent1, "deletecollection", "works", "", ""), authorizer.DecisionDeny, ""},
		{"agent creates a work's status", request(agent1, "create", "works", "status", "x"), authorizer.DecisionDeny, ""},
		{"agent in another namespace", other(request(agent1, "list", "works", "", ""), func(a *authorizer.AttributesRecord) { a.Namespace = "default" }),
			authorizer.DecisionDeny, "in the namespace kube-federation-system"},
		{"agent across namespaces", other(request(agent1, "list", "works", "", ""), func(a *authorizer.AttributesRecord) { a.Namespace = "" }),
			authorizer.DecisionDeny, ""},
		{"agent in another group", other(request(agent1, "list", "federateddeployments", "", ""), func(a *authorizer.AttributesRecord) { a.APIGroup = "types.kubefed.io" }),
			authorizer.DecisionDeny, "may only use agent.fedhub.io"},
		{"agent reads secrets", other(request(agent1, "get", "secrets", "", "x"), func(a *authorizer.AttributesRecord) { a.APIGroup = "" }),
			authorizer.DecisionDeny, ""},
		{"agent before approval", request(agent3, "list", "works", "", ""), authorizer.DecisionDeny, "cluster registration member-3 is not approved"},
		{"agent before approval gets its registration", request(agent3, "get", "clusterregistrations", "", "member-3"), authorizer.DecisionDeny, "not approved"},
		{"agent without registration", request(agentGone, "get", "clusterregistrations", "", "gone"), authorizer.DecisionDeny, "cluster registration gone does not exist"},

		// Other users and identities.
		{"another ServiceAccount of fedhub-agents", request("system:serviceaccount:fedhub-agents:default", "get", "clusterregistrations", "", "member-1"),
			authorizer.DecisionDeny, "neither a bootstrap"},
		{"a prefix alone", request("system:serviceaccount:fedhub-agents:agent-", "list", "works", "", ""), authorizer.DecisionDeny, "neither a bootstrap"},
		{"an admin", request("admin", "delete", "clusterregistrations", "", "member-1"), authorizer.DecisionNoOpinion, ""},
		{"a ServiceAccount of another namespace", request("system:serviceaccount:kube-system:agent-member-1", "list", "works", "", ""), authorizer.DecisionNoOpinion, ""},
		{"an agent's discovery", authorizer.AttributesRecord{User: &user.DefaultInfo{Name: agent1}, Verb: "get", Path: "/apis"}, authorizer.DecisionNoOpinion, ""},
		{"a bootstrap's discovery", authorizer.AttributesRecord{User: &user.DefaultInfo{Name: bootstrap1}, Verb: "get", Path: "/apis/agent.fedhub.io/v1alpha1"}, authorizer.DecisionNoOpinion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := authz.Authorize(context.Background(), tt.attrs)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if got != tt.want {
				t.Fatalf("decision = %v (%q), want %v", got, reason, tt.want)
			}
			if got == authorizer.DecisionDeny && reason == "" {
				t.Errorf("a Deny without a reason")
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("reason %q does not say %q", reason, tt.reason)
			}
		})
	}
}

func TestAuthorizeBeforeSync(t *testing.T) {
	authz := newAuthorizer(t, false, registration("member-1", true))
	got, reason, _ := authz.Authorize(context.Background(), request(agent1, "list", "works", "", ""))
	if got != authorizer.DecisionDeny || !strings.Contains(reason, "not ready") {
		t.Errorf("agent before the cache synced: %v %q, want Deny, not ready", got, reason)
	}
	// A bootstrap identity needs no registration, so no cache.
	if got, _, _ := authz.Authorize(context.Background(), request(bootstrap1, "create", "clusterregistrations", "", "")); got != authorizer.DecisionAllow {
		t.Errorf("bootstrap before the cache synced: %v, want Allow", got)
	}
}

// TestInFrontOf checks that the agents' decisions are not widened by the
// delegate, and that everyone else is the delegate's to decide.
func TestInFrontOf(t *testing.T) {
	allowAll := authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionAllow, "", nil
	})
	authz, err := newAuthorizer(t, true, registration("member-1", true)).InFrontOf(allowAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		attrs authorizer.AttributesRecord
		want  authorizer.Decision
	}{
		{request(agent1, "delete", "works", "", "x"), authorizer.DecisionDeny},
		{request(agent2, "list", "works", "", ""), authorizer.DecisionDeny},
		{request(agent1, "list", "works", "", ""), authorizer.DecisionAllow},
		{request("admin", "delete", "works", "", "x"), authorizer.DecisionAllow},
		{authorizer.AttributesRecord{User: &user.DefaultInfo{Name: agent1}, Verb: "get", Path: "/apis"}, authorizer.DecisionAllow},
	} {
		if got, reason, _ := authz.Authorize(context.Background(), tt.attrs); got != tt.want {
			t.Errorf("%s %s %s: %v (%q), want %v", tt.attrs.User.GetName(), tt.attrs.Verb, tt.attrs.Resource, got, reason, tt.want)
		}
	}
}
