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

package join

import (
	"context"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestExtendMemberRole(t *testing.T) {
	const cluster = "member-1"
	identity := Identity(cluster)
	binding := func(role string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: identity},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}}
	}
	role := func(rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: identity}, Rules: rules}
	}
	manage := func(group string, resources ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: manageVerbs}
	}
	base := baseRules[:len(baseRules):len(baseRules)] // appending never writes into baseRules
	tests := []struct {
		name          string
		group, plural string
		objects       []runtime.Object
		want          MemberRoleChange
		wantErr       string
		wantRules     []rbacv1.PolicyRule // nil: the role is not checked
	}{{
		name:  "joined with least rights: the type joins join's rule for its group",
		group: "", plural: "limitranges",
		objects:   []runtime.Object{binding(identity), role(append(base, manage("", "configmaps", "secrets"))...)},
		want:      RoleExtended,
		wantRules: append(base, manage("", "configmaps", "limitranges", "secrets")),
	}, {
		name:  "a group the role has no rule for gets a rule of its own; other rules stay",
		group: "policy", plural: "poddisruptionbudgets",
		objects: []runtime.Object{binding(identity), role(append(base, manage("", "configmaps"),
			rbacv1.PolicyRule{APIGroups: []string{"example.com"}, Resources: []string{"gizmos"}, Verbs: []string{"get"}})...)},
		want: RoleExtended,
		wantRules: append(base, manage("", "configmaps"),
			rbacv1.PolicyRule{APIGroups: []string{"example.com"}, Resources: []string{"gizmos"}, Verbs: []string{"get"}},
			manage("policy", "poddisruptionbudgets")),
	}, {
		name:  "already allowed",
		group: "", plural: "limitranges",
		objects:   []runtime.Object{binding(identity), role(append(base, manage("", "limitranges"))...)},
		want:      RoleCoversType,
		wantRules: append(base, manage("", "limitranges")),
	}, {
		name:  "allowed by wildcards",
		group: "apps", plural: "deployments",
		objects: []runtime.Object{binding(identity), role(rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})},
		want:    RoleCoversType,
	}, {
		name:  "some verbs, or some objects only, are not enough",
		group: "", plural: "limitranges",
		objects: []runtime.Object{binding(identity), role(
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"limitranges"}, Verbs: []string{"get", "list", "watch"}},
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"limitranges"}, Verbs: manageVerbs, ResourceNames: []string{"one"}})},
		want: RoleExtended,
	}, {
		name:  "joined as cluster-admin",
		group: "", plural: "limitranges",
		objects: []runtime.Object{binding("cluster-admin")},
		want:    RoleIsClusterAdmin,
	}, {
		name:  "not joined by join",
		group: "", plural: "limitranges",
		wantErr: "no ClusterRoleBinding fedhub-member-1",
	}, {
		name:  "bound to a role join did not create",
		group: "", plural: "limitranges",
		objects: []runtime.Object{binding("site-reliability")},
		wantErr: "binds ClusterRole site-reliability",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			got, err := ExtendMemberRole(context.Background(), client, cluster, tt.group, tt.plural, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("change %q, want %q", got, tt.want)
			}
			if tt.want == RoleExtended || tt.want == RoleCoversType {
				stored, err := client.RbacV1().ClusterRoles().Get(context.Background(), identity, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !allowsManaging(stored.Rules, tt.group, tt.plural) {
					t.Errorf("the role does not allow managing %s: %+v", tt.plural, stored.Rules)
				}
				if tt.wantRules != nil && !equality.Semantic.DeepEqual(stored.Rules, tt.wantRules) {
					t.Errorf("rules\n%+v\nwant\n%+v", stored.Rules, tt.wantRules)
				}
			}
		})
	}
}

// TestExtendAgentRole: a pull member's rights are the ClusterRole of the
// agent's manifests, extended like join's role; without those manifests
// the member's administrator grants them.
func TestExtendAgentRole(t *testing.T) {
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: AgentMemberName},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AgentMemberName}}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: AgentMemberName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: manageVerbs}}}
	client := fake.NewClientset(binding, role)
	got, err := ExtendAgentRole(context.Background(), client, "", "limitranges", false)
	if err != nil || got != RoleExtended {
		t.Fatalf("got %q, %v; want %q", got, err, RoleExtended)
	}
	stored, err := client.RbacV1().ClusterRoles().Get(context.Background(), AgentMemberName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !allowsManaging(stored.Rules, "", "limitranges") || !allowsManaging(stored.Rules, "", "configmaps") {
		t.Errorf("rules %+v", stored.Rules)
	}
	if _, err := ExtendAgentRole(context.Background(), fake.NewClientset(), "", "limitranges", false); err == nil ||
		!strings.Contains(err.Error(), "no ClusterRoleBinding fedhub-agent: its agent does not run with the manifests") {
		t.Errorf("without the agent's manifests: %v", err)
	}
	if MemberRoleName("member-2", true) != AgentMemberName || MemberRoleName("member-1", false) != Identity("member-1") {
		t.Error("MemberRoleName")
	}
}

// TestImpersonationRules: the member role lets fedhub impersonate only in
// constrained impersonation's user-info mode (no service accounts, nodes or
// system:masters), for every request verb, and never with the classic
// impersonate verb, which would let it act as anyone.
func TestImpersonationRules(t *testing.T) {
	var verbs []string
	for _, rule := range baseRules {
		verbs = append(verbs, rule.Verbs...)
	}
	for _, rule := range ImpersonationRules {
		if !slices.ContainsFunc(baseRules, func(r rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(r, rule) }) {
			t.Errorf("baseRules lack %+v", rule)
		}
	}
	want := []string{"impersonate:user-info",
		"impersonate-on:user-info:get", "impersonate-on:user-info:list", "impersonate-on:user-info:watch",
		"impersonate-on:user-info:create", "impersonate-on:user-info:update", "impersonate-on:user-info:patch",
		"impersonate-on:user-info:delete", "impersonate-on:user-info:deletecollection", "impersonate-on:user-info:head"}
	for _, verb := range want {
		if !slices.Contains(verbs, verb) {
			t.Errorf("no rule has the verb %s", verb)
		}
	}
	for _, verb := range verbs {
		if verb == "impersonate" || verb == "*" {
			t.Errorf("a base rule has the verb %q", verb)
		}
	}
	if got := ImpersonationRules[0]; !slices.Equal(got.APIGroups, []string{"authentication.k8s.io"}) || !slices.Equal(got.Resources, []string{"users", "groups"}) {
		t.Errorf("the impersonate:user-info rule is on %v %v, want users and groups of authentication.k8s.io", got.APIGroups, got.Resources)
	}
}
