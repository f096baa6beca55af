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

package agentregistration

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/fedhub/fedhub/apis/agent"
	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

const namespace = "kube-federation-system"

func bootstrapAccount(name string, annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "fedhub-agents", Name: name, Annotations: annotations}}
}

// registration is the internal type: the server decodes requests into it
// before admission.
func registration(name string, approved bool) *agent.ClusterRegistration {
	return &agent.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: agent.ClusterRegistrationSpec{APIEndpoint: "https://10.0.0.2:6443", Approved: approved}}
}

func attributes(obj runtime.Object, operation admission.Operation, subresource, userName string) admission.Attributes {
	name := ""
	if accessor, ok := obj.(metav1.Object); ok {
		name = accessor.GetName()
	}
	return admission.NewAttributesRecord(obj, nil, agentv1alpha1.SchemeGroupVersion.WithKind("ClusterRegistration"), namespace, name,
		agentv1alpha1.SchemeGroupVersion.WithResource("clusterregistrations"), subresource, operation, nil, false,
		&user.DefaultInfo{Name: userName})
}

const (
	bootstrap2     = "system:serviceaccount:fedhub-agents:bootstrap-member-2"
	bootstrapGone  = "system:serviceaccount:fedhub-agents:bootstrap-gone"
	bootstrapOther = "system:serviceaccount:fedhub-agents:bootstrap-member-3"
)

func TestAdmit(t *testing.T) {
	host := fake.NewClientset(
		bootstrapAccount("bootstrap-member-2", map[string]string{"agent.fedhub.io/auto-approve": "true"}),
		bootstrapAccount("bootstrap-member-3", map[string]string{"agent.fedhub.io/auto-approve": "false"}),
	)
	tests := []struct {
		name         string
		attrs        admission.Attributes
		wantApproved bool
		wantDenied   []string // substrings of a 403's message; nil means admitted
	}{
		{name: "auto-approved bootstrap", attrs: attributes(registration("member-2", false), admission.Create, "", bootstrap2), wantApproved: true},
		{name: "bootstrap without auto-approve asks for approval", attrs: attributes(registration("member-3", true), admission.Create, "", bootstrapOther),
			wantApproved: false},
		{name: "bootstrap registering another cluster", attrs: attributes(registration("member-1", false), admission.Create, "", bootstrap2),
			wantDenied: []string{"fedhub-agents/bootstrap-member-2", "only the cluster member-2", `"member-1"`}},
		{name: "bootstrap registering with a generated name", attrs: attributes(registration("", false), admission.Create, "", bootstrap2),
			wantDenied: []string{"only the cluster member-2"}},
		{name: "bootstrap whose ServiceAccount is gone", attrs: attributes(registration("gone", true), admission.Create, "", bootstrapGone),
			wantDenied: []string{"fedhub-agents/bootstrap-gone no longer exists"}},
		{name: "an administrator's approved registration", attrs: attributes(registration("member-4", true), admission.Create, "", "admin"), wantApproved: true},
		{name: "an administrator's unapproved registration", attrs: attributes(registration("member-4", false), admission.Create, "", "admin"), wantApproved: false},
		{name: "an agent's registration is left to the authorizer", attrs: attributes(registration("member-1", true), admission.Create, "",
			"system:serviceaccount:fedhub-agents:agent-member-2"), wantApproved: true},
		{name: "the versioned type", attrs: attributes(&agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "member-2"},
			Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: false}}, admission.Create, "", bootstrap2), wantApproved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := New()
			plugin.SetExternalKubeClientSet(host)
			if err := plugin.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			err := plugin.Admit(context.Background(), tt.attrs, nil)
			if tt.wantDenied != nil {
				if !apierrors.IsForbidden(err) {
					t.Fatalf("Admit = %v, want 403", err)
				}
				for _, want := range tt.wantDenied {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message %q does not say %q", err.Error(), want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Admit = %v, want admitted", err)
			}
			_, approved, _ := fields(tt.attrs.GetObject())
			if *approved != tt.wantApproved {
				t.Errorf("spec.approved = %v, want %v", *approved, tt.wantApproved)
			}
		})
	}
}

func TestAdmitLeavesOtherRequests(t *testing.T) {
	host := fake.NewClientset() // no ServiceAccount: a lookup would refuse
	plugin := New()
	plugin.SetExternalKubeClientSet(host)
	for _, attrs := range []admission.Attributes{
		attributes(registration("member-1", true), admission.Update, "", bootstrap2),
		attributes(registration("member-1", true), admission.Create, "status", bootstrap2),
		admission.NewAttributesRecord(registration("member-1", true), nil, agentv1alpha1.SchemeGroupVersion.WithKind("Work"), namespace, "member-1",
			agentv1alpha1.SchemeGroupVersion.WithResource("works"), "", admission.Create, nil, false, &user.DefaultInfo{Name: bootstrap2}),
	} {
		if err := plugin.Admit(context.Background(), attrs, nil); err != nil {
			t.Errorf("%s %s/%s: %v, want admitted", attrs.GetOperation(), attrs.GetResource().Resource, attrs.GetSubresource(), err)
		}
	}
	if len(host.Actions()) != 0 {
		t.Errorf("the host was asked: %v", host.Actions())
	}
}

func TestAdmitHostError(t *testing.T) {
	host := fake.NewClientset()
	host.PrependReactor("get", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	plugin := New()
	plugin.SetExternalKubeClientSet(host)
	err := plugin.Admit(context.Background(), attributes(registration("member-2", true), admission.Create, "", bootstrap2), nil)
	if err == nil || apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Admit = %v, want an internal error saying why", err)
	}
}

func TestValidateInitialization(t *testing.T) {
	if err := New().ValidateInitialization(); err == nil {
		t.Error("no host client: want an error")
	}
}
