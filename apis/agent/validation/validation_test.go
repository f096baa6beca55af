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
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/fedhub/fedhub/apis/agent"
)

// assertErrors checks that errs names exactly the given fields, each with the
// given error type and, if not empty, a detail containing the given text.
func assertErrors(t *testing.T, label string, errs field.ErrorList, want []wantError) {
	t.Helper()
	if len(errs) != len(want) {
		t.Errorf("%s: got %d errors %v, want %d %v", label, len(errs), errs, len(want), want)
		return
	}
	for i, w := range want {
		got := errs[i]
		if got.Field != w.field || got.Type != w.errType || !strings.Contains(got.Detail, w.detail) {
			t.Errorf("%s: error %d = %v (%s, %s), want %s %s containing %q", label, i, got, got.Field, got.Type, w.field, w.errType, w.detail)
		}
	}
}

type wantError struct {
	field   string
	errType field.ErrorType
	detail  string
}

func validRegistration() *agent.ClusterRegistration {
	return &agent.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2", Namespace: "kube-federation-system", ResourceVersion: "1"},
		Spec:       agent.ClusterRegistrationSpec{APIEndpoint: "https://10.0.0.2:6443"},
	}
}

func TestValidateClusterRegistration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*agent.ClusterRegistration)
		want   []wantError
	}{
		{"valid", func(*agent.ClusterRegistration) {}, nil},
		{"no endpoint", func(r *agent.ClusterRegistration) { r.Spec.APIEndpoint = "" }, nil},
		{"bare host", func(r *agent.ClusterRegistration) { r.Spec.APIEndpoint = "member-2.example.com:6443" }, nil},
		{"plain http is only information", func(r *agent.ClusterRegistration) { r.Spec.APIEndpoint = "http://10.0.0.2:8080" }, nil},
		{"approved", func(r *agent.ClusterRegistration) { r.Spec.Approved = true }, nil},
		{"bad scheme", func(r *agent.ClusterRegistration) { r.Spec.APIEndpoint = "ftp://member-2" },
			[]wantError{{"spec.apiEndpoint", field.ErrorTypeInvalid, `scheme "ftp" is not supported`}}},
		{"bad port", func(r *agent.ClusterRegistration) { r.Spec.APIEndpoint = "https://member-2:99999" },
			[]wantError{{"spec.apiEndpoint", field.ErrorTypeInvalid, "port"}}},
		{"name not a subdomain", func(r *agent.ClusterRegistration) { r.Name = "Member_2" },
			[]wantError{{"metadata.name", field.ErrorTypeInvalid, "RFC 1123"}}},
		{"no namespace", func(r *agent.ClusterRegistration) { r.Namespace = "" },
			[]wantError{{"metadata.namespace", field.ErrorTypeRequired, ""}}},
	} {
		registration := validRegistration()
		tc.modify(registration)
		assertErrors(t, tc.name, ValidateClusterRegistration(registration), tc.want)
	}
}

func TestValidateClusterRegistrationUpdate(t *testing.T) {
	old := validRegistration()
	approved := validRegistration()
	approved.Spec.Approved = true
	assertErrors(t, "approve", ValidateClusterRegistrationUpdate(approved, old), nil)
	moved := validRegistration()
	moved.Spec.APIEndpoint = "https://"
	assertErrors(t, "bad endpoint", ValidateClusterRegistrationUpdate(moved, old),
		[]wantError{{"spec.apiEndpoint", field.ErrorTypeInvalid, "host must be a URL"}})

	renewed := validRegistration()
	renewed.Status.LeaseDurationSeconds = 40
	renewed.Status.RenewTime = ptr.To(metav1.NowMicro())
	assertErrors(t, "renew", ValidateClusterRegistrationStatusUpdate(renewed, old), nil)
	negative := validRegistration()
	negative.Status.LeaseDurationSeconds = -1
	assertErrors(t, "negative lease", ValidateClusterRegistrationStatusUpdate(negative, old),
		[]wantError{{"status.leaseDurationSeconds", field.ErrorTypeInvalid, "greater than or equal to 0"}})
}

