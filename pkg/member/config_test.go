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

package member

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/certs"
)

const namespace = "kube-federation-system"

func testCluster(endpoint string, caBundle []byte, disabled ...corev1beta1.TLSValidation) *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "member-1"},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint:            endpoint,
			CABundle:               caBundle,
			SecretRef:              corev1beta1.LocalSecretReference{Name: "member-1"},
			DisabledTLSValidations: disabled,
		},
	}
}

func testSecret(data map[string]string) *corev1.Secret {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "member-1"}, Data: map[string][]byte{}}
	for k, v := range data {
		secret.Data[k] = []byte(v)
	}
	return secret
}

func TestConfig(t *testing.T) {
	caA, caB := newCert(t, caTemplate("a"), nil), newCert(t, caTemplate("b"), nil)
	cases := []struct {
		name     string
		cluster  func(*corev1beta1.KubeFedCluster)
		secret   *corev1.Secret // nil: a Secret holding token "abc"
		noSecret bool
		wantErr  string
		check    func(*testing.T, *rest.Config)
	}{
		{name: "missing secret", noSecret: true, wantErr: "Secret kube-federation-system/member-1 named by spec.secretRef is missing"},
		{name: "missing token", secret: testSecret(map[string]string{"ca.crt": string(caA.pem)}),
			wantErr: `Secret kube-federation-system/member-1 has no "token" key`},
		{name: "blank token", secret: testSecret(map[string]string{"token": " \n"}),
			wantErr: `Secret kube-federation-system/member-1 has an empty "token" key`},
		{name: "token trimmed", secret: testSecret(map[string]string{"token": "  abc\n"}),
			check: func(t *testing.T, c *rest.Config) {
				if c.BearerToken != "abc" {
					t.Errorf("BearerToken = %q, want abc", c.BearerToken)
				}
			}},
		{name: "caBundle preferred over ca.crt",
			cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.CABundle = caA.pem },
			secret:  testSecret(map[string]string{"token": "abc", "ca.crt": string(caB.pem)}),
			check:   wantCAData(caA.pem)},
		{name: "ca.crt used without caBundle",
			secret: testSecret(map[string]string{"token": "abc", "ca.crt": string(caB.pem)}),
			check:  wantCAData(caB.pem)},
		{name: "system roots without any CA", check: func(t *testing.T, c *rest.Config) {
			if len(c.CAData) != 0 || c.Insecure || c.Transport != nil {
				t.Errorf("CAData %q, Insecure %v, Transport %v; want the system roots", c.CAData, c.Insecure, c.Transport)
			}
			if c.Host != "https://member-1.example.com:6443" || c.Timeout != 0 || c.Proxy != nil {
				t.Errorf("Host %q, Timeout %v, Proxy set %v", c.Host, c.Timeout, c.Proxy != nil)
			}
		}},
		{name: "garbage caBundle", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.CABundle = []byte("garbage") },
			wantErr: "spec.caBundle: no PEM certificate found"},
		{name: "garbage ca.crt", secret: testSecret(map[string]string{"token": "abc", "ca.crt": "garbage"}),
			wantErr: `Secret kube-federation-system/member-1 key "ca.crt": no PEM certificate found`},
		{name: "unparsable proxy URL", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.ProxyURL = "::" },
			wantErr: `spec.proxyURL "::": `},
		{name: "unsupported proxy scheme", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.ProxyURL = "ftp://proxy:21" },
			wantErr: `scheme "ftp" is not supported`},
		{name: "proxy without host", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.ProxyURL = "http://" },
			wantErr: `spec.proxyURL "http://": must be an http://, https:// or socks5:// URL with a host: host is empty`},
		{name: "proxy honoured", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.ProxyURL = "socks5://proxy.example:1080" },
			check: func(t *testing.T, c *rest.Config) { wantProxy(t, c.Proxy, "socks5://proxy.example:1080") }},
		{name: "proxy honoured by the verifying transport",
			cluster: func(c *corev1beta1.KubeFedCluster) {
				c.Spec.ProxyURL = "http://proxy.example:3128"
				c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}
			},
			check: func(t *testing.T, c *rest.Config) {
				wantProxy(t, c.Proxy, "http://proxy.example:3128")
				wantProxy(t, c.Transport.(*http.Transport).Proxy, "http://proxy.example:3128")
			}},
		{name: "* means insecure without a CA",
			cluster: func(c *corev1beta1.KubeFedCluster) {
				c.Spec.CABundle = caA.pem
				c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSAll}
			},
			check: func(t *testing.T, c *rest.Config) {
				if !c.Insecure || len(c.CAData) != 0 || c.Transport != nil {
					t.Errorf("Insecure %v, CAData %q, Transport %v; want insecure and nothing else", c.Insecure, c.CAData, c.Transport)
				}
			}},
		{name: "single checks disabled use a verifying transport",
			cluster: func(c *corev1beta1.KubeFedCluster) {
				c.Spec.CABundle = caA.pem
				c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}
			},
			check: func(t *testing.T, c *rest.Config) {
				if !reflect.DeepEqual(c.TLSClientConfig, rest.TLSClientConfig{}) {
					t.Errorf("TLSClientConfig = %+v, want it empty next to a custom Transport", c.TLSClientConfig)
				}
				tr, ok := c.Transport.(*http.Transport)
				if !ok || !tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.VerifyPeerCertificate == nil {
					t.Fatalf("Transport = %#v, want an *http.Transport that verifies by itself", c.Transport)
				}
				if tr.TLSHandshakeTimeout != 10*time.Second || tr.IdleConnTimeout != 90*time.Second || tr.DialContext == nil {
					t.Errorf("TLSHandshakeTimeout %v, IdleConnTimeout %v, DialContext set %v", tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.DialContext != nil)
				}
			}},
		{name: "unknown validation", cluster: func(c *corev1beta1.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName, "Expiry"}
		}, wantErr: `spec.disabledTLSValidations[1]: unsupported value "Expiry"`},
		{name: "empty apiEndpoint", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.APIEndpoint = "" },
			wantErr: "spec.apiEndpoint is empty"},
		{name: "unsupported apiEndpoint scheme", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.APIEndpoint = "ftp://172.18.0.9:21" },
			wantErr: `spec.apiEndpoint "ftp://172.18.0.9:21" must be`},
		{name: "apiEndpoint port out of range", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.APIEndpoint = "member:99999" },
			wantErr: `port "99999" must be a number from 1 to 65535`},
		{name: "plain http refused", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.APIEndpoint = "http://127.0.0.1:9999" },
			wantErr: `spec.apiEndpoint "http://127.0.0.1:9999": http:// would send the member's bearer token unencrypted`},
		{name: "plain http with TLS given up", cluster: func(c *corev1beta1.KubeFedCluster) {
			c.Spec.APIEndpoint = "http://127.0.0.1:9999"
			c.Spec.DisabledTLSValidations = []corev1beta1.TLSValidation{corev1beta1.TLSAll}
		}, check: func(t *testing.T, c *rest.Config) {
			if c.Host != "http://127.0.0.1:9999" {
				t.Errorf("Host = %q, want http://127.0.0.1:9999", c.Host)
			}
		}},
		{name: "bare host:port means https", cluster: func(c *corev1beta1.KubeFedCluster) { c.Spec.APIEndpoint = "10.0.0.1:6443" },
			check: func(t *testing.T, c *rest.Config) {
				if c.Host != "https://10.0.0.1:6443" {
					t.Errorf("Host = %q, want https://10.0.0.1:6443", c.Host)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster := testCluster("https://member-1.example.com:6443", nil)
			if tc.cluster != nil {
				tc.cluster(cluster)
			}
			secret := tc.secret
			if secret == nil && !tc.noSecret {
				secret = testSecret(map[string]string{"token": "abc"})
			}
			clusterBefore, secretBefore := cluster.DeepCopy(), secret.DeepCopy()
			config, err := Config(cluster, secret)
			if !reflect.DeepEqual(cluster, clusterBefore) || !reflect.DeepEqual(secret, secretBefore) {
				t.Error("Config changed its inputs")
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// client-go refuses contradictory settings only when it builds the client.
			if _, err := rest.HTTPClientFor(config); err != nil {
				t.Fatalf("client-go refuses the config: %v", err)
			}
			if tc.check != nil {
				tc.check(t, config)
			}
		})
	}
}

