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

package validation

import (
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/cert"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/v1beta1"
)

const testNamespace = "kube-federation-system"

// wantErr is the part of a validation error a caller relies on: where and what kind.
type wantErr struct {
	field string
	typ   field.ErrorType
}

func (w wantErr) String() string { return fmt.Sprintf("%s(%s)", w.typ, w.field) }

func req(path string) wantErr         { return wantErr{path, field.ErrorTypeRequired} }
func invalid(path string) wantErr     { return wantErr{path, field.ErrorTypeInvalid} }
func unsupported(path string) wantErr { return wantErr{path, field.ErrorTypeNotSupported} }
func duplicate(path string) wantErr   { return wantErr{path, field.ErrorTypeDuplicate} }
func forbidden(path string) wantErr   { return wantErr{path, field.ErrorTypeForbidden} }

func checkErrors(t *testing.T, got field.ErrorList, want []wantErr) {
	t.Helper()
	gotKeys := make([]wantErr, len(got))
	for i, err := range got {
		gotKeys[i] = wantErr{err.Field, err.Type}
	}
	if fmt.Sprint(gotKeys) != fmt.Sprint(want) {
		t.Errorf("got errors %v, want %v\nfull errors: %v", gotKeys, want, got)
	}
}

func ptr[T any](v T) *T { return &v }

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// testPEM holds a real certificate and its key, made once for the whole package.
var testCertPEM, testKeyPEM = func() ([]byte, []byte) {
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey("member.example.com", nil, nil)
	if err != nil {
		panic(err)
	}
	return certPEM, keyPEM
}()

func validCluster() *core.KubeFedCluster {
	return &core.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-1", Namespace: testNamespace, ResourceVersion: "1"},
		Spec: core.KubeFedClusterSpec{
			APIEndpoint: "host:6443",
			SecretRef:   core.LocalSecretReference{Name: "member-1-token"},
		},
	}
}

