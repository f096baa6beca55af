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

// Package kubefedconfig stores KubeFedConfigs, the control plane's settings.
package kubefedconfig

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/validation"
	"github.com/fedhub/fedhub/registry"
)

// Strategy governs writes to kubefedconfigs. Defaults are filled by the
// versioned decoding, so validation sees the complete settings.
type Strategy struct {
	registry.NamespacedStrategy
}

// NewStrategy returns the kubefedconfigs strategy.
func NewStrategy(typer runtime.ObjectTyper) Strategy {
	return Strategy{registry.NewNamespacedStrategy(typer)}
}

// PrepareForCreate starts the generation at 1.
func (Strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*core.KubeFedConfig).Generation = 1
}

// PrepareForUpdate bumps the generation when the settings change.
func (Strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newConfig, oldConfig := obj.(*core.KubeFedConfig), old.(*core.KubeFedConfig)
	if !apiequality.Semantic.DeepEqual(newConfig.Spec, oldConfig.Spec) {
		newConfig.Generation = oldConfig.Generation + 1
	}
}

// Validate checks new settings.
func (Strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateKubeFedConfig(obj.(*core.KubeFedConfig))
}

// ValidateUpdate checks changed settings.
func (Strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateKubeFedConfigUpdate(obj.(*core.KubeFedConfig), old.(*core.KubeFedConfig))
}
