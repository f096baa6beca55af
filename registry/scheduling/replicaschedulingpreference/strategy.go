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

// Package replicaschedulingpreference stores ReplicaSchedulingPreferences.
package replicaschedulingpreference

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/apis/scheduling"
	"github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/apis/scheduling/validation"
	"github.com/fedhub/fedhub/registry"
)

// kind: the spec is the application team's, the status is the scheduler's.
var kind = registry.SpecStatusKind[scheduling.ReplicaSchedulingPreference, *scheduling.ReplicaSchedulingPreference]{
	Versions:             []schema.GroupVersion{v1alpha1.SchemeGroupVersion},
	Spec:                 func(p *scheduling.ReplicaSchedulingPreference) any { return p.Spec },
	CopyStatus:           func(dst, src *scheduling.ReplicaSchedulingPreference) { dst.Status = src.Status },
	Validate:             validation.ValidateReplicaSchedulingPreference,
	ValidateUpdate:       validation.ValidateReplicaSchedulingPreferenceUpdate,
	ValidateStatusUpdate: validation.ValidateReplicaSchedulingPreferenceStatusUpdate,
}

// NewStrategies returns the strategies of replicaschedulingpreferences and of their /status.
func NewStrategies(typer runtime.ObjectTyper) (registry.SpecStrategy[scheduling.ReplicaSchedulingPreference, *scheduling.ReplicaSchedulingPreference], registry.StatusStrategy[scheduling.ReplicaSchedulingPreference, *scheduling.ReplicaSchedulingPreference]) {
	return registry.NewSpecStatusStrategies(typer, kind)
}