func TestValidateAgentToken(t *testing.T) {
	for _, tc := range []struct {
		seconds *int64
		want    []wantError
	}{
		{nil, nil},
		{ptr.To[int64](600), nil},
		{ptr.To[int64](3600), nil},
		{ptr.To[int64](172800), nil},
		{ptr.To[int64](599), []wantError{{"spec.expirationSeconds", field.ErrorTypeInvalid, "from 600"}}},
		{ptr.To[int64](0), []wantError{{"spec.expirationSeconds", field.ErrorTypeInvalid, "from 600"}}},
		{ptr.To[int64](172801), []wantError{{"spec.expirationSeconds", field.ErrorTypeInvalid, "172800 (2 days)"}}},
	} {
		label := "no expiration"
		if tc.seconds != nil {
			label = fmt.Sprintf("expiration %d", *tc.seconds)
		}
		assertErrors(t, label, ValidateAgentToken(&agent.AgentToken{Spec: agent.AgentTokenSpec{ExpirationSeconds: tc.seconds}}), tc.want)
	}
}

func validWork() *agent.Work {
	return &agent.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2-0123456789abcdef", Namespace: "kube-federation-system", ResourceVersion: "1"},
		Spec: agent.WorkSpec{
			ClusterName: "member-2",
			Source: agent.WorkSource{APIVersion: "types.kubefed.io/v1beta1", Kind: "FederatedConfigMap",
				Resource: "federatedconfigmaps", Namespace: "default", Name: "settings"},
			Resource: agent.WorkResource{Version: "v1", Resource: "configmaps", Namespaced: true},
			Manifest: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"},"data":{"a":"b"}}`)},
		},
	}
}

func TestValidateWork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*agent.Work)
		want   []wantError
	}{
		{"valid", func(*agent.Work) {}, nil},
		{"cluster-scoped source", func(w *agent.Work) { w.Spec.Source.Namespace = "" }, nil},
		{"manifest as an object", func(w *agent.Work) {
			w.Spec.Manifest = runtime.RawExtension{Object: &metav1.PartialObjectMetadata{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: "ns"}}}
		}, nil},
		{"no cluster", func(w *agent.Work) { w.Spec.ClusterName = "" },
			[]wantError{{"spec.clusterName", field.ErrorTypeRequired, ""}}},
		{"cluster not a subdomain", func(w *agent.Work) { w.Spec.ClusterName = "Member 2" },
			[]wantError{{"spec.clusterName", field.ErrorTypeInvalid, "RFC 1123"}}},
		{"no source", func(w *agent.Work) { w.Spec.Source = agent.WorkSource{} }, []wantError{
			{"spec.source.apiVersion", field.ErrorTypeRequired, ""},
			{"spec.source.kind", field.ErrorTypeRequired, ""},
			{"spec.source.resource", field.ErrorTypeRequired, ""},
			{"spec.source.name", field.ErrorTypeRequired, ""},
		}},
		{"no resource", func(w *agent.Work) { w.Spec.Resource = agent.WorkResource{Group: "apps"} }, []wantError{
			{"spec.resource.version", field.ErrorTypeRequired, ""},
			{"spec.resource.resource", field.ErrorTypeRequired, ""},
		}},
		{"no manifest", func(w *agent.Work) { w.Spec.Manifest = runtime.RawExtension{} },
			[]wantError{{"spec.manifest", field.ErrorTypeRequired, ""}}},
		{"null manifest", func(w *agent.Work) { w.Spec.Manifest = runtime.RawExtension{Raw: []byte("null")} },
			[]wantError{{"spec.manifest", field.ErrorTypeRequired, ""}}},
		{"manifest an array", func(w *agent.Work) { w.Spec.Manifest = runtime.RawExtension{Raw: []byte(`[{"kind":"ConfigMap"}]`)} },
			[]wantError{{"spec.manifest", field.ErrorTypeInvalid, "must be a JSON object: got an array"}}},
		{"manifest not JSON", func(w *agent.Work) { w.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{kind`)} },
			[]wantError{{"spec.manifest", field.ErrorTypeInvalid, "must be a JSON object"}}},
		{"manifest without identity", func(w *agent.Work) {
			w.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{"apiVersion":"","kind":3,"metadata":{"namespace":"default"}}`)}
		}, []wantError{
			{"spec.manifest.apiVersion", field.ErrorTypeRequired, "non-empty string"},
			{"spec.manifest.kind", field.ErrorTypeRequired, "non-empty string"},
			{"spec.manifest.metadata.name", field.ErrorTypeRequired, "non-empty string"},
		}},
		{"name not a subdomain", func(w *agent.Work) { w.Name = "a/b" },
			[]wantError{{"metadata.name", field.ErrorTypeInvalid, ""}}},
		{"both manifest and helmRelease", func(w *agent.Work) { w.Spec.HelmRelease = validHelmRelease() },
			[]wantError{{"spec.helmRelease", field.ErrorTypeForbidden, "exactly one of manifest and helmRelease"}}},
	} {
		work := validWork()
		tc.modify(work)
		assertErrors(t, tc.name, ValidateWork(work), tc.want)
	}
}

