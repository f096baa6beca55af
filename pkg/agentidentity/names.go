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

// Package agentidentity names the host identities of pull clusters' agents
// (docs/pull.md, Identities).
package agentidentity

const (
	// AgentNamespace is the host namespace holding the agents' ServiceAccounts.
	AgentNamespace = "fedhub-agents"
	// BootstrapServiceAccountPrefix + cluster is the ServiceAccount whose token registers the cluster.
	BootstrapServiceAccountPrefix = "bootstrap-"
	// AgentServiceAccountPrefix + cluster is the agent's own ServiceAccount, created by fedhub on approval.
	AgentServiceAccountPrefix = "agent-"
	// AutoApproveAnnotation "true" on a bootstrap ServiceAccount approves the registration it creates.
	AutoApproveAnnotation = "agent.fedhub.io/auto-approve"
)
