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
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/cmd/server"
)

// TestExternalEtcd runs fedhub against an etcd it did not start, named with
// --etcd-servers and reached with a client certificate (--etcd-certfile,
// --etcd-keyfile, --etcd-cafile), and finds the stored object there under
// fedhub's prefix, in the KubeFed wire form.
func TestExternalEtcd(t *testing.T) {
	etcd, err := server.StartEmbeddedEtcd(filepath.Join(t.TempDir(), "external-etcd"))
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Stop()

	fedhub := startFedhub(t, t.TempDir(), func(o *server.Options) {
		etcd.ApplyTo(&o.RecommendedOptions.Etcd.StorageConfig.Transport)
		o.EmbeddedEtcdDir = "" // must not be needed
	})
	defer fedhub.stop()

	ctx := context.Background()
	_, err = fedhub.client.CoreV1beta1().KubeFedClusters(federationNamespace).Create(ctx, &corev1beta1.KubeFedCluster{
		ObjectMeta: objectMetaIn("external", nil),
		Spec:       corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://external:6443", SecretRef: corev1beta1.LocalSecretReference{Name: "external"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	client, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.ClientURL}, TLS: etcd.ClientTLS, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	key := "/registry/fedhub/core.kubefed.io/kubefedclusters/" + federationNamespace + "/external"
	response, err := client.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(response.Kvs) != 1 {
		t.Fatalf("etcd has %d values at %s, want 1", len(response.Kvs), key)
	}
	stored := string(response.Kvs[0].Value)
	for _, want := range []string{`"apiVersion":"core.kubefed.io/v1beta1"`, `"kind":"KubeFedCluster"`, `"apiEndpoint":"https://external:6443"`} {
		if !strings.Contains(stored, want) {
			t.Errorf("the stored object lacks %s: %s", want, stored)
		}
	}
}