func validHelmRelease() *agent.WorkHelmRelease {
	return &agent.WorkHelmRelease{
		Chart:       agent.WorkChart{Repository: "https://charts.example.com", Name: "web", Version: "1.2.3"},
		ReleaseName: "web", Namespace: "shop",
		Values:  &runtime.RawExtension{Raw: []byte(`{"replicas":2}`)},
		Allowed: []agent.WorkAllowedKind{{Kind: "ConfigMap", Namespaced: true}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}},
	}
}

func TestValidateHelmReleaseWork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*agent.Work)
		want   []wantError
	}{
		{"valid", func(*agent.Work) {}, nil},
		{"no values, no allowed kinds", func(w *agent.Work) { w.Spec.HelmRelease.Values, w.Spec.HelmRelease.Allowed = nil, nil }, nil},
		{"a resource is not needed but allowed", func(w *agent.Work) {
			w.Spec.Resource = agent.WorkResource{Version: "v1", Resource: "configmaps"}
		}, nil},
		{"neither variant", func(w *agent.Work) { w.Spec.HelmRelease = nil },
			[]wantError{{"spec.resource.version", field.ErrorTypeRequired, ""}, {"spec.resource.resource", field.ErrorTypeRequired, ""},
				{"spec.manifest", field.ErrorTypeRequired, "or else a helmRelease"}}},
		{"empty release", func(w *agent.Work) { w.Spec.HelmRelease = &agent.WorkHelmRelease{} }, []wantError{
			{"spec.helmRelease.chart.repository", field.ErrorTypeRequired, ""},
			{"spec.helmRelease.chart.name", field.ErrorTypeRequired, ""},
			{"spec.helmRelease.chart.version", field.ErrorTypeRequired, ""},
			{"spec.helmRelease.releaseName", field.ErrorTypeRequired, ""},
			{"spec.helmRelease.namespace", field.ErrorTypeRequired, ""},
		}},
		{"bad names", func(w *agent.Work) {
			w.Spec.HelmRelease.ReleaseName = strings.Repeat("a", 54)
			w.Spec.HelmRelease.Namespace = "Shop"
		}, []wantError{
			{"spec.helmRelease.releaseName", field.ErrorTypeTooLong, "53"},
			{"spec.helmRelease.namespace", field.ErrorTypeInvalid, "RFC 1123"},
		}},
		{"values an array, allowed without a kind", func(w *agent.Work) {
			w.Spec.HelmRelease.Values = &runtime.RawExtension{Raw: []byte(`[1]`)}
			w.Spec.HelmRelease.Allowed = append(w.Spec.HelmRelease.Allowed, agent.WorkAllowedKind{Group: "apps"})
		}, []wantError{
			{"spec.helmRelease.values", field.ErrorTypeInvalid, "must be a JSON object: got an array"},
			{"spec.helmRelease.allowed[2].kind", field.ErrorTypeRequired, ""},
		}},
	} {
		work := validWork()
		work.Spec.Resource = agent.WorkResource{}
		work.Spec.Manifest = runtime.RawExtension{}
		work.Spec.HelmRelease = validHelmRelease()
		tc.modify(work)
		assertErrors(t, tc.name, ValidateWork(work), tc.want)
	}

	old := validWork()
	reported := validWork()
	reported.Status.HelmRelease = &agent.WorkHelmReleaseStatus{ObservedGeneration: -1, Revision: -2}
	assertErrors(t, "bad helm report", ValidateWorkStatusUpdate(reported, old), []wantError{
		{"status.helmRelease.observedGeneration", field.ErrorTypeInvalid, "greater than or equal to 0"},
		{"status.helmRelease.revision", field.ErrorTypeInvalid, "greater than or equal to 0"},
	})
}