func TestConfigSendsCredentialsOnlyWhereIssued(t *testing.T) {
	const refusal = "Secret kube-federation-system/member-1 was issued for https://127.0.0.1:6443; " +
		"refusing to send its credentials to https://127.0.0.1:9999"
	cases := []struct {
		name     string
		recorded *string // nil: the Secret has no record
		endpoint string
		wantErr  string
	}{
		{name: "not recorded", endpoint: "https://127.0.0.1:9999"},
		{name: "recorded and the same", recorded: ptr("https://127.0.0.1:6443"), endpoint: "https://127.0.0.1:6443"},
		{name: "recorded and the same, written differently", recorded: ptr("HTTPS://Member.Example.com/"), endpoint: "member.example.com:443"},
		{name: "recorded and the same path", recorded: ptr("https://proxy:8443/member-1/"), endpoint: "https://proxy:8443/member-1"},
		{name: "recorded and the same IPv6 address", recorded: ptr("https://[0:0::1]:6443"), endpoint: "[::1]:6443"},
		{name: "recorded and another port", recorded: ptr("https://127.0.0.1:6443"), endpoint: "https://127.0.0.1:9999", wantErr: refusal},
		{name: "recorded and another host", recorded: ptr("https://member-1.example.com:6443"), endpoint: "https://evil.example.com:6443",
			wantErr: "refusing to send its credentials to https://evil.example.com:6443"},
		{name: "recorded and another path", recorded: ptr("https://proxy:8443/member-1"), endpoint: "https://proxy:8443/member-2",
			wantErr: "refusing to send its credentials to https://proxy:8443/member-2"},
		{name: "recorded https, sent to http", recorded: ptr("https://127.0.0.1:6443"), endpoint: "http://127.0.0.1:6443",
			wantErr: "was issued for https://127.0.0.1:6443; refusing to send its credentials to http://127.0.0.1:6443"},
		{name: "record unreadable", recorded: ptr(""), endpoint: "https://127.0.0.1:6443",
			wantErr: `annotation fedhub.io/api-endpoint "" is not an endpoint`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// "*" lets the http case reach the comparison.
			cluster := testCluster(tc.endpoint, nil, corev1beta1.TLSAll)
			secret := testSecret(map[string]string{"token": "abc"})
			if tc.recorded != nil {
				secret.Annotations = map[string]string{APIEndpointAnnotation: *tc.recorded}
			}
			config, err := Config(cluster, secret)
			if tc.wantErr == "" {
				if err != nil || config.BearerToken != "abc" {
					t.Fatalf("config %+v, error %v; want the token", config, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if config != nil {
				t.Errorf("a config came with the refusal: %+v", config)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func wantCAData(want []byte) func(*testing.T, *rest.Config) {
	return func(t *testing.T, c *rest.Config) {
		if string(c.CAData) != string(want) {
			t.Errorf("CAData = %q, want %q", c.CAData, want)
		}
	}
}

func wantProxy(t *testing.T, proxy func(*http.Request) (*neturl.URL, error), want string) {
	t.Helper()
	if proxy == nil {
		t.Fatal("no proxy function")
	}
	req, _ := http.NewRequest(http.MethodGet, "https://member-1.example.com:6443/version", nil)
	got, err := proxy(req)
	if err != nil || got == nil || got.String() != want {
		t.Errorf("proxy for a request = %v, %v; want %s", got, err, want)
	}
}

func TestConfigFromHost(t *testing.T) {
	host := fake.NewClientset(testSecret(map[string]string{"token": "abc"}))
	config, err := ConfigFromHost(context.Background(), host, testCluster("https://member-1.example.com:6443", nil))
	if err != nil || config.BearerToken != "abc" {
		t.Fatalf("found: config %+v, error %v; want the token from the Secret", config, err)
	}

	elsewhere := testCluster("https://member-1.example.com:6443", nil)
	elsewhere.Namespace = "other"
	if _, err := ConfigFromHost(context.Background(), host, elsewhere); err == nil || err.Error() != "Secret other/member-1 not found" {
		t.Errorf("not found: error = %v, want Secret other/member-1 not found", err)
	}

	unnamed := testCluster("https://member-1.example.com:6443", nil)
	unnamed.Spec.SecretRef.Name = ""
	if _, err := ConfigFromHost(context.Background(), host, unnamed); err == nil || !strings.Contains(err.Error(), "spec.secretRef.name is empty") {
		t.Errorf("unnamed: error = %v, want spec.secretRef.name is empty", err)
	}
}

// The TLS tests run real handshakes through the client client-go builds, so
// they test what the federation's clients will do.

func TestSubjectNameDisabled(t *testing.T) {
	root := newCert(t, caTemplate("root"), nil)
	intermediate := newCert(t, caTemplate("intermediate"), root)
	// The server also sends the intermediate, so the custom verification must use it.
	leaf := newCert(t, serverTemplate(time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "other.example"), intermediate)
	endpoint := serve(t, leaf, intermediate)
	runTLSCases(t, endpoint, root.pem, map[string]tlsCase{
		"all checks":                 {wantErr: "x509"},
		"ValidityPeriod disabled":    {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}, wantErr: "x509"},
		"SubjectName disabled":       {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}},
		"SubjectName and validity":   {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName, corev1beta1.TLSValidityPeriod}},
		"everything disabled with *": {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSAll}},
	})
}

func TestValidityPeriodDisabled(t *testing.T) {
	ca := newCert(t, caTemplate("ca"), nil)
	now := time.Now()
	for name, window := range map[string][2]time.Time{
		"expired":       {now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)},
		"not yet valid": {now.Add(24 * time.Hour), now.Add(48 * time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			endpoint := serve(t, newCert(t, serverTemplate(window[0], window[1]), ca))
			runTLSCases(t, endpoint, ca.pem, map[string]tlsCase{
				"all checks":              {wantErr: "x509"},
				"SubjectName disabled":    {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName}, wantErr: "x509"},
				"ValidityPeriod disabled": {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}},
			})
		})
	}
	// pkg/certs backdates its leaves to before the CA's notBefore, which
	// verifying at leaf.NotBefore would reject.
	t.Run("leaf older than its CA", func(t *testing.T) {
		ca, err := certs.NewCA("fedhub-test")
		if err != nil {
			t.Fatal(err)
		}
		pair, err := ca.IssueServing()
		if err != nil {
			t.Fatal(err)
		}
		endpoint := serveKeyPair(t, pair.CertPEM, pair.KeyPEM)
		runTLSCases(t, endpoint, ca.CertPEM, map[string]tlsCase{
			"ValidityPeriod disabled": {disabled: []corev1beta1.TLSValidation{corev1beta1.TLSValidityPeriod}},
		})
	})
}