func TestValidateKubeFedCluster(t *testing.T) {
	brokenCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	tests := []struct {
		name   string
		mutate func(*core.KubeFedCluster)
		want   []wantErr
	}{
		{name: "bare host:port", mutate: func(*core.KubeFedCluster) {}},
		{name: "bare host", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "member.example.com" }},
		{name: "bare IP", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "10.0.0.1" }},
		{name: "bare IP:port", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "10.0.0.1:6443" }},
		{name: "bare IPv6:port", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "[::1]:6443" }},
		{name: "http URL with TLS given up", mutate: func(c *core.KubeFedCluster) {
			c.Spec.APIEndpoint = "http://member:8080"
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSAll}
		}},
		{name: "http URL", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "http://member:8080" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "HTTP URL in capitals", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "HTTP://member:8080" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "http URL with single TLS checks disabled", mutate: func(c *core.KubeFedCluster) {
			c.Spec.APIEndpoint = "http://member:8080"
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSSubjectName, core.TLSValidityPeriod}
		}, want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "https URL with path prefix", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "https://proxy/member-1" }},
		{name: "https URL with caBundle", mutate: func(c *core.KubeFedCluster) {
			c.Spec.APIEndpoint = "https://member.example.com:6443"
			c.Spec.CABundle = testCertPEM
		}},
		{name: "all TLS validations disabled", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSAll}
		}},
		{name: "named TLS validations disabled", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSSubjectName, core.TLSValidityPeriod}
		}},
		{name: "http proxy", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "http://proxy:3128" }},
		{name: "https proxy", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "https://proxy" }},
		{name: "socks5 proxy", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "socks5://proxy:1080" }},

		{name: "missing name", mutate: func(c *core.KubeFedCluster) { c.Name = "" },
			want: []wantErr{req("metadata.name")}},
		{name: "name not a DNS subdomain", mutate: func(c *core.KubeFedCluster) { c.Name = "Member_1" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "missing namespace", mutate: func(c *core.KubeFedCluster) { c.Namespace = "" },
			want: []wantErr{req("metadata.namespace")}},
		{name: "missing endpoint", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "" },
			want: []wantErr{req("spec.apiEndpoint")}},
		{name: "ftp endpoint", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "ftp://x" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "port out of range", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "host:99999" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "port zero", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "https://host:0" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "empty port", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "host:" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "port not a number", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "host:abc" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "empty host", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "http://:6443" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "scheme only", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "https://" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "bare host with path", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "host/path" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "unbracketed IPv6", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "::1" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "missing secret name", mutate: func(c *core.KubeFedCluster) { c.Spec.SecretRef.Name = "" },
			want: []wantErr{req("spec.secretRef.name")}},
		{name: "secret name not a DNS subdomain", mutate: func(c *core.KubeFedCluster) { c.Spec.SecretRef.Name = "Token_1" },
			want: []wantErr{invalid("spec.secretRef.name")}},
		{name: "unknown TLS validation", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSSubjectName, "Hostname"}
		}, want: []wantErr{unsupported("spec.disabledTLSValidations[1]")}},
		{name: "wildcard with others", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSAll, core.TLSSubjectName}
		}, want: []wantErr{invalid("spec.disabledTLSValidations")}},
		{name: "duplicate TLS validation", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSValidityPeriod, core.TLSSubjectName, core.TLSValidityPeriod}
		}, want: []wantErr{duplicate("spec.disabledTLSValidations[2]")}},
		{name: "ftp proxy", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "ftp://proxy" },
			want: []wantErr{invalid("spec.proxyURL")}},
		{name: "proxy without scheme", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "proxy:3128" },
			want: []wantErr{invalid("spec.proxyURL")}},
		{name: "proxy without host", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "http://" },
			want: []wantErr{invalid("spec.proxyURL")}},
		{name: "unparsable proxy", mutate: func(c *core.KubeFedCluster) { c.Spec.ProxyURL = "://proxy" },
			want: []wantErr{invalid("spec.proxyURL")}},
		{name: "caBundle not PEM", mutate: func(c *core.KubeFedCluster) { c.Spec.CABundle = []byte("not a certificate") },
			want: []wantErr{invalid("spec.caBundle")}},
		{name: "caBundle holds only a key", mutate: func(c *core.KubeFedCluster) { c.Spec.CABundle = testKeyPEM },
			want: []wantErr{invalid("spec.caBundle")}},
		{name: "caBundle certificate does not parse", mutate: func(c *core.KubeFedCluster) { c.Spec.CABundle = brokenCert },
			want: []wantErr{invalid("spec.caBundle")}},
		{name: "empty spec", mutate: func(c *core.KubeFedCluster) { c.Spec = core.KubeFedClusterSpec{} },
			want: []wantErr{req("spec.apiEndpoint"), req("spec.secretRef.name")}},
		{name: "push mode", mutate: func(c *core.KubeFedCluster) { c.Spec.Mode = core.ClusterModePush }},
		{name: "push mode needs a secret", mutate: func(c *core.KubeFedCluster) {
			c.Spec.Mode = core.ClusterModePush
			c.Spec.SecretRef.Name = ""
		}, want: []wantErr{req("spec.secretRef.name")}},
		{name: "unknown mode", mutate: func(c *core.KubeFedCluster) { c.Spec.Mode = "pull" },
			want: []wantErr{unsupported("spec.mode")}},
		{name: "pull mode", mutate: func(c *core.KubeFedCluster) {
			c.Spec.Mode = core.ClusterModePull
			c.Spec.SecretRef.Name = ""
		}},
		{name: "pull mode without endpoint", mutate: func(c *core.KubeFedCluster) {
			c.Spec = core.KubeFedClusterSpec{Mode: core.ClusterModePull}
		}},
		{name: "pull mode with a plain http endpoint, TLS settings and proxy", mutate: func(c *core.KubeFedCluster) {
			c.Spec = core.KubeFedClusterSpec{Mode: core.ClusterModePull, APIEndpoint: "http://10.0.0.2:8080",
				DisabledTLSValidations: []core.TLSValidation{core.TLSSubjectName}, CABundle: testCertPEM, ProxyURL: "http://proxy:3128"}
		}},
		{name: "pull mode with a secret", mutate: func(c *core.KubeFedCluster) { c.Spec.Mode = core.ClusterModePull },
			want: []wantErr{forbidden("spec.secretRef.name")}},
		{name: "pull mode with a bad endpoint", mutate: func(c *core.KubeFedCluster) {
			c.Spec = core.KubeFedClusterSpec{Mode: core.ClusterModePull, APIEndpoint: "ftp://member"}
		}, want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "pull mode with a bad caBundle", mutate: func(c *core.KubeFedCluster) {
			c.Spec = core.KubeFedClusterSpec{Mode: core.ClusterModePull, CABundle: []byte("not a certificate")}
		}, want: []wantErr{invalid("spec.caBundle")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := validCluster()
			tt.mutate(obj)
			checkErrors(t, ValidateKubeFedCluster(obj), tt.want)
		})
	}
}