func TestValidateWorkUpdate(t *testing.T) {
	old := validWork()
	changed := validWork()
	changed.Spec.Manifest = runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"a":"c"}}`)}
	changed.Spec.RetainReplicas = true
	assertErrors(t, "new manifest", ValidateWorkUpdate(changed, old), nil)
	moved := validWork()
	moved.Spec.ClusterName = "member-3"
	assertErrors(t, "new cluster", ValidateWorkUpdate(moved, old),
		[]wantError{{"spec.clusterName", field.ErrorTypeInvalid, "immutable"}})

	reported := validWork()
	reported.Status = agent.WorkStatus{ObservedGeneration: 1, Result: "UpdateFailed", Message: "denied", DriftCorrections: 2,
		Member: &runtime.RawExtension{Raw: []byte(`{"metadata":{"generation":3}}`)}}
	assertErrors(t, "report", ValidateWorkStatusUpdate(reported, old), nil)
	bad := validWork()
	bad.Status = agent.WorkStatus{ObservedGeneration: -1, DriftCorrections: -2, Member: &runtime.RawExtension{Raw: []byte(`"x"`)}}
	assertErrors(t, "bad report", ValidateWorkStatusUpdate(bad, old), []wantError{
		{"status.observedGeneration", field.ErrorTypeInvalid, "greater than or equal to 0"},
		{"status.driftCorrections", field.ErrorTypeInvalid, "greater than or equal to 0"},
		{"status.member", field.ErrorTypeInvalid, "got a string"},
	})

	short := validWork()
	short.Status.Unschedulable = &agent.UnschedulablePods{Pods: 4, Replicas: 2, Since: metav1.Now(), Message: "0/3 nodes are available"}
	assertErrors(t, "unschedulable pods", ValidateWorkStatusUpdate(short, old), nil)
	for _, tc := range []struct {
		name   string
		report agent.UnschedulablePods
		want   []wantError
	}{
		{"negative", agent.UnschedulablePods{Pods: -1, Replicas: -2},
			[]wantError{{"status.unschedulable.pods", field.ErrorTypeInvalid, "greater than or equal to 0"},
				{"status.unschedulable.replicas", field.ErrorTypeInvalid, "greater than or equal to 0"}}},
		{"more unschedulable than pods", agent.UnschedulablePods{Pods: 1, Replicas: 2},
			[]wantError{{"status.unschedulable.replicas", field.ErrorTypeInvalid, "must not exceed pods"}}},
		{"long message", agent.UnschedulablePods{Pods: 1, Replicas: 1, Message: strings.Repeat("x", 1025)},
			[]wantError{{"status.unschedulable.message", field.ErrorTypeTooLong, "1024"}}},
	} {
		hostile := validWork()
		hostile.Status.Unschedulable = &tc.report
		assertErrors(t, tc.name, ValidateWorkStatusUpdate(hostile, old), tc.want)
	}
}
