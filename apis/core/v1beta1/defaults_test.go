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
	"encoding/json"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pointerTo[T any](v T) *T { return &v }

func metaDuration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// assertEqual compares as values and shows JSON on failure, since the
// interesting fields are pointers whose addresses mean nothing.
func assertSameValue(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("got\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

// kubeFedDefaults spells out KubeFed's defaults literally rather than through
// the package's constants, so that a changed constant fails the test.
func kubeFedDefaults() KubeFedConfigSpec {
	return KubeFedConfigSpec{
		Scope: ClusterScoped,
		ControllerDuration: &DurationConfig{
			AvailableDelay:   metaDuration(20 * time.Second),
			UnavailableDelay: metaDuration(60 * time.Second),
		},
		LeaderElect: &LeaderElectConfig{
			LeaseDuration: metaDuration(15 * time.Second),
			RenewDeadline: metaDuration(10 * time.Second),
			RetryPeriod:   metaDuration(5 * time.Second),
			ResourceLock:  pointerTo(ConfigMapsResourceLock),
		},
		FeatureGates: []FeatureGatesConfig{
			{Name: "PushReconciler", Configuration: ConfigurationEnabled},
			{Name: "RawResourceStatusCollection", Configuration: ConfigurationDisabled},
			{Name: "SchedulerPreferences", Configuration: ConfigurationEnabled},
		},
		ClusterHealthCheck: &ClusterHealthCheckConfig{
			Period:           metaDuration(10 * time.Second),
			FailureThreshold: pointerTo[int64](3),
			SuccessThreshold: pointerTo[int64](1),
			Timeout:          metaDuration(3 * time.Second),
		},
		SyncController: &SyncControllerConfig{
			MaxConcurrentReconciles: pointerTo[int64](1),
			AdoptResources:          pointerTo(AdoptResourcesEnabled),
		},
		StatusController: &StatusControllerConfig{
			MaxConcurrentReconciles: pointerTo[int64](1),
		},
	}
}

func TestSetDefaultsKubeFedConfig(t *testing.T) {
	tests := []struct {
		name string
		spec KubeFedConfigSpec
		// want changes the defaults into what this case expects.
		want func(*KubeFedConfigSpec)
	}{
		{name: "empty spec gets every default", spec: KubeFedConfigSpec{}, want: func(*KubeFedConfigSpec) {}},
		{name: "empty sections get every default", spec: KubeFedConfigSpec{
			ControllerDuration: &DurationConfig{}, LeaderElect: &LeaderElectConfig{}, ClusterHealthCheck: &ClusterHealthCheckConfig{},
			SyncController: &SyncControllerConfig{}, StatusController: &StatusControllerConfig{},
		}, want: func(*KubeFedConfigSpec) {}},
		{name: "user values are kept", spec: KubeFedConfigSpec{
			Scope:              NamespaceScoped,
			ControllerDuration: &DurationConfig{AvailableDelay: metaDuration(5 * time.Second)},
			LeaderElect: &LeaderElectConfig{
				LeaseDuration: metaDuration(30 * time.Second), ResourceLock: pointerTo(EndpointsResourceLock),
			},
			ClusterHealthCheck: &ClusterHealthCheckConfig{FailureThreshold: pointerTo[int64](7), Timeout: metaDuration(time.Second)},
			SyncController:     &SyncControllerConfig{AdoptResources: pointerTo(AdoptResourcesDisabled)},
			StatusController:   &StatusControllerConfig{MaxConcurrentReconciles: pointerTo[int64](4)},
		}, want: func(s *KubeFedConfigSpec) {
			s.Scope = NamespaceScoped
			s.ControllerDuration.AvailableDelay = metaDuration(5 * time.Second)
			s.LeaderElect.LeaseDuration = metaDuration(30 * time.Second)
			s.LeaderElect.ResourceLock = pointerTo(EndpointsResourceLock)
			s.ClusterHealthCheck.FailureThreshold = pointerTo[int64](7)
			s.ClusterHealthCheck.Timeout = metaDuration(time.Second)
			s.SyncController.AdoptResources = pointerTo(AdoptResourcesDisabled)
			s.StatusController.MaxConcurrentReconciles = pointerTo[int64](4)
		}},
		{name: "user gate is kept and not duplicated", spec: KubeFedConfigSpec{
			FeatureGates: []FeatureGatesConfig{{Name: "SchedulerPreferences", Configuration: ConfigurationDisabled}},
		}, want: func(s *KubeFedConfigSpec) {
			s.FeatureGates[2].Configuration = ConfigurationDisabled
		}},
		{name: "user gates are sorted with the defaults", spec: KubeFedConfigSpec{
			FeatureGates: []FeatureGatesConfig{
				{Name: "RawResourceStatusCollection", Configuration: ConfigurationEnabled},
				{Name: "PushReconciler", Configuration: ConfigurationDisabled},
			},
		}, want: func(s *KubeFedConfigSpec) {
			s.FeatureGates[0].Configuration = ConfigurationDisabled
			s.FeatureGates[1].Configuration = ConfigurationEnabled
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &KubeFedConfig{Spec: tt.spec}
			SetDefaults_KubeFedConfig(obj)
			want := kubeFedDefaults()
			tt.want(&want)
			assertSameValue(t, obj.Spec, want)

			// Defaulting runs on every read and write; a second pass must change nothing.
			again := obj.DeepCopy()
			SetDefaults_KubeFedConfig(again)
			assertSameValue(t, again.Spec, obj.Spec)
		})
	}
}

func TestSetDefaultsFederatedTypeConfig(t *testing.T) {
	federatedDeployment := APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment", Scope: NamespaceScoped}
	withPlural := func(r APIResource, plural string) APIResource {
		r.PluralName = plural
		return r
	}
	tests := []struct {
		name string
		obj  FederatedTypeConfig
		want FederatedTypeConfigSpec
	}{
		{
			name: "grouped name fills target plural and group",
			obj: FederatedTypeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "deployments.apps"},
				Spec: FederatedTypeConfigSpec{
					TargetType:    APIResource{Version: "v1", Kind: "Deployment", Scope: NamespaceScoped},
					FederatedType: federatedDeployment,
				},
			},
			want: FederatedTypeConfigSpec{
				TargetType:    APIResource{Group: "apps", Version: "v1", Kind: "Deployment", PluralName: "deployments", Scope: NamespaceScoped},
				FederatedType: withPlural(federatedDeployment, "federateddeployments"),
			},
		},
		{
			name: "core-group name fills the plural only",
			obj: FederatedTypeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "configmaps"},
				Spec:       FederatedTypeConfigSpec{TargetType: APIResource{Version: "v1", Kind: "ConfigMap"}},
			},
			want: FederatedTypeConfigSpec{TargetType: APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps"}},
		},
		{
			name: "dotted group is taken whole",
			obj:  FederatedTypeConfig{ObjectMeta: metav1.ObjectMeta{Name: "clusterroles.rbac.authorization.k8s.io"}},
			want: FederatedTypeConfigSpec{TargetType: APIResource{Group: "rbac.authorization.k8s.io", PluralName: "clusterroles"}},
		},
		{
			name: "status type defaults from the federated type",
			obj: FederatedTypeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "deployments.apps"},
				Spec: FederatedTypeConfigSpec{
					FederatedType: federatedDeployment,
					StatusType:    &APIResource{Kind: "FederatedDeploymentStatus", Scope: NamespaceScoped},
				},
			},
			want: FederatedTypeConfigSpec{
				TargetType:    APIResource{Group: "apps", PluralName: "deployments"},
				FederatedType: withPlural(federatedDeployment, "federateddeployments"),
				StatusType: &APIResource{
					Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeploymentStatus",
					PluralName: "federateddeploymentstatuses", Scope: NamespaceScoped,
				},
			},
		},
		{
			name: "existing values are kept",
			obj: FederatedTypeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "deployments.apps"},
				Spec: FederatedTypeConfigSpec{
					TargetType:    APIResource{Group: "extensions", PluralName: "deploys", Kind: "Deployment"},
					FederatedType: withPlural(federatedDeployment, "fdeploys"),
					StatusType:    &APIResource{Group: "status.example.com", Version: "v1", Kind: "DeployStatus", PluralName: "dstats"},
				},
			},
			want: FederatedTypeConfigSpec{
				TargetType:    APIResource{Group: "extensions", PluralName: "deploys", Kind: "Deployment"},
				FederatedType: withPlural(federatedDeployment, "fdeploys"),
				StatusType:    &APIResource{Group: "status.example.com", Version: "v1", Kind: "DeployStatus", PluralName: "dstats"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj.DeepCopy()
			SetDefaults_FederatedTypeConfig(obj)
			assertSameValue(t, obj.Spec, tt.want)
		})
	}
}

func TestPluralName(t *testing.T) {
	tests := []struct{ kind, want string }{
		{"", ""},
		{"Ingress", "ingresses"},
		{"NetworkPolicy", "networkpolicies"},
		{"Gateway", "gateways"},
		{"ConfigMap", "configmaps"},
		{"Deployment", "deployments"},
		{"FederatedDeployment", "federateddeployments"},
		{"Box", "boxes"},
		{"Batch", "batches"},
		{"Mesh", "meshes"},
		{"Echo", "echoes"},
		{"Key", "keys"},
		// The rules add "es" after a final "s" even when the kind is already plural.
		{"Endpoints", "endpointses"},
	}
	for _, tt := range tests {
		if got := PluralName(tt.kind); got != tt.want {
			t.Errorf("PluralName(%q) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}
