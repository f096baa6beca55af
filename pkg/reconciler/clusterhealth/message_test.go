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

package clusterhealth

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestSecretMessages: what "kubectl describe kfc" shows when the cluster's
// Secret cannot be used names the Secret once (issue 19: "Secret Secret ns/name").
func TestSecretMessages(t *testing.T) {
	cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: "member-1", ResourceVersion: "1"},
		Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://member-1.example:6443", SecretRef: corev1beta1.LocalSecretReference{Name: "creds"}}}
	tests := []struct {
		name   string
		secret *corev1.Secret
		noHost bool
		want   string
	}{{
		name: "missing Secret",
		want: "Secret kube-federation-system/creds named by spec.secretRef is missing",
	}, {
		name:   "no host to read it from",
		noHost: true,
		want:   "fedhub runs without a host cluster, so Secret kube-federation-system/creds cannot be read",
	}, {
		name:   "Secret without a token",
		secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNamespace, Name: "creds"}},
		want:   `Secret kube-federation-system/creds has no "token" key`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newHealthFixture(t, cluster, nil, tt.secret)
			if tt.noHost {
				fx.controller.secrets = nil
			}
			o := fx.controller.observe(context.Background(), &prober{name: cluster.Name}, cluster, HealthCheckFrom(nil))
			if o.health != healthMalformed || o.message != tt.want {
				t.Errorf("observed %s %q, want %s %q", o.health, o.message, healthMalformed, tt.want)
			}
		})
	}
}
