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

// Package kubefedcluster stores KubeFedClusters, the federation's member clusters.
package kubefedcluster

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/core/validation"
	"github.com/fedhub/fedhub/registry"
)

// kind: the spec is the platform team's, the status is the health prober's.
var kind = registry.SpecStatusKind[core.KubeFedCluster, *core.KubeFedCluster]{
	Versions:             []schema.GroupVersion{v1beta1.SchemeGroupVersion},
	Spec:                 func(c *core.KubeFedCluster) any { return c.Spec },
	CopyStatus:           func(dst, src *core.KubeFedCluster) { dst.Status = src.Status },
	Validate:             validation.ValidateKubeFedCluster,
	ValidateUpdate:       validation.ValidateKubeFedClusterUpdate,
	ValidateStatusUpdate: validation.ValidateKubeFedClusterStatusUpdate,
}

// NewStrategies returns the strategies of kubefedclusters and of their /status.
func NewStrategies(typer runtime.ObjectTyper) (registry.SpecStrategy[core.KubeFedCluster, *core.KubeFedCluster], registry.StatusStrategy[core.KubeFedCluster, *core.KubeFedCluster]) {
	return registry.NewSpecStatusStrategies(typer, kind)
}
