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

package clusterhealth

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// fuzzMember is a member's API server whose answers the fuzz target sets.
type fuzzMember struct {
	mu                 sync.Mutex
	healthzCode        int
	healthz            string
	version, nodeLists []byte
}

func (m *fuzzMember) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/healthz"):
		w.WriteHeader(m.healthzCode)
		_, _ = w.Write([]byte(m.healthz))
	case strings.HasSuffix(r.URL.Path, "/version"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(m.version)
	case strings.HasSuffix(r.URL.Path, "/api/v1/nodes"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(m.nodeLists)
	default:
		http.NotFound(w, r)
	}
}

// The bits of FuzzClusterHealthProbe's endpoint byte. The low two bits pick
// spec.apiEndpoint: the member, the member at a path, http to the member
// (which speaks https), or an endpoint that is no URL.
const (
	fuzzThroughProxy = 1 << 2 // spec.proxyURL is the member too
	fuzzNoSecret     = 1 << 3 // the Secret named by spec.secretRef is missing
	fuzzNoConfig     = 1 << 4 // there is no KubeFedConfig
	fuzzMemberCA     = 1 << 5 // the Secret's ca.crt is the member's CA
)

// FuzzClusterHealthProbe probes a KubeFedCluster whose typed fields are
// fuzzed (decoded from JSON: CA bundle, secretRef, TLS validations, any
// status, with its conditions' pointers nil or not), with a fuzzed Secret and
// KubeFedConfig (negative thresholds, zero or negative periods), against a
// local member (https) whose /healthz status and body, /version and node
// list are fuzzed. The endpoint and proxy always lead to that member, so that nothing
// leaves the machine. Two probes, for the thresholds, and the report of a
// panic must not panic, and the status written must have one condition of
// each type, Ready among them.
func FuzzClusterHealthProbe(f *testing.F) {
	member := &fuzzMember{}
	server := httptest.NewTLSServer(member)
	f.Cleanup(server.Close)
	memberCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	f.Add([]byte(`{"spec":{"secretRef":{"name":"member-1-secret"}}}`), []byte(`{"data":{"token":"dG9rZW4="}}`), []byte(`{}`), uint8(fuzzMemberCA),
		uint16(200), "ok", []byte(`{"gitVersion":"v1.37.2"}`),
		[]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","items":[{"metadata":{"name":"n","labels":{"topology.kubernetes.io/zone":"a"}}}]}`))
	f.Fuzz(func(t *testing.T, clusterJSON, secretJSON, configJSON []byte, endpoint uint8, healthzCode uint16, healthz string, version, nodeList []byte) {
		cluster := &corev1beta1.KubeFedCluster{}
		if err := json.Unmarshal(clusterJSON, cluster); err != nil {
			return // not a KubeFedCluster at all: the API server refuses it
		}
		cluster.Namespace, cluster.Name = fixtureNamespace, "member-1"
		cluster.Spec.APIEndpoint = []string{server.URL, server.URL + "/prefix/", strings.Replace(server.URL, "https:", "http:", 1), "http://[::1"}[endpoint%4]
		cluster.Spec.ProxyURL = ""
		if endpoint&fuzzThroughProxy != 0 {
			cluster.Spec.ProxyURL = server.URL
		}
		var secret *corev1.Secret
		if endpoint&fuzzNoSecret == 0 {
			secret = &corev1.Secret{}
			_ = json.Unmarshal(secretJSON, secret) // what does not decode stays empty
			secret.Namespace, secret.Name = fixtureNamespace, cluster.Spec.SecretRef.Name
			if endpoint&fuzzMemberCA != 0 {
				if secret.Data == nil {
					secret.Data = map[string][]byte{}
				}
				secret.Data["ca.crt"] = memberCA
			}
		}
		var config *corev1beta1.KubeFedConfig
		if endpoint&fuzzNoConfig == 0 {
			config = &corev1beta1.KubeFedConfig{}
			_ = json.Unmarshal(configJSON, config)
			config.Namespace, config.Name = fixtureNamespace, configName
		}
		code := int(healthzCode)
		if code < 200 || code > 599 {
			code = 200 + code%400 // net/http writes no other status
		}
		member.mu.Lock()
		member.healthzCode, member.healthz, member.version, member.nodeLists = code, healthz, version, nodeList
		member.mu.Unlock()

		fx := newHealthFixture(t, cluster, config, secret)
		ctx, cancel := context.WithTimeout(klog.NewContext(context.Background(), logr.Discard()), 10*time.Second)
		defer cancel()
		p := &prober{name: cluster.Name, backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, time.Minute)}
		for range 2 {
			fx.controller.probeOnce(ctx, p)
		}
		fx.checkStatus(ctx, t, cluster.ResourceVersion, "")
		if err := fx.controller.reportPanic(ctx, cluster.Name, "probing panicked"); err != nil {
			t.Fatal(err)
		}
		fx.checkStatus(ctx, t, cluster.ResourceVersion, ReasonReconcileError)
	})
}

// checkStatus checks the status of the fixture's cluster, if fedhub wrote it
// since version: one condition of each type, Ready among them, with reason
// ready when that is not "".
func (fx *healthFixture) checkStatus(ctx context.Context, t *testing.T, version, ready string) {
	t.Helper()
	stored, err := fx.client.CoreV1beta1().KubeFedClusters(fixtureNamespace).Get(ctx, "member-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.ResourceVersion == version {
		return // nothing written: the status is the fuzzed one
	}
	seen := map[corev1beta1.ClusterConditionType]*corev1beta1.ClusterCondition{}
	for i, c := range stored.Status.Conditions {
		if seen[c.Type] != nil {
			t.Errorf("two %s conditions: %+v", c.Type, stored.Status.Conditions)
		}
		seen[c.Type] = &stored.Status.Conditions[i]
	}
	switch c := seen[corev1beta1.ClusterReady]; {
	case c == nil:
		t.Errorf("no Ready condition: %+v", stored.Status.Conditions)
	case ready != "" && (c.Reason == nil || *c.Reason != ready || c.Status != corev1.ConditionFalse):
		t.Errorf("Ready condition %+v, want False with reason %s", c, ready)
	}
}
