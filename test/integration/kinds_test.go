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

package integration

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	coreapply "github.com/fedhub/fedhub/generated/applyconfiguration/core/v1beta1"
	schedulingapply "github.com/fedhub/fedhub/generated/applyconfiguration/scheduling/v1alpha1"
)

const federationNamespace = "kube-federation-system"

func objectMetaIn(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: federationNamespace, Labels: labels}
}

// TestEveryKindThroughGeneratedClientset drives each kind through create, get,
// list, watch, update, status update, server-side apply and delete with the
// generated clientset, as a program using fedhub would.
func TestEveryKindThroughGeneratedClientset(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	core := server.client.CoreV1beta1()
	scheduling := server.client.SchedulingV1alpha1()

	t.Run("KubeFedCluster", func(t *testing.T) {
		kindCase[*corev1beta1.KubeFedCluster, *corev1beta1.KubeFedClusterList, *coreapply.KubeFedClusterApplyConfiguration]{
			client: core.KubeFedClusters(federationNamespace),
			newObject: func(name string, labels map[string]string) *corev1beta1.KubeFedCluster {
				return &corev1beta1.KubeFedCluster{ObjectMeta: objectMetaIn(name, labels), Spec: corev1beta1.KubeFedClusterSpec{
					APIEndpoint: "https://" + name + ".example.com:6443",
					SecretRef:   corev1beta1.LocalSecretReference{Name: name + "-token"},
				}}
			},
			changeSpec: func(c *corev1beta1.KubeFedCluster) {
				c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}
			},
			spec: func(c *corev1beta1.KubeFedCluster) any { return c.Spec },
			applyConfig: func(name string) *coreapply.KubeFedClusterApplyConfiguration {
				return coreapply.KubeFedCluster(name, federationNamespace).WithSpec(coreapply.KubeFedClusterSpec().
					WithAPIEndpoint("https://10.0.0.1:6443").
					WithSecretRef(coreapply.LocalSecretReference().WithName("applied-token")))
			},
			updateStatus: func(ctx context.Context, c *corev1beta1.KubeFedCluster) (*corev1beta1.KubeFedCluster, error) {
				return core.KubeFedClusters(federationNamespace).UpdateStatus(ctx, c, metav1.UpdateOptions{})
			},
			setStatus: func(c *corev1beta1.KubeFedCluster) {
				region := "eu-west"
				c.Status = corev1beta1.KubeFedClusterStatus{
					Conditions: []corev1beta1.ClusterCondition{{
						Type: corev1beta1.ClusterReady, Status: corev1.ConditionTrue,
						LastProbeTime: metav1.Now().Rfc3339Copy(),
					}},
					KubernetesVersion: "v1.37.2",
					Zones:             []string{"eu-west-1a"},
					Region:            &region,
				}
			},
			clearStatus: func(c *corev1beta1.KubeFedCluster) { c.Status = corev1beta1.KubeFedClusterStatus{} },
			status:      func(c *corev1beta1.KubeFedCluster) any { return c.Status },
		}.run(t, federationNamespace)
	})

	t.Run("KubeFedConfig", func(t *testing.T) {
		kindCase[*corev1beta1.KubeFedConfig, *corev1beta1.KubeFedConfigList, *coreapply.KubeFedConfigApplyConfiguration]{
			client: core.KubeFedConfigs(federationNamespace),
			newObject: func(name string, labels map[string]string) *corev1beta1.KubeFedConfig {
				return &corev1beta1.KubeFedConfig{ObjectMeta: objectMetaIn(name, labels), Spec: corev1beta1.KubeFedConfigSpec{Scope: corev1beta1.ClusterScoped}}
			},
			changeSpec: func(c *corev1beta1.KubeFedConfig) {
				c.Spec.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: 42_000_000_000}
			},
			spec: func(c *corev1beta1.KubeFedConfig) any { return c.Spec },
			applyConfig: func(name string) *coreapply.KubeFedConfigApplyConfiguration {
				return coreapply.KubeFedConfig(name, federationNamespace).WithSpec(coreapply.KubeFedConfigSpec().WithScope(corev1beta1.NamespaceScoped))
			},
		}.run(t, federationNamespace)
	})

	t.Run("FederatedTypeConfig", func(t *testing.T) {
		kindCase[*corev1beta1.FederatedTypeConfig, *corev1beta1.FederatedTypeConfigList, *coreapply.FederatedTypeConfigApplyConfiguration]{
			client: core.FederatedTypeConfigs(federationNamespace),
			newObject: func(name string, labels map[string]string) *corev1beta1.FederatedTypeConfig {
				return &corev1beta1.FederatedTypeConfig{ObjectMeta: objectMetaIn(name, labels), Spec: typeConfigSpec(name)}
			},
			changeSpec: func(c *corev1beta1.FederatedTypeConfig) { c.Spec.Propagation = corev1beta1.PropagationDisabled },
			spec:       func(c *corev1beta1.FederatedTypeConfig) any { return c.Spec },
			applyConfig: func(name string) *coreapply.FederatedTypeConfigApplyConfiguration {
				return coreapply.FederatedTypeConfig(name, federationNamespace).WithSpec(coreapply.FederatedTypeConfigSpec().
					WithTargetType(coreapply.APIResource().WithVersion("v1").WithKind("Widget").WithPluralName(name).WithScope(corev1beta1.NamespaceScoped)).
					WithFederatedType(coreapply.APIResource().WithGroup("types.kubefed.io").WithVersion("v1beta1").WithKind("FederatedWidget").WithPluralName("federated" + name).WithScope(corev1beta1.NamespaceScoped)).
					WithPropagation(corev1beta1.PropagationEnabled))
			},
			updateStatus: func(ctx context.Context, c *corev1beta1.FederatedTypeConfig) (*corev1beta1.FederatedTypeConfig, error) {
				return core.FederatedTypeConfigs(federationNamespace).UpdateStatus(ctx, c, metav1.UpdateOptions{})
			},
			setStatus: func(c *corev1beta1.FederatedTypeConfig) {
				c.Status = corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: c.Generation, PropagationController: corev1beta1.ControllerStatusRunning}
			},
			clearStatus: func(c *corev1beta1.FederatedTypeConfig) { c.Status = corev1beta1.FederatedTypeConfigStatus{} },
			status:      func(c *corev1beta1.FederatedTypeConfig) any { return c.Status },
		}.run(t, federationNamespace)
	})

	t.Run("ReplicaSchedulingPreference", func(t *testing.T) {
		maxReplicas := int64(8)
		kindCase[*schedulingv1alpha1.ReplicaSchedulingPreference, *schedulingv1alpha1.ReplicaSchedulingPreferenceList, *schedulingapply.ReplicaSchedulingPreferenceApplyConfiguration]{
			client: scheduling.ReplicaSchedulingPreferences("default"),
			newObject: func(name string, labels map[string]string) *schedulingv1alpha1.ReplicaSchedulingPreference {
				return &schedulingv1alpha1.ReplicaSchedulingPreference{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
					Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
						TargetKind: "FederatedDeployment", TotalReplicas: 9,
						Clusters: map[string]schedulingv1alpha1.ClusterPreferences{
							"*":        {Weight: 1},
							"cluster1": {MinReplicas: 2, MaxReplicas: &maxReplicas, Weight: 2},
						},
					},
				}
			},
			changeSpec: func(p *schedulingv1alpha1.ReplicaSchedulingPreference) {
				p.Spec.TotalReplicas = 12
				p.Spec.Rebalance = true
			},
			spec: func(p *schedulingv1alpha1.ReplicaSchedulingPreference) any { return p.Spec },
			applyConfig: func(name string) *schedulingapply.ReplicaSchedulingPreferenceApplyConfiguration {
				return schedulingapply.ReplicaSchedulingPreference(name, "default").WithSpec(schedulingapply.ReplicaSchedulingPreferenceSpec().
					WithTargetKind("FederatedReplicaSet").WithTotalReplicas(3).
					WithClusters(map[string]schedulingapply.ClusterPreferencesApplyConfiguration{"*": *schedulingapply.ClusterPreferences().WithWeight(1)}))
			},
		}.run(t, "default")
	})
}

// typeConfigSpec federates a core-group kind, so the config's name is just the plural.
func typeConfigSpec(plural string) corev1beta1.FederatedTypeConfigSpec {
	return corev1beta1.FederatedTypeConfigSpec{
		TargetType: corev1beta1.APIResource{Version: "v1", Kind: "Widget", PluralName: plural, Scope: corev1beta1.NamespaceScoped},
		FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget",
			PluralName: "federated" + plural, Scope: corev1beta1.NamespaceScoped},
		Propagation: corev1beta1.PropagationEnabled,
	}
}
