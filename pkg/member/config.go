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

// Package member builds the clients the federation uses to reach member clusters.
package member

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/core/validation"
)

// The keys KubeFed's kubefedctl join writes into a member's credentials Secret.
const (
	tokenKey = "token"
	caKey    = "ca.crt"
)

// APIEndpointAnnotation on a member's credentials Secret records the endpoint
// the credentials were issued for; fedhubctl join writes it. Config sends
// them nowhere else. A Secret without it (kubefedctl's, or one made by hand)
// is sent wherever its KubeFedCluster points: only the admission check that
// writing spec.secretRef needs "get" on the Secret protects it.
const APIEndpointAnnotation = "fedhub.io/api-endpoint"

// Config returns the configuration for reaching the member as the federation's
// identity. It refuses to send the Secret's token over plain http unless TLS
// is given up with "*", and to any endpoint but the one the Secret records.
func Config(cluster *corev1beta1.KubeFedCluster, secret *corev1.Secret) (*rest.Config, error) {
	if cluster == nil {
		return nil, errors.New("no KubeFedCluster given")
	}
	spec := &cluster.Spec
	endpoint, err := parseEndpoint(spec.APIEndpoint)
	if err != nil {
		return nil, err
	}
	skip, err := parseDisabled(spec.DisabledTLSValidations)
	if err != nil {
		return nil, err
	}
	proxy, err := parseProxy(spec.ProxyURL)
	if err != nil {
		return nil, err
	}
	if endpoint.Scheme == "http" && !skip.all {
		// Validation refuses this too; a cluster stored before it did must not leak either.
		return nil, fmt.Errorf("spec.apiEndpoint %q: %s", spec.APIEndpoint, validation.PlainHTTPDetail)
	}
	token, caPEM, roots, err := credentials(cluster, secret)
	if err != nil {
		return nil, err
	}
	if err := checkIssuedFor(secret, endpoint); err != nil {
		return nil, err
	}

	// Host is the normalised URL: client-go would turn a bare host into
	// http:// whenever it holds no CA data, and the API says a bare host means https.
	config := &rest.Config{Host: endpoint.String(), BearerToken: token}
	if proxy != nil {
		config.Proxy = http.ProxyURL(proxy)
	}
	switch {
	case skip.all:
		// client-go refuses Insecure together with a CA, and a CA would check nothing anyway.
		config.Insecure = true
	case skip.subjectName || skip.validityPeriod:
		// client-go cannot skip single checks, so the transport verifies the
		// chain itself; client-go refuses TLS options next to a custom
		// Transport, so TLSClientConfig stays empty and the bearer token is
		// added by the wrapper client-go puts around the Transport.
		v := &peerVerifier{roots: roots, anyTime: skip.validityPeriod}
		if !skip.subjectName {
			v.dnsName = endpoint.Hostname()
		}
		config.Transport = newTransport(v, proxy)
	default:
		config.CAData = caPEM
	}
	return config, nil
}

// ConfigFromHost reads the cluster's Secret from the host (namespace = cluster.Namespace) and calls Config.
func ConfigFromHost(ctx context.Context, host kubernetes.Interface, cluster *corev1beta1.KubeFedCluster) (*rest.Config, error) {
	if cluster == nil {
		return nil, errors.New("no KubeFedCluster given")
	}
	name := cluster.Spec.SecretRef.Name
	if name == "" {
		return nil, errors.New("spec.secretRef.name is empty")
	}
	secret, err := host.CoreV1().Secrets(cluster.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("Secret %s/%s not found", cluster.Namespace, name)
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", cluster.Namespace, name, err)
	}
	return Config(cluster, secret)
}

// parseEndpoint accepts what the API's validation accepts, so a cluster that
// was admitted never fails here for a different reason.
func parseEndpoint(endpoint string) (*url.URL, error) {
	if endpoint == "" {
		return nil, errors.New("spec.apiEndpoint is empty; it " + validation.APIEndpointFormat)
	}
	u, problem := validation.ParseAPIEndpoint(endpoint)
	if problem != "" {
		return nil, fmt.Errorf("spec.apiEndpoint %q %s: %s", endpoint, validation.APIEndpointFormat, problem)
	}
	return u, nil
}

// checkIssuedFor refuses to send the Secret's credentials to an endpoint other
// than the one it records: whoever may point a KubeFedCluster at a listener of
// theirs must not collect another cluster's token there.
func checkIssuedFor(secret *corev1.Secret, endpoint *url.URL) error {
	recorded, ok := secret.Annotations[APIEndpointAnnotation]
	if !ok {
		return nil
	}
	name := secret.Namespace + "/" + secret.Name
	issued, problem := validation.ParseAPIEndpoint(recorded)
	if problem != "" {
		return fmt.Errorf("Secret %s annotation %s %q is not an endpoint (%s); refusing to send its credentials anywhere",
			name, APIEndpointAnnotation, recorded, problem)
	}
	if want, got := normalizeEndpoint(issued), normalizeEndpoint(endpoint); want != got {
		return fmt.Errorf("Secret %s was issued for %s; refusing to send its credentials to %s", name, want, got)
	}
	return nil
}

// normalizeEndpoint writes an endpoint one way: lower-case scheme and host,
// explicit port, canonical IP, no trailing slash. Endpoints are the same when
// their normal forms are.
func normalizeEndpoint(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(host, port) + strings.TrimSuffix(u.EscapedPath(), "/")
}

// skipped says which certificate checks spec.disabledTLSValidations turns off.
type skipped struct{ all, subjectName, validityPeriod bool }

