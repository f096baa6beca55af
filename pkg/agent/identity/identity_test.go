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

package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/generated/clientset/versioned/fake"
)

const (
	cluster   = "member-2"
	namespace = "kube-federation-system"
)

var (
	now        = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	registered = schema.GroupResource{Group: "agent.fedhub.io", Resource: "clusterregistrations"}
)

// jwt is an unsigned token with the claims renewTime reads.
func jwt(issued, expires time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." +
		enc(fmt.Appendf(nil, `{"iat":%d,"exp":%d}`, issued.Unix(), expires.Unix())) + ".sig"
}

func writeKubeconfig(t *testing.T, path, token string) {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["host"] = &clientcmdapi.Cluster{Server: "https://host.example:6443", CertificateAuthorityData: []byte("CA")}
	c.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["u"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "u"}
	c.CurrentContext = "u"
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
}

func registration(approved bool) *agentv1alpha1.ClusterRegistration {
	return &agentv1alpha1.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: cluster, Namespace: namespace},
		Spec:       agentv1alpha1.ClusterRegistrationSpec{Approved: approved},
	}
}

// hub is fedhub as the two identities see it: one fake per credential.
type hub struct {
	bootstrap, agent *fake.Clientset
	minted           atomic.Int32
}

func newHub(objects ...runtime.Object) *hub {
	h := &hub{bootstrap: fake.NewSimpleClientset(objects...), agent: fake.NewSimpleClientset(objects...)}
	for _, c := range []*fake.Clientset{h.bootstrap, h.agent} {
		c.PrependReactor("create", "clusterregistrations", func(action clienttesting.Action) (bool, runtime.Object, error) {
			if action.GetSubresource() != "token" {
				return false, nil, nil
			}
			n := h.minted.Add(1)
			req := action.(clienttesting.CreateAction).GetObject().(*agentv1alpha1.AgentToken)
			lifetime := time.Duration(*req.Spec.ExpirationSeconds) * time.Second
			return true, &agentv1alpha1.AgentToken{Status: agentv1alpha1.AgentTokenStatus{
				Token: fmt.Sprintf("minted-%d", n), ExpirationTimestamp: metav1.NewTime(now.Add(lifetime)),
			}}, nil
		})
	}
	return h
}

// newClient gives the bootstrap kubeconfig's credential the bootstrap fake
// and the agent's identity (a wrapped transport) the agent fake.
func (h *hub) newClient(c *rest.Config) (versioned.Interface, error) {
	if c.WrapTransport != nil {
		return h.agent, nil
	}
	return h.bootstrap, nil
}

func TestObtain(t *testing.T) {
	storedToken := jwt(now.Add(-10*time.Minute), now.Add(50*time.Minute))
	tests := []struct {
		name string
		// stored is the token in the state directory; "" for none.
		stored    string
		objects   []runtime.Object
		agentGet  error
		token     string
		renewAt   time.Time
		creates   int
		bootstrap bool
	}{{
		name:    "no stored identity: registers, is approved, obtains a token",
		token:   "minted-1",
		renewAt: now.Add(48 * time.Minute),
		creates: 1, bootstrap: true,
	}, {
		name:    "registration exists, approved: no create",
		objects: []runtime.Object{registration(true)},
		token:   "minted-1", renewAt: now.Add(48 * time.Minute), bootstrap: true,
	}, {
		name:    "stored identity accepted: used as it is",
		stored:  storedToken,
		objects: []runtime.Object{registration(true)},
		token:   storedToken, renewAt: now.Add(38 * time.Minute),
	}, {
		name:     "stored identity refused: registers again",
		stored:   storedToken,
		objects:  []runtime.Object{registration(true)},
		agentGet: apierrors.NewUnauthorized("token revoked"),
		token:    "minted-1", renewAt: now.Add(48 * time.Minute), bootstrap: true,
	}, {
		name:    "stored token not a JWT: renewed at once",
		stored:  "opaque",
		objects: []runtime.Object{registration(true)},
		token:   "opaque", renewAt: now,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
			writeKubeconfig(t, bootstrap, "bootstrap-token")
			state := filepath.Join(dir, "state")
			if tc.stored != "" {
				if err := os.MkdirAll(state, 0o700); err != nil {
					t.Fatal(err)
				}
				writeKubeconfig(t, filepath.Join(state, FileName), tc.stored)
			}
			h := newHub(tc.objects...)
			h.bootstrap.PrependReactor("create", "clusterregistrations", func(action clienttesting.Action) (bool, runtime.Object, error) {
				if action.GetSubresource() != "" {
					return false, nil, nil
				}
				// The bootstrap ServiceAccount allows automatic approval.
				reg := action.(clienttesting.CreateAction).GetObject().(*agentv1alpha1.ClusterRegistration)
				reg.Spec.Approved = true
				return false, nil, nil
			})
			if tc.agentGet != nil {
				h.agent.PrependReactor("get", "clusterregistrations", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.agentGet
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := Obtain(ctx, Options{
				ClusterName: cluster, Namespace: namespace, HubKubeconfig: bootstrap, StateDir: state,
				APIEndpoint: "https://member.example:6443", Expiration: time.Hour,
				NewClient: h.newClient, Now: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := id.current(); got != tc.token {
				t.Errorf("token %q, want %q", got, tc.token)
			}
			if !id.RenewAt().Equal(tc.renewAt) {
				t.Errorf("renewAt %v, want %v", id.RenewAt(), tc.renewAt)
			}
			creates := 0
			for _, a := range h.bootstrap.Actions() {
				if a.GetVerb() == "create" && a.GetSubresource() == "" {
					creates++
					reg := a.(clienttesting.CreateAction).GetObject().(*agentv1alpha1.ClusterRegistration)
					if reg.Name != cluster || reg.Spec.APIEndpoint != "https://member.example:6443" {
						t.Errorf("registration %s with apiEndpoint %q", reg.Name, reg.Spec.APIEndpoint)
					}
				}
			}
			if creates != tc.creates {
				t.Errorf("registrations created %d, want %d", creates, tc.creates)
			}
			if used := len(h.bootstrap.Actions()) > 0; used != tc.bootstrap {
				t.Errorf("bootstrap identity used %v, want %v", used, tc.bootstrap)
			}
			checkStored(t, filepath.Join(state, FileName), tc.token)
		})
	}
}

// checkStored checks the identity's kubeconfig: mode 0600, the host's
// address and CA, token.
func checkStored(t *testing.T, path, token string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != "https://host.example:6443" || string(config.CAData) != "CA" || config.BearerToken != token {
		t.Errorf("stored identity: host %q, CA %q, token %q; want the host's, CA, %q", config.Host, config.CAData, config.BearerToken, token)
	}
}

// TestObtainRegistrationGone: an identity the host refuses, whose
// registration is gone, means the cluster was unjoined while the agent was
// stopped: it does not register again.
func TestObtainRegistrationGone(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
	writeKubeconfig(t, bootstrap, "bootstrap-token")
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	writeKubeconfig(t, filepath.Join(state, FileName), "revoked")
	h := newHub()
	h.agent.PrependReactor("get", "clusterregistrations", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewUnauthorized("revoked")
	})
	_, err := Obtain(context.Background(), Options{ClusterName: cluster, Namespace: namespace, HubKubeconfig: bootstrap,
		StateDir: state, Expiration: time.Hour, NewClient: h.newClient})
	if !errors.Is(err, ErrRegistrationGone) || !strings.Contains(err.Error(), "remove "+filepath.Join(state, FileName)) {
		t.Errorf("error %v, want ErrRegistrationGone naming the file to remove", err)
	}
	for _, a := range h.bootstrap.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("registered again: %v", a)
		}
	}
}

