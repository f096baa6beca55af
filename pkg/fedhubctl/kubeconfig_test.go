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

package fedhubctl

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/generated/clientset/versioned/fake"
)

// testHostKubeconfig is a kubeconfig with a host context whose user has a
// client certificate in files, and another context with a token.
func testHostKubeconfig(t *testing.T) clientcmdapi.Config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"ca.crt": "host CA", "alice.crt": "alice cert", "alice.key": "alice key"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := clientcmdapi.NewConfig()
	config.Clusters["host"] = &clientcmdapi.Cluster{Server: "https://host.example:6443/", CertificateAuthority: filepath.Join(dir, "ca.crt")}
	config.Clusters["other"] = &clientcmdapi.Cluster{Server: "https://other.example"}
	config.AuthInfos["alice"] = &clientcmdapi.AuthInfo{ClientCertificate: filepath.Join(dir, "alice.crt"), ClientKey: filepath.Join(dir, "alice.key")}
	config.AuthInfos["bob"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "get-token", APIVersion: "client.authentication.k8s.io/v1", InteractiveMode: clientcmdapi.NeverExecInteractiveMode}}
	config.AuthInfos["carol"] = &clientcmdapi.AuthInfo{Token: "carol-token"}
	config.Contexts["host"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "alice", Namespace: "team-a"}
	config.Contexts["host-bob"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "bob"}
	config.Contexts["other"] = &clientcmdapi.Context{Cluster: "other", AuthInfo: "carol"}
	config.CurrentContext = "host"
	return *config
}

func TestProxyKubeconfig(t *testing.T) {
	raw := testHostKubeconfig(t)
	const proxyURL = "https://host.example:6443/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters/member-1/proxy"
	tests := []struct {
		hostContext string
		wantUser    string
		want        clientcmdapi.AuthInfo
	}{
		{"", "alice", clientcmdapi.AuthInfo{ClientCertificateData: []byte("alice cert"), ClientKeyData: []byte("alice key")}},
		{"host-bob", "bob", *raw.AuthInfos["bob"]},
	}
	for _, tt := range tests {
		got, err := proxyKubeconfig(raw, tt.hostContext, "kube-federation-system", "member-1")
		if err != nil {
			t.Fatalf("context %q: %v", tt.hostContext, err)
		}
		if got.CurrentContext != "member-1" || len(got.Contexts) != 1 || len(got.Clusters) != 1 || len(got.AuthInfos) != 1 {
			t.Fatalf("context %q: want one context, cluster and user, current member-1; got %+v", tt.hostContext, got)
		}
		if want := (clientcmdapi.Context{Cluster: "member-1", AuthInfo: tt.wantUser}); !reflect.DeepEqual(*got.Contexts["member-1"], want) {
			t.Errorf("context %q: context %+v, want %+v (no host namespace)", tt.hostContext, *got.Contexts["member-1"], want)
		}
		cluster := got.Clusters["member-1"]
		if cluster.Server != proxyURL || string(cluster.CertificateAuthorityData) != "host CA" || cluster.CertificateAuthority != "" {
			t.Errorf("context %q: cluster %+v, want server %s with the host's CA embedded", tt.hostContext, cluster, proxyURL)
		}
		if user := got.AuthInfos[tt.wantUser]; user == nil || !reflect.DeepEqual(*user, tt.want) {
			t.Errorf("context %q: user %+v, want %+v", tt.hostContext, user, tt.want)
		}
		// What kubectl loads from it reaches the proxy as the host user.
		restConfig, err := clientcmd.NewDefaultClientConfig(*got, nil).ClientConfig()
		if err != nil {
			t.Fatalf("context %q: %v", tt.hostContext, err)
		}
		if restConfig.Host != proxyURL {
			t.Errorf("context %q: rest config host %s, want %s", tt.hostContext, restConfig.Host, proxyURL)
		}
	}
	if _, err := proxyKubeconfig(raw, "missing", "kube-federation-system", "member-1"); err == nil {
		t.Error("a missing host context was accepted")
	}
	if got, _ := proxyKubeconfig(raw, "", "kube-federation-system", "member-1"); raw.CurrentContext != "host" || len(raw.Contexts) != 3 || got == nil {
		t.Error("the caller's kubeconfig was changed")
	}
}

func TestMemberKubeconfigRefusesUnknownCluster(t *testing.T) {
	raw := testHostKubeconfig(t)
	fedhub := fake.NewSimpleClientset(&corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-1", Namespace: "kube-federation-system"},
	})
	ctx := context.Background()
	if _, err := memberKubeconfig(ctx, fedhub, raw, "", "kube-federation-system", "member-1"); err != nil {
		t.Fatalf("member-1: %v", err)
	}
	_, err := memberKubeconfig(ctx, fedhub, raw, "", "kube-federation-system", "member-3")
	if !apierrors.IsNotFound(err) {
		t.Fatalf("member-3: got %v, want the server's NotFound", err)
	}
}