func parseDisabled(list []corev1beta1.TLSValidation) (skipped, error) {
	var s skipped
	for i, v := range list {
		switch v {
		case corev1beta1.TLSAll:
			s.all = true
		case corev1beta1.TLSSubjectName:
			s.subjectName = true
		case corev1beta1.TLSValidityPeriod:
			s.validityPeriod = true
		default:
			return s, fmt.Errorf("spec.disabledTLSValidations[%d]: unsupported value %q: supported values: %q, %q, %q",
				i, v, corev1beta1.TLSAll, corev1beta1.TLSSubjectName, corev1beta1.TLSValidityPeriod)
		}
	}
	return s, nil
}

func parseProxy(proxy string) (*url.URL, error) {
	if proxy == "" {
		return nil, nil
	}
	const format = "must be an http://, https:// or socks5:// URL with a host"
	u, err := url.Parse(proxy)
	switch {
	case err != nil:
		return nil, fmt.Errorf("spec.proxyURL %q: %s: %w", proxy, format, err)
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
		return nil, fmt.Errorf("spec.proxyURL %q: %s: scheme %q is not supported", proxy, format, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("spec.proxyURL %q: %s: host is empty", proxy, format)
	}
	return u, nil
}

// credentials returns the bearer token and the CA that signs the member's
// serving certificate, as PEM and as a pool; both CA values are nil when the
// system roots are to be trusted.
func credentials(cluster *corev1beta1.KubeFedCluster, secret *corev1.Secret) (string, []byte, *x509.CertPool, error) {
	if secret == nil {
		return "", nil, nil, fmt.Errorf("Secret %s/%s named by spec.secretRef is missing", cluster.Namespace, cluster.Spec.SecretRef.Name)
	}
	name := secret.Namespace + "/" + secret.Name
	raw, ok := secret.Data[tokenKey]
	if !ok {
		return "", nil, nil, fmt.Errorf("Secret %s has no %q key", name, tokenKey)
	}
	// Tokens pasted by hand often carry a trailing newline, which would break the header.
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", nil, nil, fmt.Errorf("Secret %s has an empty %q key", name, tokenKey)
	}
	caPEM, source := cluster.Spec.CABundle, "spec.caBundle"
	if len(caPEM) == 0 {
		caPEM, source = secret.Data[caKey], fmt.Sprintf("Secret %s key %q", name, caKey)
	}
	if len(caPEM) == 0 {
		return token, nil, nil, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return "", nil, nil, fmt.Errorf("%s: no PEM certificate found", source)
	}
	// A copy, so that whoever changes the returned config cannot change the inputs.
	return token, bytes.Clone(caPEM), roots, nil
}

// newTransport mirrors the transport client-go builds for itself, with the
// certificate verification replaced by v.
func newTransport(v *peerVerifier, proxy *url.URL) *http.Transport {
	proxyFunc := http.ProxyFromEnvironment // what client-go does without a proxy
	if proxy != nil {
		proxyFunc = http.ProxyURL(proxy)
	}
	return utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               proxyFunc,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 25,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// crypto/tls cannot skip single checks, so its verification is
			// off and VerifyPeerCertificate redoes it. There is no session
			// cache, so no resumed connection can bypass the callback.
			InsecureSkipVerify:    true, //nolint:gosec // verified in VerifyPeerCertificate
			VerifyPeerCertificate: v.verify,
		},
	})
}

// peerVerifier checks a member's certificate chain like crypto/tls does,
// minus the checks spec.disabledTLSValidations turns off.
type peerVerifier struct {
	roots   *x509.CertPool // nil means the system roots
	dnsName string         // empty means the subject name is not checked
	anyTime bool           // the validity period is not checked
}

func (v *peerVerifier) verify(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		return errors.New("the member presented no certificate")
	}
	chain := make([]*x509.Certificate, len(rawCerts))
	for i, raw := range rawCerts {
		cert, err := x509.ParseCertificate(raw)
		if err != nil {
			return fmt.Errorf("parsing the member's certificate: %w", err)
		}
		chain[i] = cert
	}
	leaf := chain[0]
	opts := x509.VerifyOptions{Roots: v.roots, DNSName: v.dnsName, Intermediates: x509.NewCertPool()}
	for _, cert := range chain[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if !v.anyTime {
		_, err := leaf.Verify(opts)
		return err
	}
	// x509 has no switch for the time check, so verify at a moment inside the
	// leaf's validity. Now, clamped into it, comes first: issuers commonly
	// backdate leaves to before the CA's own notBefore, so at leaf.NotBefore
	// (KubeFed's choice) the CA itself would not yet be valid.
	var firstErr error
	for _, at := range []time.Time{clamp(time.Now(), leaf.NotBefore, leaf.NotAfter), leaf.NotBefore, leaf.NotAfter} {
		opts.CurrentTime = at
		_, err := leaf.Verify(opts)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func clamp(t, earliest, latest time.Time) time.Time {
	switch {
	case t.Before(earliest):
		return earliest
	case t.After(latest):
		return latest
	}
	return t
}

// Fingerprint identifies the version of a cluster's spec and Secret a client
// was built from: a client whose fingerprint changed must be built again.
func Fingerprint(cluster *corev1beta1.KubeFedCluster, secret *corev1.Secret) string {
	spec, _ := json.Marshal(cluster.Spec)
	secretVersion := "none"
	if secret != nil {
		secretVersion = string(secret.UID) + "/" + secret.ResourceVersion
	}
	return string(spec) + "|" + secretVersion
}