func TestUnknownAuthorityFailsWithChecksDisabled(t *testing.T) {
	trusted, other := newCert(t, caTemplate("trusted"), nil), newCert(t, caTemplate("other"), nil)
	endpoint := serve(t, newCert(t, serverTemplate(time.Now().Add(-time.Hour), time.Now().Add(time.Hour)), other))
	both := []corev1beta1.TLSValidation{corev1beta1.TLSSubjectName, corev1beta1.TLSValidityPeriod}
	runTLSCases(t, endpoint, trusted.pem, map[string]tlsCase{
		"all checks":                        {wantErr: "unknown authority"},
		"SubjectName and validity disabled": {disabled: both, wantErr: "unknown authority"},
	})
	runTLSCases(t, endpoint, nil, map[string]tlsCase{
		"system roots, SubjectName and validity disabled": {disabled: both, wantErr: "unknown authority"},
	})
}

func TestBearerTokenSent(t *testing.T) {
	ca, err := certs.NewCA("fedhub-test")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueServing()
	if err != nil {
		t.Fatal(err)
	}
	endpoint := serveKeyPair(t, pair.CertPEM, pair.KeyPEM)
	for name, disabled := range map[string][]corev1beta1.TLSValidation{
		"client-go's transport": nil,
		"verifying transport":   {corev1beta1.TLSSubjectName},
		"insecure":              {corev1beta1.TLSAll},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := get(t, testCluster(endpoint, ca.CertPEM, disabled...), "s3cret\n")
			if err != nil {
				t.Fatal(err)
			}
			if body != "Bearer s3cret" {
				t.Errorf("the member saw Authorization %q, want %q", body, "Bearer s3cret")
			}
		})
	}
}