func TestAPIEndpointErrorsExplainTheFormat(t *testing.T) {
	for _, endpoint := range []string{"", "ftp://x", "host:99999", "http://:6443", "host:abc"} {
		obj := validCluster()
		obj.Spec.APIEndpoint = endpoint
		errs := ValidateKubeFedCluster(obj)
		if len(errs) != 1 || !strings.Contains(errs[0].Detail, "must be an http:// or https:// URL") {
			t.Errorf("endpoint %q: got %v, want one error saying it must be an http(s) URL", endpoint, errs)
		}
	}
}

func TestPlainHTTPErrorSaysHowToOptOut(t *testing.T) {
	obj := validCluster()
	obj.Spec.APIEndpoint = "http://127.0.0.1:9999"
	errs := ValidateKubeFedCluster(obj)
	if len(errs) != 1 || errs[0].Field != "spec.apiEndpoint" || !strings.Contains(errs[0].Detail, `spec.disabledTLSValidations to ["*"]`) {
		t.Errorf("got %v, want one spec.apiEndpoint error naming the opt-out", errs)
	}
}

func TestValidateKubeFedClusterUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*core.KubeFedCluster)
		want   []wantErr
	}{
		{name: "unchanged", mutate: func(*core.KubeFedCluster) {}},
		{name: "endpoint moved", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "https://10.0.0.2:443" }},
		{name: "renamed", mutate: func(c *core.KubeFedCluster) { c.Name = "member-2" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "invalid endpoint", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "ftp://x" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "moved to plain http", mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "http://10.0.0.2:8080" },
			want: []wantErr{invalid("spec.apiEndpoint")}},
		{name: "invalid TLS validation", mutate: func(c *core.KubeFedCluster) {
			c.Spec.DisabledTLSValidations = []core.TLSValidation{"Everything"}
		}, want: []wantErr{unsupported("spec.disabledTLSValidations[0]")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validCluster(), validCluster()
			tt.mutate(newObj)
			checkErrors(t, ValidateKubeFedClusterUpdate(newObj, oldObj), tt.want)
		})
	}
}

