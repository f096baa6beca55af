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

package join

import (
	"context"
	"io"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
)

// TestUnjoinOfAnUnknownName: a name that is not a KubeFedCluster is the
// server's NotFound and touches nothing, as kubectl delete does (issue 19:
// unjoin said "nothing of the federation is left" and exited 0); with
// IgnoreNotFound it is no error and what join left of the name is removed.
func TestUnjoinOfAnUnknownName(t *testing.T) {
	const ns = DefaultFederationNamespace
	hostSecret := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	tests := []struct {
		name           string
		clusters       []runtime.Object
		unjoin         string
		ignoreNotFound bool
		wantNotFound   string
		wantRemoved    []string
		wantSecrets    []string
	}{{
		name:        "a KubeFedCluster",
		clusters:    []runtime.Object{&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "member-1"}, Spec: corev1beta1.KubeFedClusterSpec{SecretRef: corev1beta1.LocalSecretReference{Name: "member-1-creds"}}}},
		unjoin:      "member-1",
		wantRemoved: []string{"fedhub: KubeFedCluster kube-federation-system/member-1", "host: Secret kube-federation-system/member-1-creds"},
		wantSecrets: []string{"no-such-cluster"},
	}, {
		name:         "an unknown name",
		unjoin:       "no-such-cluster",
		wantNotFound: `kubefedclusters.core.kubefed.io "no-such-cluster" not found`,
		wantSecrets:  []string{"member-1-creds", "no-such-cluster"},
	}, {
		name:           "an unknown name, ignored",
		unjoin:         "no-such-cluster",
		ignoreNotFound: true,
		wantRemoved:    []string{"host: Secret kube-federation-system/no-such-cluster"},
		wantSecrets:    []string{"member-1-creds"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			host := kubefake.NewSimpleClientset(hostSecret("member-1-creds"), hostSecret("no-such-cluster"))
			report, err := Unjoin(ctx, UnjoinOptions{
				ClusterName: tt.unjoin, FederationNamespace: ns,
				Host: host, Federation: fedfake.NewSimpleClientset(tt.clusters...),
				FederationDynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()),
				Progress:          io.Discard, IgnoreNotFound: tt.ignoreNotFound,
			})
			if tt.wantNotFound != "" {
				if !apierrors.IsNotFound(err) || err.Error() != tt.wantNotFound {
					t.Fatalf("error %v, want NotFound %q", err, tt.wantNotFound)
				}
				if report != nil {
					t.Errorf("report %+v, want none", report)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !slices.Equal(report.Removed, tt.wantRemoved) {
				t.Errorf("removed %q, want %q", report.Removed, tt.wantRemoved)
			}
			secrets, err := host.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range secrets.Items {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.wantSecrets) {
				t.Errorf("host Secrets left %q, want %q", names, tt.wantSecrets)
			}
		})
	}
}
