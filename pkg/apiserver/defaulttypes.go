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

package apiserver

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

const (
	// FederationNamespace holds the control plane's configuration, as in KubeFed.
	FederationNamespace = corev1beta1.DefaultFederationNamespace
	// configName is the KubeFedConfig KubeFed installed; its existence marks a
	// federation that was set up before, so defaults are not created again.
	configName = "kubefed"
)

// defaultTypes are the types KubeFed federated out of the box, and two more
// workloads: target plural, group, version, kind, and whether namespaced.
var defaultTypes = []struct {
	plural, group, version, kind string
	namespaced                   bool
}{
	{"clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole", false},
	{"configmaps", "", "v1", "ConfigMap", true},
	{"deployments", "apps", "v1", "Deployment", true},
	{"ingresses", "networking.k8s.io", "v1", "Ingress", true},
	{"jobs", "batch", "v1", "Job", true},
	{"namespaces", "", "v1", "Namespace", false},
	{"replicasets", "apps", "v1", "ReplicaSet", true},
	{"secrets", "", "v1", "Secret", true},
	{"serviceaccounts", "", "v1", "ServiceAccount", true},
	{"services", "", "v1", "Service", true},
	{"statefulsets", "apps", "v1", "StatefulSet", true},
	{"daemonsets", "apps", "v1", "DaemonSet", true},
}

// DefaultTypeConfigs returns the FederatedTypeConfigs of the default types,
// named and shaped as KubeFed's.
func DefaultTypeConfigs() []*corev1beta1.FederatedTypeConfig {
	var configs []*corev1beta1.FederatedTypeConfig
	for _, t := range defaultTypes {
		scope := corev1beta1.ClusterScoped
		if t.namespaced {
			scope = corev1beta1.NamespaceScoped
		}
		target := corev1beta1.APIResource{Group: t.group, Version: t.version, Kind: t.kind, PluralName: t.plural, Scope: scope}
		configs = append(configs, typeconfig.ForTarget(FederationNamespace, target))
	}
	return configs
}

// ensureDefaults creates the default FederatedTypeConfigs and the KubeFedConfig
// the first time fedhub starts on its storage. A user who later deletes a
// default type does not see it come back.
func ensureDefaults(ctx context.Context, client clientset.Interface) error {
	core := client.CoreV1beta1()
	_, err := core.KubeFedConfigs(FederationNamespace).Get(ctx, configName, metav1.GetOptions{})
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	var errs []error
	for _, typeConfig := range DefaultTypeConfigs() {
		if _, err := core.FederatedTypeConfigs(FederationNamespace).Create(ctx, typeConfig, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("FederatedTypeConfig %s: %w", typeConfig.Name, err))
		}
	}
	if len(errs) > 0 {
		// Without the marker, the next start tries again.
		return errors.Join(errs...)
	}
	config := &corev1beta1.KubeFedConfig{
		ObjectMeta: metav1.ObjectMeta{Name: configName, Namespace: FederationNamespace},
		Spec:       corev1beta1.KubeFedConfigSpec{Scope: corev1beta1.ClusterScoped},
	}
	if _, err := core.KubeFedConfigs(FederationNamespace).Create(ctx, config, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	klog.InfoS("Created the default federated types and KubeFedConfig", "namespace", FederationNamespace, "types", len(defaultTypes))
	return nil
}