func TestValidateKubeFedClusterStatusUpdate(t *testing.T) {
	probed := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	condition := func(typ core.ClusterConditionType, status corev1.ConditionStatus) core.ClusterCondition {
		return core.ClusterCondition{Type: typ, Status: status, LastProbeTime: probed}
	}
	tests := []struct {
		name       string
		conditions []core.ClusterCondition
		mutate     func(*core.KubeFedCluster)
		want       []wantErr
	}{
		{name: "no conditions"},
		{name: "ready and not offline", conditions: []core.ClusterCondition{
			condition(core.ClusterReady, corev1.ConditionTrue), condition(core.ClusterOffline, corev1.ConditionFalse),
		}},
		{name: "unknown readiness", conditions: []core.ClusterCondition{condition(core.ClusterReady, corev1.ConditionUnknown)}},
		{name: "spec is not checked by a status write", conditions: []core.ClusterCondition{condition(core.ClusterReady, corev1.ConditionTrue)},
			mutate: func(c *core.KubeFedCluster) { c.Spec.APIEndpoint = "" }},
		{name: "renamed", mutate: func(c *core.KubeFedCluster) { c.Name = "member-2" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "unknown type", conditions: []core.ClusterCondition{condition("Healthy", corev1.ConditionTrue)},
			want: []wantErr{unsupported("status.conditions[0].type")}},
		{name: "missing type", conditions: []core.ClusterCondition{condition("", corev1.ConditionTrue)},
			want: []wantErr{req("status.conditions[0].type")}},
		{name: "unknown status", conditions: []core.ClusterCondition{condition(core.ClusterReady, "Maybe")},
			want: []wantErr{unsupported("status.conditions[0].status")}},
		{name: "missing status", conditions: []core.ClusterCondition{condition(core.ClusterReady, "")},
			want: []wantErr{req("status.conditions[0].status")}},
		{name: "missing lastProbeTime", conditions: []core.ClusterCondition{
			condition(core.ClusterReady, corev1.ConditionTrue), {Type: core.ClusterOffline, Status: corev1.ConditionFalse},
		}, want: []wantErr{req("status.conditions[1].lastProbeTime")}},
		{name: "duplicate type", conditions: []core.ClusterCondition{
			condition(core.ClusterReady, corev1.ConditionTrue), condition(core.ClusterOffline, corev1.ConditionFalse),
			condition(core.ClusterReady, corev1.ConditionFalse),
		}, want: []wantErr{duplicate("status.conditions[2].type")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validCluster(), validCluster()
			newObj.Status.Conditions = tt.conditions
			if tt.mutate != nil {
				tt.mutate(newObj)
			}
			checkErrors(t, ValidateKubeFedClusterStatusUpdate(newObj, oldObj), tt.want)
		})
	}
}

// defaultedConfig is what the API server validates: a KubeFedConfig after
// v1beta1 defaulting, converted to the internal version.
func defaultedConfig(t *testing.T) *core.KubeFedConfig {
	t.Helper()
	versioned := &v1beta1.KubeFedConfig{ObjectMeta: metav1.ObjectMeta{Name: "kubefed", Namespace: testNamespace, ResourceVersion: "1"}}
	v1beta1.SetDefaults_KubeFedConfig(versioned)
	internal := &core.KubeFedConfig{}
	if err := v1beta1.Convert_v1beta1_KubeFedConfig_To_core_KubeFedConfig(versioned, internal, nil); err != nil {
		t.Fatal(err)
	}
	return internal
}

func TestValidateKubeFedConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*core.KubeFedConfig)
		want   []wantErr
	}{
		{name: "fully defaulted", mutate: func(*core.KubeFedConfig) {}},
		{name: "namespaced scope", mutate: func(c *core.KubeFedConfig) { c.Spec.Scope = core.NamespaceScoped }},
		{name: "tuned values", mutate: func(c *core.KubeFedConfig) {
			c.Spec.LeaderElect.LeaseDuration = duration(30 * time.Second)
			c.Spec.LeaderElect.RenewDeadline = duration(7 * time.Second)
			c.Spec.LeaderElect.RetryPeriod = duration(5 * time.Second)
			c.Spec.LeaderElect.ResourceLock = ptr(core.EndpointsResourceLock)
			c.Spec.SyncController.AdoptResources = ptr(core.AdoptResourcesDisabled)
			c.Spec.SyncController.MaxConcurrentReconciles = ptr[int64](8)
			c.Spec.FeatureGates[0].Configuration = core.ConfigurationEnabled
		}},
		{name: "missing namespace", mutate: func(c *core.KubeFedConfig) { c.Namespace = "" },
			want: []wantErr{req("metadata.namespace")}},
		{name: "missing scope", mutate: func(c *core.KubeFedConfig) { c.Spec.Scope = "" },
			want: []wantErr{req("spec.scope")}},
		{name: "unknown scope", mutate: func(c *core.KubeFedConfig) { c.Spec.Scope = "Global" },
			want: []wantErr{unsupported("spec.scope")}},
		{name: "missing controllerDuration", mutate: func(c *core.KubeFedConfig) { c.Spec.ControllerDuration = nil },
			want: []wantErr{req("spec.controllerDuration")}},
		{name: "missing availableDelay", mutate: func(c *core.KubeFedConfig) { c.Spec.ControllerDuration.AvailableDelay = nil },
			want: []wantErr{req("spec.controllerDuration.availableDelay")}},
		{name: "zero availableDelay", mutate: func(c *core.KubeFedConfig) { c.Spec.ControllerDuration.AvailableDelay = duration(0) },
			want: []wantErr{invalid("spec.controllerDuration.availableDelay")}},
		{name: "negative unavailableDelay", mutate: func(c *core.KubeFedConfig) {
			c.Spec.ControllerDuration.UnavailableDelay = duration(-time.Second)
		}, want: []wantErr{invalid("spec.controllerDuration.unavailableDelay")}},
		{name: "missing leaderElect", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect = nil },
			want: []wantErr{req("spec.leaderElect")}},
		{name: "zero leaseDuration", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect.LeaseDuration = duration(0) },
			want: []wantErr{invalid("spec.leaderElect.leaseDuration")}},
		{name: "missing renewDeadline", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect.RenewDeadline = nil },
			want: []wantErr{req("spec.leaderElect.renewDeadline")}},
		{name: "negative retryPeriod", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect.RetryPeriod = duration(-time.Second) },
			want: []wantErr{invalid("spec.leaderElect.retryPeriod")}},
		{name: "leaseDuration equal to renewDeadline", mutate: func(c *core.KubeFedConfig) {
			c.Spec.LeaderElect.LeaseDuration = duration(10 * time.Second)
		}, want: []wantErr{invalid("spec.leaderElect.leaseDuration")}},
		{name: "renewDeadline within jittered retryPeriod", mutate: func(c *core.KubeFedConfig) {
			c.Spec.LeaderElect.RenewDeadline = duration(6 * time.Second)
		}, want: []wantErr{invalid("spec.leaderElect.renewDeadline")}},
		{name: "missing resourceLock", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect.ResourceLock = nil },
			want: []wantErr{req("spec.leaderElect.resourceLock")}},
		{name: "unknown resourceLock", mutate: func(c *core.KubeFedConfig) { c.Spec.LeaderElect.ResourceLock = ptr[core.ResourceLockType]("leases") },
			want: []wantErr{unsupported("spec.leaderElect.resourceLock")}},
		{name: "unknown feature gate", mutate: func(c *core.KubeFedConfig) { c.Spec.FeatureGates[1].Name = "CrossClusterServiceDiscovery" },
			want: []wantErr{unsupported("spec.featureGates[1].name")}},
		{name: "missing feature gate name", mutate: func(c *core.KubeFedConfig) { c.Spec.FeatureGates[0].Name = "" },
			want: []wantErr{req("spec.featureGates[0].name")}},
		{name: "unknown feature gate configuration", mutate: func(c *core.KubeFedConfig) { c.Spec.FeatureGates[2].Configuration = "On" },
			want: []wantErr{unsupported("spec.featureGates[2].configuration")}},
		{name: "missing feature gate configuration", mutate: func(c *core.KubeFedConfig) { c.Spec.FeatureGates[2].Configuration = "" },
			want: []wantErr{req("spec.featureGates[2].configuration")}},
		{name: "duplicate feature gate", mutate: func(c *core.KubeFedConfig) {
			c.Spec.FeatureGates = append(c.Spec.FeatureGates, core.FeatureGatesConfig{
				Name: v1beta1.FeaturePushReconciler, Configuration: core.ConfigurationDisabled,
			})
		}, want: []wantErr{duplicate("spec.featureGates[3].name")}},
		{name: "missing clusterHealthCheck", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck = nil },
			want: []wantErr{req("spec.clusterHealthCheck")}},
		{name: "zero health check period", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.Period = duration(0) },
			want: []wantErr{invalid("spec.clusterHealthCheck.period")}},
		{name: "missing health check timeout", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.Timeout = nil },
			want: []wantErr{req("spec.clusterHealthCheck.timeout")}},
		{name: "zero failureThreshold", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.FailureThreshold = ptr[int64](0) },
			want: []wantErr{invalid("spec.clusterHealthCheck.failureThreshold")}},
		{name: "negative successThreshold", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.SuccessThreshold = ptr[int64](-1) },
			want: []wantErr{invalid("spec.clusterHealthCheck.successThreshold")}},
		{name: "missing successThreshold", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.SuccessThreshold = nil },
			want: []wantErr{req("spec.clusterHealthCheck.successThreshold")}},
		{name: "missing syncController", mutate: func(c *core.KubeFedConfig) { c.Spec.SyncController = nil },
			want: []wantErr{req("spec.syncController")}},
		{name: "zero sync reconciles", mutate: func(c *core.KubeFedConfig) { c.Spec.SyncController.MaxConcurrentReconciles = ptr[int64](0) },
			want: []wantErr{invalid("spec.syncController.maxConcurrentReconciles")}},
		{name: "missing adoptResources", mutate: func(c *core.KubeFedConfig) { c.Spec.SyncController.AdoptResources = nil },
			want: []wantErr{req("spec.syncController.adoptResources")}},
		{name: "unknown adoptResources", mutate: func(c *core.KubeFedConfig) {
			c.Spec.SyncController.AdoptResources = ptr[core.ResourceAdoption]("Always")
		}, want: []wantErr{unsupported("spec.syncController.adoptResources")}},
		{name: "missing statusController", mutate: func(c *core.KubeFedConfig) { c.Spec.StatusController = nil },
			want: []wantErr{req("spec.statusController")}},
		{name: "missing status reconciles", mutate: func(c *core.KubeFedConfig) { c.Spec.StatusController.MaxConcurrentReconciles = nil },
			want: []wantErr{req("spec.statusController.maxConcurrentReconciles")}},
		{name: "negative status reconciles", mutate: func(c *core.KubeFedConfig) {
			c.Spec.StatusController.MaxConcurrentReconciles = ptr[int64](-2)
		}, want: []wantErr{invalid("spec.statusController.maxConcurrentReconciles")}},
		{name: "undefaulted spec", mutate: func(c *core.KubeFedConfig) { c.Spec = core.KubeFedConfigSpec{} },
			want: []wantErr{
				req("spec.scope"), req("spec.controllerDuration"), req("spec.leaderElect"),
				req("spec.clusterHealthCheck"), req("spec.syncController"), req("spec.statusController"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := defaultedConfig(t)
			tt.mutate(obj)
			checkErrors(t, ValidateKubeFedConfig(obj), tt.want)
		})
	}
}

func TestValidateKubeFedConfigUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*core.KubeFedConfig)
		want   []wantErr
	}{
		{name: "unchanged", mutate: func(*core.KubeFedConfig) {}},
		{name: "timings changed", mutate: func(c *core.KubeFedConfig) { c.Spec.ClusterHealthCheck.Period = duration(time.Minute) }},
		{name: "scope changed", mutate: func(c *core.KubeFedConfig) { c.Spec.Scope = core.NamespaceScoped },
			want: []wantErr{invalid("spec.scope")}},
		{name: "invalid spec", mutate: func(c *core.KubeFedConfig) { c.Spec.SyncController.MaxConcurrentReconciles = ptr[int64](0) },
			want: []wantErr{invalid("spec.syncController.maxConcurrentReconciles")}},
		{name: "renamed", mutate: func(c *core.KubeFedConfig) { c.Name = "other" },
			want: []wantErr{invalid("metadata.name")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := defaultedConfig(t), defaultedConfig(t)
			tt.mutate(newObj)
			checkErrors(t, ValidateKubeFedConfigUpdate(newObj, oldObj), tt.want)
		})
	}
}

func validTypeConfig() *core.FederatedTypeConfig {
	return &core.FederatedTypeConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "deployments.apps", Namespace: testNamespace, ResourceVersion: "1"},
		Spec: core.FederatedTypeConfigSpec{
			TargetType: core.APIResource{
				Group: "apps", Version: "v1", Kind: "Deployment", PluralName: "deployments", Scope: core.NamespaceScoped,
			},
			Propagation: core.PropagationEnabled,
			FederatedType: core.APIResource{
				Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeployment",
				PluralName: "federateddeployments", Scope: core.NamespaceScoped,
			},
		},
	}
}

func TestValidateFederatedTypeConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*core.FederatedTypeConfig)
		want   []wantErr
	}{
		{name: "deployments.apps", mutate: func(*core.FederatedTypeConfig) {}},
		{name: "core group", mutate: func(c *core.FederatedTypeConfig) {
			c.Name = "configmaps"
			c.Spec.TargetType = core.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: core.NamespaceScoped}
		}},
		{name: "cluster-scoped target", mutate: func(c *core.FederatedTypeConfig) {
			c.Name = "clusterroles.rbac.authorization.k8s.io"
			c.Spec.TargetType = core.APIResource{
				Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", PluralName: "clusterroles", Scope: core.ClusterScoped,
			}
		}},
		{name: "status type and collection", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.StatusType = &core.APIResource{
				Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedDeploymentStatus",
				PluralName: "federateddeploymentstatuses", Scope: core.NamespaceScoped,
			}
			c.Spec.StatusCollection = ptr(core.StatusCollectionEnabled)
		}},
		{name: "propagation disabled", mutate: func(c *core.FederatedTypeConfig) { c.Spec.Propagation = core.PropagationDisabled }},

		{name: "name lacks the group", mutate: func(c *core.FederatedTypeConfig) { c.Name = "deployments" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "core-group name with a group", mutate: func(c *core.FederatedTypeConfig) {
			c.Name = "configmaps.core"
			c.Spec.TargetType = core.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: core.NamespaceScoped}
		}, want: []wantErr{invalid("metadata.name")}},
		{name: "missing namespace", mutate: func(c *core.FederatedTypeConfig) { c.Namespace = "" },
			want: []wantErr{req("metadata.namespace")}},
		{name: "missing target version", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Version = "" },
			want: []wantErr{req("spec.targetType.version")}},
		{name: "target version not a DNS label", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Version = "V1" },
			want: []wantErr{invalid("spec.targetType.version")}},
		{name: "missing target kind", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Kind = "" },
			want: []wantErr{req("spec.targetType.kind")}},
		{name: "target kind with underscore", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Kind = "Deploy_ment" },
			want: []wantErr{invalid("spec.targetType.kind")}},
		{name: "target kind starting with a digit", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Kind = "2Deployment" },
			want: []wantErr{invalid("spec.targetType.kind")}},
		{name: "missing target plural", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.PluralName = "" },
			want: []wantErr{req("spec.targetType.pluralName")}},
		{name: "target plural not a DNS label", mutate: func(c *core.FederatedTypeConfig) {
			c.Name = "deploy-ments-.apps"
			c.Spec.TargetType.PluralName = "deploy-ments-"
		}, want: []wantErr{invalid("metadata.name"), invalid("spec.targetType.pluralName")}},
		{name: "target group not a DNS subdomain", mutate: func(c *core.FederatedTypeConfig) {
			c.Name = "deployments.Apps"
			c.Spec.TargetType.Group = "Apps"
		}, want: []wantErr{invalid("metadata.name"), invalid("spec.targetType.group")}},
		{name: "missing target scope", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Scope = "" },
			want: []wantErr{req("spec.targetType.scope")}},
		{name: "unknown target scope", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Scope = "Global" },
			want: []wantErr{unsupported("spec.targetType.scope")}},
		{name: "missing federated group", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Group = "" },
			want: []wantErr{req("spec.federatedType.group")}},
		{name: "federated group without a dot", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Group = "types" },
			want: []wantErr{invalid("spec.federatedType.group")}},
		{name: "federated group not a DNS subdomain", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.FederatedType.Group = "Types.kubefed.io"
		}, want: []wantErr{invalid("spec.federatedType.group")}},
		{name: "missing federated version", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Version = "" },
			want: []wantErr{req("spec.federatedType.version")}},
		{name: "federated kind not a DNS label", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Kind = "Federated.Deployment" },
			want: []wantErr{invalid("spec.federatedType.kind")}},
		{name: "missing federated plural", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.PluralName = "" },
			want: []wantErr{req("spec.federatedType.pluralName")}},
		{name: "unknown federated scope", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Scope = "namespaced" },
			want: []wantErr{unsupported("spec.federatedType.scope")}},
		{name: "status group without a dot", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.StatusType = &core.APIResource{
				Group: "status", Version: "v1beta1", Kind: "FederatedDeploymentStatus",
				PluralName: "federateddeploymentstatuses", Scope: core.NamespaceScoped,
			}
		}, want: []wantErr{invalid("spec.statusType.group")}},
		{name: "empty status type", mutate: func(c *core.FederatedTypeConfig) { c.Spec.StatusType = &core.APIResource{} },
			want: []wantErr{
				req("spec.statusType.group"), req("spec.statusType.version"), req("spec.statusType.kind"),
				req("spec.statusType.pluralName"), req("spec.statusType.scope"),
			}},
		{name: "missing propagation", mutate: func(c *core.FederatedTypeConfig) { c.Spec.Propagation = "" },
			want: []wantErr{req("spec.propagation")}},
		{name: "unknown propagation", mutate: func(c *core.FederatedTypeConfig) { c.Spec.Propagation = "On" },
			want: []wantErr{unsupported("spec.propagation")}},
		{name: "unknown statusCollection", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.StatusCollection = ptr[core.StatusCollectionMode]("Sometimes")
		}, want: []wantErr{unsupported("spec.statusCollection")}},
		{name: "empty statusCollection", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.StatusCollection = ptr[core.StatusCollectionMode]("")
		}, want: []wantErr{unsupported("spec.statusCollection")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := validTypeConfig()
			tt.mutate(obj)
			checkErrors(t, ValidateFederatedTypeConfig(obj), tt.want)
		})
	}
}