type tlsCase struct {
	disabled []corev1beta1.TLSValidation
	wantErr  string // empty: the request must succeed
}

func runTLSCases(t *testing.T, endpoint string, caBundle []byte, cases map[string]tlsCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := get(t, testCluster(endpoint, caBundle, tc.disabled...), "token")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("request failed: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// get requests the member's root through the client client-go builds from
// the config and returns the body, which the test server makes the
// Authorization header it received.
func get(t *testing.T, cluster *corev1beta1.KubeFedCluster, token string) (string, error) {
	t.Helper()
	config, err := Config(cluster, testSecret(map[string]string{"token": token}))
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(config)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(config.Host + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// serve starts a TLS server at 127.0.0.1 presenting chain and returns its URL.
func serve(t *testing.T, chain ...*testCert) string {
	t.Helper()
	cert := tls.Certificate{PrivateKey: chain[0].key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.cert.Raw)
	}
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Authorization"))
	}))
	server.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server.StartTLS()
	t.Cleanup(server.Close)
	return server.URL
}

func serveKeyPair(t *testing.T, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, &testCert{cert: leaf, key: pair.PrivateKey.(*ecdsa.PrivateKey)})
}

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-72 * time.Hour),
		NotAfter:              time.Now().Add(72 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

// serverTemplate is a serving certificate for dnsNames, or for 127.0.0.1 when there are none.
func serverTemplate(notBefore, notAfter time.Time, dnsNames ...string) *x509.Certificate {
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "member"},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		DNSNames:    dnsNames,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if len(dnsNames) == 0 {
		template.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	return template
}

// newCert signs template with issuer, or with its own key when issuer is nil.
func newCert(t *testing.T, template *x509.Certificate, issuer *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template.SerialNumber = big.NewInt(time.Now().UnixNano())
	parent, signer := template, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}
