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

// Package agentidentity names the host identities of pull-mode agents
// (docs/pull.md): the namespace of their ServiceAccounts, how those are named
// for each cluster, and how a request's user is recognised as one of them.
package agentidentity

import (
	"strings"

	"k8s.io/apiserver/pkg/authentication/serviceaccount"
)

const (
	// AgentNamespace is the host namespace that holds the agents' ServiceAccounts.
	AgentNamespace = "fedhub-agents"
	// AgentServiceAccountPrefix starts the name of a cluster's agent
	// ServiceAccount: agent-NAME, created by fedhub when it first mints a token
	// for the approved registration NAME.
	AgentServiceAccountPrefix = "agent-"
	// BootstrapServiceAccountPrefix starts the name of a cluster's bootstrap
	// ServiceAccount: bootstrap-NAME, created by fedhubctl token create NAME.
	BootstrapServiceAccountPrefix = "bootstrap-"
	// AutoApproveAnnotation on a bootstrap ServiceAccount, "true", has the
	// registration it creates approved at once.
	AutoApproveAnnotation = "agent.fedhub.io/auto-approve"
	// ClusterNameAnnotation on an agent ServiceAccount names its cluster (a
	// label value could not hold every cluster name).
	ClusterNameAnnotation = "agent.fedhub.io/cluster-name"
	// WorkFinalizer is on every Work until the agent has deleted (or orphaned)
	// the member object.
	WorkFinalizer = "agent.fedhub.io/member-cleanup"
)

// Role is what a user of the agent namespace is.
type Role int

const (
	// NotAgent is any user outside the agent namespace.
	NotAgent Role = iota
	// Agent is the ServiceAccount agent-NAME of the cluster NAME.
	Agent
	// Bootstrap is the ServiceAccount bootstrap-NAME of the cluster NAME.
	Bootstrap
	// OtherInAgentNamespace is any other ServiceAccount of the agent namespace.
	OtherInAgentNamespace
)

// String names the role in messages.
func (r Role) String() string {
	switch r {
	case Agent:
		return "agent"
	case Bootstrap:
		return "bootstrap"
	case OtherInAgentNamespace:
		return "other ServiceAccount of " + AgentNamespace
	default:
		return "not an agent"
	}
}

// AgentServiceAccount is the name of the agent ServiceAccount of cluster.
func AgentServiceAccount(cluster string) string { return AgentServiceAccountPrefix + cluster }

// BootstrapServiceAccount is the name of the bootstrap ServiceAccount of cluster.
func BootstrapServiceAccount(cluster string) string { return BootstrapServiceAccountPrefix + cluster }

// AgentUser is the user name a token of cluster's agent ServiceAccount authenticates as.
func AgentUser(cluster string) string {
	return serviceaccount.MakeUsername(AgentNamespace, AgentServiceAccount(cluster))
}

// BootstrapUser is the user name a token of cluster's bootstrap ServiceAccount authenticates as.
func BootstrapUser(cluster string) string {
	return serviceaccount.MakeUsername(AgentNamespace, BootstrapServiceAccount(cluster))
}

// Classify says what the user named username is and, for an agent or a
// bootstrap identity, the cluster it is bound to.
func Classify(username string) (role Role, cluster string) {
	namespace, name, err := serviceaccount.SplitUsername(username)
	if err != nil || namespace != AgentNamespace {
		if strings.HasPrefix(username, serviceaccount.ServiceAccountUsernamePrefix+AgentNamespace+serviceaccount.ServiceAccountUsernameSeparator) {
			// A malformed name in the agent namespace is still that namespace's.
			return OtherInAgentNamespace, ""
		}
		return NotAgent, ""
	}
	if cluster, ok := strings.CutPrefix(name, AgentServiceAccountPrefix); ok && cluster != "" {
		return Agent, cluster
	}
	if cluster, ok := strings.CutPrefix(name, BootstrapServiceAccountPrefix); ok && cluster != "" {
		return Bootstrap, cluster
	}
	return OtherInAgentNamespace, ""
}