func TestFederatedTypeConfigNameErrorShowsExpectedName(t *testing.T) {
	obj := validTypeConfig()
	obj.Name = "deployments"
	errs := ValidateFederatedTypeConfig(obj)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, `"deployments.apps"`) {
		t.Errorf("got %v, want one error naming \"deployments.apps\"", errs)
	}
}

func TestValidateFederatedTypeConfigUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*core.FederatedTypeConfig)
		want   []wantErr
	}{
		{name: "unchanged", mutate: func(*core.FederatedTypeConfig) {}},
		{name: "propagation switched off", mutate: func(c *core.FederatedTypeConfig) { c.Spec.Propagation = core.PropagationDisabled }},
		{name: "status collection switched on", mutate: func(c *core.FederatedTypeConfig) {
			c.Spec.StatusCollection = ptr(core.StatusCollectionEnabled)
		}},
		{name: "target version changed", mutate: func(c *core.FederatedTypeConfig) { c.Spec.TargetType.Version = "v1beta2" },
			want: []wantErr{invalid("spec.targetType")}},
		{name: "federated kind changed", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Kind = "FederatedApp" },
			want: []wantErr{invalid("spec.federatedType")}},
		{name: "invalid propagation", mutate: func(c *core.FederatedTypeConfig) { c.Spec.Propagation = "" },
			want: []wantErr{req("spec.propagation")}},
		{name: "invalid and changed federated group", mutate: func(c *core.FederatedTypeConfig) { c.Spec.FederatedType.Group = "types" },
			want: []wantErr{invalid("spec.federatedType.group"), invalid("spec.federatedType")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validTypeConfig(), validTypeConfig()
			tt.mutate(newObj)
			checkErrors(t, ValidateFederatedTypeConfigUpdate(newObj, oldObj), tt.want)
		})
	}
}

func TestValidateFederatedTypeConfigStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		status core.FederatedTypeConfigStatus
		want   []wantErr
	}{
		{name: "empty"},
		{name: "running", status: core.FederatedTypeConfigStatus{
			ObservedGeneration: 3, PropagationController: core.ControllerStatusRunning, StatusController: ptr(core.ControllerStatusNotRunning),
		}},
		{name: "not running", status: core.FederatedTypeConfigStatus{PropagationController: core.ControllerStatusNotRunning}},
		{name: "negative observedGeneration", status: core.FederatedTypeConfigStatus{ObservedGeneration: -1},
			want: []wantErr{invalid("status.observedGeneration")}},
		{name: "unknown propagationController", status: core.FederatedTypeConfigStatus{PropagationController: "Stopped"},
			want: []wantErr{unsupported("status.propagationController")}},
		{name: "unknown statusController", status: core.FederatedTypeConfigStatus{StatusController: ptr[core.ControllerStatus]("Paused")},
			want: []wantErr{unsupported("status.statusController")}},
		{name: "empty statusController", status: core.FederatedTypeConfigStatus{StatusController: ptr[core.ControllerStatus]("")},
			want: []wantErr{unsupported("status.statusController")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldObj, newObj := validTypeConfig(), validTypeConfig()
			newObj.Status = tt.status
			checkErrors(t, ValidateFederatedTypeConfigStatusUpdate(newObj, oldObj), tt.want)
		})
	}
}
