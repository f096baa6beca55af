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
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestClusterProxy: kubefedclusters/NAME/proxy/PATH through fedhub's whole
// handler chain (route, connect options, authorization): a push member
// without a host to read its Secret from and a pull member without a tunnel
// are 503 Status objects that say why, a missing cluster 404. (A pull
// member's tunnel needs its agent's identity, so a host: e2e tests reach
// members; pkg/clusterproxy's tests check what a member receives.)
func TestClusterProxy(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	clusters := server.client.CoreV1beta1().KubeFedClusters(federationNamespace)
	for _, cluster := range []*corev1beta1.KubeFedCluster{
		{ObjectMeta: metav1.ObjectMeta{Name: "proxy-push"}, Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: "https://127.0.0.1:1", SecretRef: corev1beta1.LocalSecretReference{Name: "proxy-push"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "proxy-pull"}, Spec: corev1beta1.KubeFedClusterSpec{
			Mode: corev1beta1.ClusterModePull, APIEndpoint: "https://proxy-pull.example:6443"}},
	} {
		if _, err := clusters.Create(ctx, cluster, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(cluster string) ([]byte, error) {
		return server.client.CoreV1beta1().RESTClient().Get().Namespace(federationNamespace).Resource("kubefedclusters").
			Name(cluster).SubResource("proxy", "api", "v1", "namespaces").Param("limit", "1").
			Timeout(10 * time.Second).DoRaw(ctx)
	}
	for cluster, want := range map[string]string{
		"proxy-push": "cluster proxy-push: fedhub has no host to read its Secret from",
		"proxy-pull": "cluster proxy-pull is a pull member; its agent's tunnel is not connected",
	} {
		body, err := get(cluster)
		// client-go reports a 503 with a message of its own; the Status is the body.
		if !apierrors.IsServiceUnavailable(err) || !strings.Contains(string(body), `"message":"`+want+`"`) {
			t.Errorf("%s: %v %s, want 503 %q", cluster, err, body, want)
		}
	}
	if _, err := get("proxy-none"); !apierrors.IsNotFound(err) {
		t.Errorf("a cluster that does not exist: %v", err)
	}
}
