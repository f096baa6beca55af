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

// Package clusterregistration stores ClusterRegistrations, pull-mode members'
// requests to join, and serves their token subresource.
package clusterregistration

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/apis/agent/validation"
	"github.com/fedhub/fedhub/registry"
)

// kind: the spec is the agent's request and the administrator's approval, the
// status is the agent's report and lease.
var kind = registry.SpecStatusKind[agent.ClusterRegistration, *agent.ClusterRegistration]{
	Versions:             []schema.GroupVersion{v1alpha1.SchemeGroupVersion},
	Spec:                 func(r *agent.ClusterRegistration) any { return r.Spec },
	CopyStatus:           func(dst, src *agent.ClusterRegistration) { dst.Status = src.Status },
	Validate:             validation.ValidateClusterRegistration,
	ValidateUpdate:       validation.ValidateClusterRegistrationUpdate,
	ValidateStatusUpdate: validation.ValidateClusterRegistrationStatusUpdate,
}

// NewStrategies returns the strategies of clusterregistrations and of their /status.
func NewStrategies(typer runtime.ObjectTyper) (registry.SpecStrategy[agent.ClusterRegistration, *agent.ClusterRegistration], registry.StatusStrategy[agent.ClusterRegistration, *agent.ClusterRegistration]) {
	return registry.NewSpecStatusStrategies(typer, kind)
}
