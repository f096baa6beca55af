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

package v1beta1

import (
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// KubeFed's defaults for KubeFedConfig, kept so that a KubeFed user's settings mean the same here.
const (
	DefaultClusterAvailableDelay                   = 20 * time.Second
	DefaultClusterUnavailableDelay                 = 60 * time.Second
	DefaultLeaderElectionLeaseDuration             = 15 * time.Second
	DefaultLeaderElectionRenewDeadline             = 10 * time.Second
	DefaultLeaderElectionRetryPeriod               = 5 * time.Second
	DefaultLeaderElectionResourceLock              = ConfigMapsResourceLock
	DefaultClusterHealthCheckPeriod                = 10 * time.Second
	DefaultClusterHealthCheckFailureThreshold      = 3
	DefaultClusterHealthCheckSuccessThreshold      = 1
	DefaultClusterHealthCheckTimeout               = 3 * time.Second
	DefaultSyncControllerMaxConcurrentReconciles   = 1
	DefaultStatusControllerMaxConcurrentReconciles = 1
)

// Feature gate names a KubeFedConfig may set.
const (
	FeaturePushReconciler              = "PushReconciler"
	FeatureSchedulerPreferences        = "SchedulerPreferences"
	FeatureRawResourceStatusCollection = "RawResourceStatusCollection"
)

// DefaultFeatureGates are the feature gates and their default state.
var DefaultFeatureGates = map[string]ConfigurationMode{
	FeaturePushReconciler:              ConfigurationEnabled,
	FeatureSchedulerPreferences:        ConfigurationEnabled,
	FeatureRawResourceStatusCollection: ConfigurationDisabled,
}

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_KubeFedConfig fills every unset setting with KubeFed's default.
func SetDefaults_KubeFedConfig(obj *KubeFedConfig) {
	spec := &obj.Spec
	if spec.Scope == "" {
		spec.Scope = ClusterScoped
	}
	if spec.ControllerDuration == nil {
		spec.ControllerDuration = &DurationConfig{}
	}
	defaultDuration(&spec.ControllerDuration.AvailableDelay, DefaultClusterAvailableDelay)
	defaultDuration(&spec.ControllerDuration.UnavailableDelay, DefaultClusterUnavailableDelay)

	if spec.LeaderElect == nil {
		spec.LeaderElect = &LeaderElectConfig{}
	}
	if spec.LeaderElect.ResourceLock == nil {
		lock := DefaultLeaderElectionResourceLock
		spec.LeaderElect.ResourceLock = &lock
	}
	defaultDuration(&spec.LeaderElect.LeaseDuration, DefaultLeaderElectionLeaseDuration)
	defaultDuration(&spec.LeaderElect.RenewDeadline, DefaultLeaderElectionRenewDeadline)
	defaultDuration(&spec.LeaderElect.RetryPeriod, DefaultLeaderElectionRetryPeriod)

	spec.FeatureGates = defaultFeatureGates(spec.FeatureGates)

	if spec.ClusterHealthCheck == nil {
		spec.ClusterHealthCheck = &ClusterHealthCheckConfig{}
	}
	defaultDuration(&spec.ClusterHealthCheck.Period, DefaultClusterHealthCheckPeriod)
	defaultDuration(&spec.ClusterHealthCheck.Timeout, DefaultClusterHealthCheckTimeout)
	defaultInt64(&spec.ClusterHealthCheck.FailureThreshold, DefaultClusterHealthCheckFailureThreshold)
	defaultInt64(&spec.ClusterHealthCheck.SuccessThreshold, DefaultClusterHealthCheckSuccessThreshold)

	if spec.SyncController == nil {
		spec.SyncController = &SyncControllerConfig{}
	}
	defaultInt64(&spec.SyncController.MaxConcurrentReconciles, DefaultSyncControllerMaxConcurrentReconciles)
	if spec.SyncController.AdoptResources == nil {
		adopt := AdoptResourcesEnabled
		spec.SyncController.AdoptResources = &adopt
	}

	if spec.StatusController == nil {
		spec.StatusController = &StatusControllerConfig{}
	}
	defaultInt64(&spec.StatusController.MaxConcurrentReconciles, DefaultStatusControllerMaxConcurrentReconciles)
}

// defaultFeatureGates adds every known gate the user did not mention, in name order
// so that the stored object does not change from one defaulting to the next.
func defaultFeatureGates(gates []FeatureGatesConfig) []FeatureGatesConfig {
	mentioned := make(map[string]bool, len(gates))
	for _, gate := range gates {
		mentioned[gate.Name] = true
	}
	for name, mode := range DefaultFeatureGates {
		if !mentioned[name] {
			gates = append(gates, FeatureGatesConfig{Name: name, Configuration: mode})
		}
	}
	sort.SliceStable(gates, func(i, j int) bool { return gates[i].Name < gates[j].Name })
	return gates
}

// SetDefaults_FederatedTypeConfig fills plural names and groups the way KubeFed did:
// the target type's from the object's name, the status type's from the federated type.
func SetDefaults_FederatedTypeConfig(obj *FederatedTypeConfig) {
	plural, group, hasGroup := strings.Cut(obj.Name, ".")
	defaultString(&obj.Spec.TargetType.PluralName, plural)
	if hasGroup {
		defaultString(&obj.Spec.TargetType.Group, group)
	}
	defaultString(&obj.Spec.FederatedType.PluralName, PluralName(obj.Spec.FederatedType.Kind))
	if status := obj.Spec.StatusType; status != nil {
		defaultString(&status.PluralName, PluralName(status.Kind))
		defaultString(&status.Group, obj.Spec.FederatedType.Group)
		defaultString(&status.Version, obj.Spec.FederatedType.Version)
	}
}

// PluralName derives a resource name from a kind with KubeFed's English rules,
// e.g. Ingress -> ingresses, NetworkPolicy -> networkpolicies.
func PluralName(kind string) string {
	lower := strings.ToLower(kind)
	switch {
	case lower == "":
		return ""
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"), strings.HasSuffix(lower, "o"):
		return lower + "es"
	case strings.HasSuffix(lower, "y") && !endsInVowelY(lower):
		return strings.TrimSuffix(lower, "y") + "ies"
	default:
		return lower + "s"
	}
}

// endsInVowelY is true for words like "gateway" whose plural just adds "s".
// KubeFed turned them into "gatewaies"; manifests name their plurals, so only
// defaulted names differ.
func endsInVowelY(word string) bool {
	return len(word) >= 2 && strings.ContainsRune("aeiou", rune(word[len(word)-2]))
}

func defaultString(value *string, fallback string) {
	if *value == "" {
		*value = fallback
	}
}

func defaultDuration(value **metav1.Duration, fallback time.Duration) {
	if *value == nil {
		*value = &metav1.Duration{Duration: fallback}
	}
}

func defaultInt64(value **int64, fallback int64) {
	if *value == nil {
		*value = &fallback
	}
}
