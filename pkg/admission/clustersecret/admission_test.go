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

package clustersecret

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/fedhub/fedhub/apis/core"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

const namespace = "kube-federation-system"

// readable is a stand-in for the host's RBAC: the Secrets in the federation
// namespace that alice may get. Everyone else may get nothing.
func readable(names ...string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetUser().GetName() != "alice" || a.GetVerb() != "get" || a.GetAPIGroup() != "" || a.GetResource() != "secrets" ||
			a.GetNamespace() != namespace || !a.IsResourceRequest() {
			return authorizer.DecisionNoOpinion, "", nil
		}
		for _, name := range names {
			if name == a.GetName() {
				return authorizer.DecisionAllow, "", nil
			}
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

// cluster is the internal type: the server decodes requests into it before
// admission, whatever version the client sent.
func cluster(endpoint, secret string) *core.KubeFedCluster {
	return &core.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2", Namespace: namespace},
		Spec:       core.KubeFedClusterSpec{APIEndpoint: endpoint, SecretRef: core.LocalSecretReference{Name: secret}},
	}
}

func TestValidate(t *testing.T) {
	clusters := corev1beta1.SchemeGroupVersion.WithResource("kubefedclusters")
	mine := cluster("https://10.0.0.2:6443", "member-2-token")
	theirs := cluster("https://10.0.0.2:6443", "member-1-abcde")
	relabelled := theirs.DeepCopy()
	relabelled.Labels = map[string]string{"tier": "gold"}
	tests := []struct {
		name        string
		user        string
		operation   admission.Operation
		resource    schema.GroupVersionResource
		subresource string
		object, old runtime.Object
		wantDenied  []string // substrings of the message; nil means admitted
	}{
		{name: "create with a Secret the user may read", user: "alice", operation: admission.Create, resource: clusters,
			object: mine},
		{name: "create with another cluster's Secret", user: "mallory", operation: admission.Create, resource: clusters,
			object:     cluster("http://127.0.0.1:9999", "member-1-abcde"),
			wantDenied: []string{`user "mallory" may not use Secret kube-federation-system/member-1-abcde as spec.secretRef: that needs verb "get" on it`}},
		{name: "create with a Secret alice may not read", user: "alice", operation: admission.Create, resource: clusters,
			object: theirs, wantDenied: []string{"spec.secretRef", "member-1-abcde", `"get"`}},
		{name: "update without a spec change", user: "mallory", operation: admission.Update, resource: clusters,
			object: relabelled, old: theirs},
		{name: "update pointing another cluster's Secret elsewhere", user: "mallory", operation: admission.Update, resource: clusters,
			object: cluster("https://127.0.0.1:9999", "member-1-abcde"), old: theirs,
			wantDenied: []string{`may not use Secret kube-federation-system/member-1-abcde as spec.secretRef`, "redirects the credentials"}},
		{name: "update swapping in another Secret", user: "mallory", operation: admission.Update, resource: clusters,
			object: theirs, old: mine, wantDenied: []string{"member-1-abcde"}},
		{name: "update through a proxy of the user's", user: "mallory", operation: admission.Update, resource: clusters,
			object: func() runtime.Object {
				c := theirs.DeepCopy()
				c.Spec.ProxyURL = "http://127.0.0.1:3128"
				c.Spec.DisabledTLSValidations = []core.TLSValidation{core.TLSAll}
				return c
			}(), old: theirs, wantDenied: []string{"member-1-abcde"}},
		{name: "update of the endpoint with a Secret the user may read", user: "alice", operation: admission.Update, resource: clusters,
			object: cluster("https://10.0.0.3:6443", "member-2-token"), old: mine},
		{name: "status writes send nothing", user: "mallory", operation: admission.Update, resource: clusters, subresource: "status",
			object: cluster("https://127.0.0.1:9999", "member-1-abcde"), old: theirs},
		{name: "other resources are not checked", user: "mallory", operation: admission.Create,
			resource: corev1beta1.SchemeGroupVersion.WithResource("kubefedconfigs"), object: &core.KubeFedConfig{}},
		{name: "a pull cluster sends no credentials (a secretRef is left to validation)", user: "mallory", operation: admission.Create,
			resource: clusters, object: func() runtime.Object {
				c := cluster("https://127.0.0.1:9999", "member-1-abcde")
				c.Spec.Mode = core.ClusterModePull
				return c
			}()},
		{name: "a push cluster is checked", user: "mallory", operation: admission.Create, resource: clusters,
			object: func() runtime.Object {
				c := cluster("https://127.0.0.1:9999", "member-1-abcde")
				c.Spec.Mode = core.ClusterModePush
				return c
			}(), wantDenied: []string{"member-1-abcde"}},
		{name: "an empty secretRef is left to validation", user: "mallory", operation: admission.Create, resource: clusters,
			object: cluster("https://10.0.0.2:6443", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := New()
			plugin.SetAuthorizer(readable("member-2-token"))
			attrs := admission.NewAttributesRecord(tt.object, tt.old, schema.GroupVersionKind{}, namespace, "member-2", tt.resource,
				tt.subresource, tt.operation, nil, false, &user.DefaultInfo{Name: tt.user})
			err := plugin.Validate(context.Background(), attrs, nil)
			if tt.wantDenied == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) {
				t.Fatalf("got %v, want Forbidden", err)
			}
			for _, want := range tt.wantDenied {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not contain %q", err.Error(), want)
				}
			}
		})
	}
}

// A plugin that cannot read the object must refuse it, not wave it through.
func TestValidateRefusesUnexpectedTypes(t *testing.T) {
	versioned := &corev1beta1.KubeFedCluster{Spec: corev1beta1.KubeFedClusterSpec{
		APIEndpoint: "https://127.0.0.1:9999", SecretRef: corev1beta1.LocalSecretReference{Name: "member-1-abcde"}}}
	plugin := New()
	plugin.SetAuthorizer(readable())
	attrs := admission.NewAttributesRecord(versioned, nil, schema.GroupVersionKind{}, namespace, "member-2",
		corev1beta1.SchemeGroupVersion.WithResource("kubefedclusters"), "", admission.Create, nil, false, &user.DefaultInfo{Name: "mallory"})
	if err := plugin.Validate(context.Background(), attrs, nil); !apierrors.IsInternalError(err) {
		t.Errorf("got %v, want an internal error", err)
	}
}

func TestValidateRefusesWhenAuthorizationFails(t *testing.T) {
	plugin := New()
	plugin.SetAuthorizer(authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionNoOpinion, "", errors.New("host unreachable")
	}))
	attrs := admission.NewAttributesRecord(cluster("https://10.0.0.2:6443", "member-2-token"), nil, schema.GroupVersionKind{}, namespace,
		"member-2", corev1beta1.SchemeGroupVersion.WithResource("kubefedclusters"), "", admission.Create, nil, false, &user.DefaultInfo{Name: "alice"})
	err := plugin.Validate(context.Background(), attrs, nil)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "host unreachable") {
		t.Errorf("got %v, want Forbidden saying why", err)
	}
}

func TestValidateInitialization(t *testing.T) {
	if err := New().ValidateInitialization(); err == nil {
		t.Error("a plugin without an authorizer initialized")
	}
}
