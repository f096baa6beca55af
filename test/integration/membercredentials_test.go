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
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/admission/clustersecret"
	"github.com/fedhub/fedhub/pkg/certs"
	"github.com/fedhub/fedhub/pkg/cmd/server"
	"github.com/fedhub/fedhub/pkg/member"
	"github.com/fedhub/fedhub/pkg/reconciler/clusterhealth"
)

// runWithAdmission serves as Options.Run does, with plugin as the whole
// admission chain: standalone mode has none, and this way the plugin gets
// exactly what the server hands to admission.
func runWithAdmission(plugin admission.Interface) func(*server.Options, context.Context) error {
	return func(o *server.Options, ctx context.Context) error {
		etcd, err := server.StartEmbeddedEtcd(o.EmbeddedEtcdDir)
		if err != nil {
			return err
		}
		defer etcd.Stop()
		etcd.ApplyTo(&o.RecommendedOptions.Etcd.StorageConfig.Transport)
		config, err := o.Config()
		if err != nil {
			return err
		}
		config.GenericConfig.AdmissionControl = plugin
		s, err := config.Complete().New()
		if err != nil {
			return err
		}
		return s.GenericAPIServer.PrepareRun().RunWithContext(ctx)
	}
}

// clientAs reaches fedhub as user, with a certificate from the standalone CA
// in group system:masters, which standalone authorization requires.
func clientAs(t *testing.T, admin *rest.Config, dataDir, user string) clientset.Interface {
	t.Helper()
	ca, err := certs.LoadOrCreateCA(filepath.Join(dataDir, "certs"), "unused")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueClient(user, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	config := rest.AnonymousClientConfig(admin)
	config.CertData, config.KeyData = pair.CertPEM, pair.KeyPEM
	client, err := clientset.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestKubeFedClusterSecretNeedsGet runs the FederatedClusterSecret plugin in
// a real server: alice may get the Secret member-2-token, mallory no Secret.
func TestKubeFedClusterSecretNeedsGet(t *testing.T) {
	plugin := clustersecret.New()
	plugin.SetAuthorizer(authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() == "alice" && a.GetVerb() == "get" && a.GetResource() == "secrets" &&
			a.GetNamespace() == federationNamespace && a.GetName() == "member-2-token" {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	}))
	dataDir := t.TempDir()
	fedhub := startFedhubRunning(t, dataDir, runWithAdmission(plugin))
	defer fedhub.stop()
	ctx := context.Background()
	alice := clientAs(t, fedhub.config, dataDir, "alice").CoreV1beta1().KubeFedClusters(federationNamespace)
	mallory := clientAs(t, fedhub.config, dataDir, "mallory").CoreV1beta1().KubeFedClusters(federationNamespace)
	cluster := func(name, endpoint, secret string) *corev1beta1.KubeFedCluster {
		return &corev1beta1.KubeFedCluster{ObjectMeta: objectMetaIn(name, nil),
			Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: endpoint, SecretRef: corev1beta1.LocalSecretReference{Name: secret}}}
	}
	wantForbidden := func(what string, err error, message string) {
		t.Helper()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), message) {
			t.Errorf("%s: got %v, want 403 Forbidden saying %q", what, err, message)
		}
	}

	_, err := mallory.Create(ctx, cluster("stolen", "https://127.0.0.1:9999", "member-1-abcde"), metav1.CreateOptions{})
	wantForbidden("mallory naming another cluster's Secret", err,
		`user "mallory" may not use Secret kube-federation-system/member-1-abcde as spec.secretRef: that needs verb "get" on it`)

	created, err := alice.Create(ctx, cluster("member-2", "https://10.0.0.2:6443", "member-2-token"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("alice naming a Secret she may read: %v", err)
	}

	relabelled := created.DeepCopy()
	relabelled.Labels = map[string]string{"tier": "gold"}
	relabelled, err = mallory.Update(ctx, relabelled, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("mallory relabelling, which sends nothing anywhere: %v", err)
	}

	redirected := relabelled.DeepCopy()
	redirected.Spec.APIEndpoint = "https://127.0.0.1:9999"
	_, err = mallory.Update(ctx, redirected, metav1.UpdateOptions{})
	wantForbidden("mallory redirecting member-2's Secret", err, "may not use Secret kube-federation-system/member-2-token as spec.secretRef")

	// Validation comes first and answers with the field path.
	plain := cluster("plain", "http://10.0.0.2:8080", "member-2-token")
	_, err = alice.Create(ctx, plain, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.apiEndpoint") || !strings.Contains(err.Error(), `disabledTLSValidations to ["*"]`) {
		t.Errorf("plain http: got %v, want 422 Invalid on spec.apiEndpoint naming the opt-out", err)
	}
	plain.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSAll}
	if _, err := alice.Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Errorf("plain http with TLS given up: %v", err)
	}
}