func TestObtainWaitsForApproval(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
	writeKubeconfig(t, bootstrap, "bootstrap-token")
	h := newHub(registration(false))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Obtain(ctx, Options{ClusterName: cluster, Namespace: namespace, HubKubeconfig: bootstrap,
			StateDir: filepath.Join(dir, "state"), Expiration: time.Hour, NewClient: h.newClient})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Obtain returned before approval: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if h.minted.Load() != 0 {
		t.Fatalf("a token was minted before approval")
	}
	if _, err := h.bootstrap.AgentV1alpha1().ClusterRegistrations(namespace).Update(ctx, registration(true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.minted.Load() != 1 {
		t.Errorf("tokens minted %d, want 1", h.minted.Load())
	}
}

func TestObtainRefusedBootstrap(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
	writeKubeconfig(t, bootstrap, "expired")
	h := newHub()
	h.bootstrap.PrependReactor("*", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewUnauthorized("token expired")
	})
	_, err := Obtain(context.Background(), Options{ClusterName: cluster, Namespace: namespace, HubKubeconfig: bootstrap,
		StateDir: filepath.Join(dir, "state"), Expiration: time.Hour, NewClient: h.newClient})
	if err == nil || !Refused(err) || !strings.Contains(err.Error(), "bootstrap") {
		t.Errorf("error %v, want a refusal of the bootstrap identity", err)
	}
}

// TestRenewSwapsToken: a renewal stores the new token and the running
// clients send it from their next request on.
func TestRenewSwapsToken(t *testing.T) {
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
	writeKubeconfig(t, bootstrap, "bootstrap-token")
	h := newHub(registration(true))
	id, err := Obtain(context.Background(), Options{ClusterName: cluster, Namespace: namespace, HubKubeconfig: bootstrap,
		StateDir: dir, Expiration: time.Hour, NewClient: h.newClient, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	rt := id.Config().WrapTransport(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.Header.Get("Authorization"))
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}))
	request := func() {
		req, _ := http.NewRequest(http.MethodGet, "https://host.example:6443/version", nil)
		req.Header.Set("Authorization", "Bearer other")
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	request()
	if err := id.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	request()
	if want := []string{"Bearer minted-1", "Bearer minted-2"}; strings.Join(sent, ",") != strings.Join(want, ",") {
		t.Errorf("sent %v, want %v", sent, want)
	}
	checkStored(t, filepath.Join(dir, FileName), "minted-2")
	renewed := false
	for _, a := range h.agent.Actions() {
		renewed = renewed || a.GetSubresource() == "token"
	}
	if !renewed {
		t.Errorf("the renewal did not use the agent's identity: %v", h.agent.Actions())
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestRetry: what may pass is retried, a refusal is returned at once, and
// an ended context stops the retries.
func TestRetry(t *testing.T) {
	busy := apierrors.NewServiceUnavailable("busy")
	refused := apierrors.NewForbidden(registered, cluster, errors.New("no"))
	tests := []struct {
		name    string
		answers []error
		cancel  bool
		calls   int
		want    error
	}{
		{"success", []error{nil}, false, 1, nil},
		{"busy, then success", []error{busy, nil}, false, 2, nil},
		{"unreachable, then success", []error{errors.New("connection refused"), nil}, false, 2, nil},
		{"refused: no retry", []error{refused, nil}, false, 1, refused},
		{"context ended", []error{busy, busy}, true, 1, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			err := retry(ctx, func() error {
				err := tc.answers[calls]
				calls++
				if tc.cancel {
					cancel()
				}
				return err
			})
			if calls != tc.calls || !errors.Is(err, tc.want) && err != tc.want {
				t.Errorf("calls %d, error %v; want %d, %v", calls, err, tc.calls, tc.want)
			}
		})
	}
}
