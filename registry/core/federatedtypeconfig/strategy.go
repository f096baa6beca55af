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

// Package federatedtypeconfig stores FederatedTypeConfigs, which make types federated.
package federatedtypeconfig

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/core/validation"
	"github.com/fedhub/fedhub/registry"
)

// kind: the spec is the platform team's, the status is the reconciler's.
var kind = registry.SpecStatusKind[core.FederatedTypeConfig, *core.FederatedTypeConfig]{
	Versions:             []schema.GroupVersion{v1beta1.SchemeGroupVersion},
	Spec:                 func(c *core.FederatedTypeConfig) any { return c.Spec },
	CopyStatus:           func(dst, src *core.FederatedTypeConfig) { dst.Status = src.Status },
	Validate:             validation.ValidateFederatedTypeConfig,
	ValidateUpdate:       validation.ValidateFederatedTypeConfigUpdate,
	ValidateStatusUpdate: validation.ValidateFederatedTypeConfigStatusUpdate,
}

// NewStrategies returns the strategies of federatedtypeconfigs and of their /status.
func NewStrategies(typer runtime.ObjectTyper) (registry.SpecStrategy[core.FederatedTypeConfig, *core.FederatedTypeConfig], registry.StatusStrategy[core.FederatedTypeConfig, *core.FederatedTypeConfig]) {
	return registry.NewSpecStatusStrategies(typer, kind)
}
