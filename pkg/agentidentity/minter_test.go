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

package agentidentity

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		user    string
		role    Role
		cluster string
	}{
		{"system:serviceaccount:fedhub-agents:agent-member-2", Agent, "member-2"},
		{"system:serviceaccount:fedhub-agents:bootstrap-member-2", Bootstrap, "member-2"},
		{"system:serviceaccount:fedhub-agents:agent-", OtherInAgentNamespace, ""},
		{"system:serviceaccount:fedhub-agents:default", OtherInAgentNamespace, ""},
		{"system:serviceaccount:fedhub-agents:", OtherInAgentNamespace, ""},
		{"system:serviceaccount:kube-federation-system:agent-member-2", NotAgent, ""},
		{"agent-member-2", NotAgent, ""},
		{"admin", NotAgent, ""},
	} {
		role, cluster := Classify(tc.user)
		if role != tc.role || cluster != tc.cluster {
			t.Errorf("Classify(%q) = %v, %q; want %v, %q", tc.user, role, cluster, tc.role, tc.cluster)
		}
	}
	if got := AgentUser("member-2"); got != "system:serviceaccount:fedhub-agents:agent-member-2" {
		t.Errorf("AgentUser = %q", got)
	}
	if got := BootstrapUser("member-2"); got != "system:serviceaccount:fedhub-agents:bootstrap-member-2" {
		t.Errorf("BootstrapUser = %q", got)
	}
}

func TestHostMinter(t *testing.T) {
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	client := fake.NewClientset()
	var asked []int64
	client.PrependReactor("create", "serviceaccounts", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "token" {
			return false, nil, nil
		}
		request := action.(clienttesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
		asked = append(asked, *request.Spec.ExpirationSeconds)
		return true, &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{
			Token: "minted", ExpirationTimestamp: metav1.NewTime(expires),
		}}, nil
	})
	minter := NewHostMinter(client)
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second call finds the ServiceAccount
		token, expiry, err := minter.AgentToken(ctx, "member-2", 3600)
		if err != nil {
			t.Fatalf("AgentToken: %v", err)
		}
		if token != "minted" || !expiry.Equal(expires) {
			t.Errorf("AgentToken = %q, %v; want minted, %v", token, expiry, expires)
		}
	}
	if len(asked) != 2 || asked[0] != 3600 {
		t.Errorf("token requests asked for %v seconds, want 3600 twice", asked)
	}
	account, err := client.CoreV1().ServiceAccounts(AgentNamespace).Get(ctx, "agent-member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("agent ServiceAccount: %v", err)
	}
	if got := account.Annotations[ClusterNameAnnotation]; got != "member-2" {
		t.Errorf("annotation %s = %q, want member-2", ClusterNameAnnotation, got)
	}
}

func TestHostMinterKeepsAnExistingServiceAccount(t *testing.T) {
	existing := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "agent-member-3", Namespace: AgentNamespace, Labels: map[string]string{"kept": "yes"},
	}}
	client := fake.NewClientset(existing)
	client.PrependReactor("create", "serviceaccounts", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "token" {
			t.Errorf("unexpected create of a ServiceAccount")
		}
		return true, &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{Token: "t"}}, nil
	})
	if _, _, err := NewHostMinter(client).AgentToken(context.Background(), "member-3", 600); err != nil {
		t.Fatalf("AgentToken: %v", err)
	}
}
