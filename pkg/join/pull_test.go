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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// fakeHost is a host whose TokenRequest API answers with a token naming the
// ServiceAccount and records the lifetimes asked for.
func fakeHost(objects ...runtime.Object) (*kubefake.Clientset, *[]int64) {
	host := kubefake.NewSimpleClientset(objects...)
	var lifetimes []int64
	host.PrependReactor("create", "serviceaccounts", func(action clienttesting.Action) (bool, runtime.Object, error) {
		create := action.(clienttesting.CreateAction)
		if create.GetSubresource() != "token" {
			return false, nil, nil
		}
		request := create.GetObject().(*authenticationv1.TokenRequest)
		lifetimes = append(lifetimes, *request.Spec.ExpirationSeconds)
		request = request.DeepCopy()
		request.Status.Token = "token-of-" + create.(clienttesting.CreateActionImpl).Name
		request.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Duration(*request.Spec.ExpirationSeconds) * time.Second))
		return true, request, nil
	})
	return host, &lifetimes
}

func agentNamespace() *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: agentidentity.AgentNamespace}}
}

// TestPullBootstrapToken: token create makes the bootstrap ServiceAccount,
// annotated for auto-approval only when asked (the annotation goes when a
// second run does not ask), and a token of at least the host's minimum lifetime.
func TestPullBootstrapToken(t *testing.T) {
	ctx := context.Background()
	host, lifetimes := fakeHost(agentNamespace())
	annotation := func() (string, bool) {
		account, err := host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace).Get(ctx, "bootstrap-member-2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		value, ok := account.Annotations[agentidentity.AutoApproveAnnotation]
		return value, ok
	}
	token, err := CreateBootstrapToken(ctx, TokenOptions{ClusterName: "member-2", TTL: time.Minute, AutoApprove: true, Host: host, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if token.Token != "token-of-bootstrap-member-2" {
		t.Errorf("token %q, want the bootstrap ServiceAccount's", token.Token)
	}
	if value, ok := annotation(); value != "true" {
		t.Errorf("auto-approve annotation %q (present %v), want \"true\"", value, ok)
	}
	if _, err := CreateBootstrapToken(ctx, TokenOptions{ClusterName: "member-2", Host: host, Progress: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if value, ok := annotation(); ok {
		t.Errorf("auto-approve annotation %q kept, want it removed", value)
	}
	if want := []int64{600, 3600}; !slices.Equal(*lifetimes, want) {
		t.Errorf("token lifetimes %v, want %v (10 minutes at least, an hour by default)", *lifetimes, want)
	}
}

// TestPullBootstrapTokenWithoutInstall: a host without fedhub's agent
// namespace says so instead of a bare NotFound.
func TestPullBootstrapTokenWithoutInstall(t *testing.T) {
	host, _ := fakeHost()
	host.PrependReactor("create", "serviceaccounts", func(action clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(corev1.Resource("namespaces"), agentidentity.AgentNamespace)
	})
	_, err := CreateBootstrapToken(context.Background(), TokenOptions{ClusterName: "member-2", Host: host})
	if err == nil || !strings.Contains(err.Error(), "install fedhub's artifacts") {
		t.Errorf("error %v, want one saying fedhub is not installed", err)
	}
}

// TestJoinPull writes a kubeconfig reaching the host as the context in use
// does, with the bootstrap token as its user, and refuses a name joined in push mode.
func TestJoinPull(t *testing.T) {
	ctx := context.Background()
	hostConfig := &rest.Config{Host: "https://127.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("host CA"), CertData: []byte("admin cert")}}
	path := filepath.Join(t.TempDir(), "bootstrap.kubeconfig")
	host, _ := fakeHost(agentNamespace())
	push := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultFederationNamespace, Name: "member-1"}}
	federation := fedfake.NewSimpleClientset(push)
	options := func(name string) PullJoinOptions {
		return PullJoinOptions{
			TokenOptions: TokenOptions{ClusterName: name, AutoApprove: true, Host: host, Progress: io.Discard},
			HostConfig:   hostConfig, Federation: federation, KubeconfigPath: path,
		}
	}
	if _, err := JoinPull(ctx, options("member-2")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap kubeconfig mode %v, want 0600", info.Mode().Perm())
	}
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != hostConfig.Host || string(config.CAData) != "host CA" || config.BearerToken != "token-of-bootstrap-member-2" {
		t.Errorf("kubeconfig reaches %s with CA %q and token %q, want the host's address and CA and the bootstrap token",
			config.Host, config.CAData, config.BearerToken)
	}
	if len(config.CertData) > 0 {
		t.Errorf("the bootstrap kubeconfig carries the administrator's client certificate")
	}
	_, err = JoinPull(ctx, options("member-1"))
	if err == nil || !strings.Contains(err.Error(), "push mode") {
		t.Errorf("joining a push cluster in pull mode: error %v, want a refusal", err)
	}
}

// TestApprove sets spec.approved; an unknown name is the server's NotFound.
func TestApprove(t *testing.T) {
	ctx := context.Background()
	registration := &agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultFederationNamespace, Name: "member-2"}}
	federation := fedfake.NewSimpleClientset(registration)
	if err := Approve(ctx, federation, "", "member-2", false, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := federation.AgentV1alpha1().ClusterRegistrations(DefaultFederationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec.Approved {
		t.Errorf("spec.approved false after approve")
	}
	err = Approve(ctx, federation, "", "member-3", false, io.Discard)
	if !apierrors.IsNotFound(err) || err.Error() != `clusterregistrations.agent.fedhub.io "member-3" not found` {
		t.Errorf("approving an unknown name: error %v, want the server's NotFound", err)
	}
}

// TestIsPullCluster: the KubeFedCluster's mode decides; a registration alone is a pull cluster.
func TestIsPullCluster(t *testing.T) {
	const ns = DefaultFederationNamespace
	federation := fedfake.NewSimpleClientset(
		&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "push"}},
		&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pull"}, Spec: corev1beta1.KubeFedClusterSpec{Mode: corev1beta1.ClusterModePull}},
		&agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registered"}},
	)
	for name, want := range map[string]bool{"push": false, "pull": true, "registered": true} {
		if got, err := IsPullCluster(context.Background(), federation, ns, name); err != nil || got != want {
			t.Errorf("%s: pull %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := IsPullCluster(context.Background(), federation, ns, "unknown"); !apierrors.IsNotFound(err) {
		t.Errorf("unknown: error %v, want the KubeFedCluster's NotFound", err)
	}
}

// TestUnjoinPull annotates the registration with what the agent is to do
// before deleting it, revokes the agent's and the bootstrap identities,
// deletes the KubeFedCluster and touches no host Secret: a pull cluster has no credentials there.
func TestUnjoinPull(t *testing.T) {
	const ns = DefaultFederationNamespace
	tests := []struct {
		name, unjoin   string
		orphan         bool
		wantAnnotation string
		wantNotFound   bool
	}{
		{name: "delete", unjoin: "member-2", wantAnnotation: UnjoinDelete},
		{name: "orphan", unjoin: "member-2", orphan: true, wantAnnotation: UnjoinOrphan},
		{name: "unknown", unjoin: "member-3", wantNotFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			account := func(name string) *corev1.ServiceAccount {
				return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: agentidentity.AgentNamespace, Name: name}}
			}
			host := kubefake.NewSimpleClientset(account("agent-member-2"), account("bootstrap-member-2"), account("agent-member-4"),
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "member-2"}})
			federation := fedfake.NewSimpleClientset(
				&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "member-2"}, Spec: corev1beta1.KubeFedClusterSpec{Mode: corev1beta1.ClusterModePull}},
				&agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "member-2"}, Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: true}},
			)
			var deletedAnnotation string
			federation.PrependReactor("delete", "clusterregistrations", func(action clienttesting.Action) (bool, runtime.Object, error) {
				current, err := federation.Tracker().Get(agentv1alpha1.SchemeGroupVersion.WithResource("clusterregistrations"), ns, "member-2")
				if err == nil {
					deletedAnnotation = current.(*agentv1alpha1.ClusterRegistration).Annotations[UnjoinAnnotation]
				}
				return false, nil, nil
			})
			report, err := UnjoinPull(ctx, PullUnjoinOptions{Orphan: tt.orphan, UnjoinOptions: UnjoinOptions{
				ClusterName: tt.unjoin, FederationNamespace: ns, Host: host, Federation: federation,
				FederationDynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Progress: io.Discard,
			}})
			if tt.wantNotFound {
				if !apierrors.IsNotFound(err) || report != nil {
					t.Fatalf("error %v, report %v; want NotFound and no report", err, report)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if deletedAnnotation != tt.wantAnnotation {
				t.Errorf("registration deleted with %s=%q, want %q", UnjoinAnnotation, deletedAnnotation, tt.wantAnnotation)
			}
			accounts, err := host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, a := range accounts.Items {
				left = append(left, a.Name)
			}
			want := []string{"agent-member-4"}
			if tt.wantNotFound {
				want = []string{"agent-member-2", "agent-member-4", "bootstrap-member-2"}
			}
			if !slices.Equal(left, want) {
				t.Errorf("host ServiceAccounts left %q, want %q", left, want)
			}
			if _, err := host.CoreV1().Secrets(ns).Get(ctx, "member-2", metav1.GetOptions{}); err != nil {
				t.Errorf("a host Secret was touched: %v", err)
			}
			_, err = federation.CoreV1beta1().KubeFedClusters(ns).Get(ctx, "member-2", metav1.GetOptions{})
			if tt.wantNotFound == apierrors.IsNotFound(err) {
				t.Errorf("KubeFedCluster member-2 after unjoin of %s: %v", tt.unjoin, err)
			}
		})
	}
}