// trap is an https listener that records the Authorization headers it is sent.
type trap struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func startTrap(t *testing.T) *trap {
	tr := &trap{}
	tr.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		tr.seen = append(tr.seen, r.Header.Get("Authorization"))
		tr.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(tr.Close)
	return tr
}

func (tr *trap) headers() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.seen...)
}

func (tr *trap) caBundle() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tr.Certificate().Raw})
}

// TestHealthProbesSendCredentialsOnlyWhereIssued runs the cluster health
// controller on a cluster whose Secret was issued for another endpoint: the
// cluster is reported not Ready with the refusal, and its endpoint receives
// nothing. A cluster whose Secret was issued for its endpoint is probed with
// its token, so the harness does send where it may.
func TestHealthProbesSendCredentialsOnlyWhereIssued(t *testing.T) {
	fedhub := startFedhub(t, t.TempDir())
	defer fedhub.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attacker, member2 := startTrap(t), startTrap(t)
	secret := func(name, issuedFor, token string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: federationNamespace,
				Annotations: map[string]string{member.APIEndpointAnnotation: issuedFor}},
			Data: map[string][]byte{"token": []byte(token)},
		}
	}
	host := fake.NewClientset(secret("member-1-abcde", "https://127.0.0.1:6443", "member-1-token"),
		secret("member-2-xyz", member2.URL, "member-2-token"))
	for name, target := range map[string]*trap{"stolen": attacker, "member-2": member2} {
		secretName := map[string]string{"stolen": "member-1-abcde", "member-2": "member-2-xyz"}[name]
		_, err := fedhub.client.CoreV1beta1().KubeFedClusters(federationNamespace).Create(ctx, &corev1beta1.KubeFedCluster{
			ObjectMeta: objectMetaIn(name, nil),
			Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: target.URL, CABundle: target.caBundle(),
				SecretRef: corev1beta1.LocalSecretReference{Name: secretName}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}

	fedFactory := fedinformers.NewSharedInformerFactoryWithOptions(fedhub.client, 0, fedinformers.WithNamespace(federationNamespace))
	hostFactory := kubeinformers.NewSharedInformerFactoryWithOptions(host, 0, kubeinformers.WithNamespace(federationNamespace))
	controller, err := clusterhealth.NewController(federationNamespace, fedhub.client, fedFactory.Core().V1beta1().KubeFedClusters(),
		fedFactory.Core().V1beta1().KubeFedConfigs(), hostFactory.Core().V1().Secrets(), &record.FakeRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	fedFactory.Start(ctx.Done())
	hostFactory.Start(ctx.Done())
	done := make(chan struct{})
	go func() { defer close(done); controller.Run(ctx, 2) }()
	defer func() { cancel(); <-done }()

	var ready *corev1beta1.ClusterCondition
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		stolen, err := fedhub.client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "stolen", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for i, c := range stolen.Status.Conditions {
			if c.Type == corev1beta1.ClusterReady {
				ready = &stolen.Status.Conditions[i]
			}
		}
		return ready != nil && len(member2.headers()) > 0, nil
	})
	if err != nil {
		t.Fatalf("no Ready condition on the redirected cluster, or no probe of member-2: %v (Ready %+v)", err, ready)
	}
	const refusal = "Secret kube-federation-system/member-1-abcde was issued for https://127.0.0.1:6443; refusing to send its credentials to "
	if ready.Status != corev1.ConditionFalse || ready.Message == nil || !strings.Contains(*ready.Message, refusal+attacker.URL) {
		t.Errorf("Ready = %s, message %v; want False saying %q", ready.Status, ready.Message, refusal+attacker.URL)
	}
	if seen := attacker.headers(); len(seen) != 0 {
		t.Errorf("the redirected endpoint received %d requests (Authorization %q), want none", len(seen), seen)
	}
	if seen := member2.headers(); seen[0] != "Bearer member-2-token" {
		t.Errorf("member-2 was probed with Authorization %q, want its own token", seen[0])
	}
}
