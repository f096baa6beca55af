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
	"fmt"
	"slices"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// manageVerbs are what propagation does to a target object in a member:
// read and watch it, create, update and delete it.
var manageVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// baseRules are what the reconciler needs in every member whatever is
// federated: health and version, node topology for zones and region (and,
// for the replica scheduler, whether nodes gained room), namespaces, whose
// existence propagation checks before it writes into one, the pods of a
// scheduled workload that is short of ready replicas, which the replica
// scheduler counts for the member's capacity (docs/scheduling.md); and the
// impersonation that the proxy subresource (pkg/clusterproxy) needs.
var baseRules = append([]rbacv1.PolicyRule{
	{NonResourceURLs: []string{"/healthz", "/livez", "/readyz", "/version"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"nodes", "namespaces"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
}, ImpersonationRules...)

// ImpersonationRules let the federation's identity act in the member as the
// hub users kubefedclusters/NAME/proxy serves (fedhub:<user> in the groups
// fedhub:<group>), with constrained impersonation (KEP-5284, on by default
// since Kubernetes 1.36): the user-info mode, which cannot impersonate
// service accounts, nodes or the group system:masters, for every request
// verb. RBAC cannot limit users and groups to a prefix, so the rights cover
// every other user and group name (docs/tenancy.md, "Cluster access").
var ImpersonationRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"users", "groups"}, Verbs: []string{"impersonate:user-info"}},
	{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: impersonateOn("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")},
	{NonResourceURLs: []string{"*"}, Verbs: impersonateOn("get", "head")},
}

// impersonateOn are the constrained impersonation verbs that allow each of
// verbs while impersonating in the user-info mode.
func impersonateOn(verbs ...string) []string {
	out := make([]string, len(verbs))
	for i, verb := range verbs {
		out[i] = "impersonate-on:user-info:" + verb
	}
	return out
}

// ReconcilerRules are the least rights the federation's identity needs in a
// member: the base rules plus managing every target type the federation's
// FederatedTypeConfigs name. A type enabled later needs the rules again:
// fedhubctl enable extends the role (ExtendMemberRole), or join a second
// time (it is idempotent) to update them.
func ReconcilerRules(ctx context.Context, federation clientset.Interface, namespace string) ([]rbacv1.PolicyRule, error) {
	typeConfigs, err := federation.CoreV1beta1().FederatedTypeConfigs(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	byGroup := map[string][]string{}
	for _, tc := range typeConfigs.Items {
		target := tc.Spec.TargetType
		byGroup[target.Group] = append(byGroup[target.Group], target.PluralName)
	}
	rules := append([]rbacv1.PolicyRule{}, baseRules...)
	groups := make([]string, 0, len(byGroup))
	for group := range byGroup {
		groups = append(groups, group)
	}
	sort.Strings(groups)
	for _, group := range groups {
		resources := byGroup[group]
		sort.Strings(resources)
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: manageVerbs})
	}
	return rules, nil
}

// MemberRoleChange says what ExtendMemberRole did.
type MemberRoleChange string

const (
	// RoleExtended means the role now allows managing the type.
	RoleExtended MemberRoleChange = "extended"
	// RoleCoversType means the role allowed it already.
	RoleCoversType MemberRoleChange = "already allowed"
	// RoleIsClusterAdmin means the identity is bound to cluster-admin (join --cluster-admin).
	RoleIsClusterAdmin MemberRoleChange = "cluster-admin"
)

// ExtendMemberRole gives the federation's identity in a member joined as
// cluster the rights to manage the resource group/plural, by adding them to
// the ClusterRole join created, and keeps every rule the role has. It runs
// with the caller's member credentials: fedhub itself never holds the right
// to grant itself rights. A member not joined by join, or whose identity is
// bound to a role join did not create, is left alone with an error that says so.
func ExtendMemberRole(ctx context.Context, member kubernetes.Interface, cluster, group, plural string, dryRun bool) (MemberRoleChange, error) {
	return extendRole(ctx, member, Identity(cluster), "not joined by fedhubctl join", group, plural, dryRun)
}

// ExtendAgentRole does for a pull member what ExtendMemberRole does for a
// push member: it extends the ClusterRole fedhub-agent of the agent's
// manifests (join --mode pull --agent-manifests), with the caller's member
// credentials.
func ExtendAgentRole(ctx context.Context, member kubernetes.Interface, group, plural string, dryRun bool) (MemberRoleChange, error) {
	return extendRole(ctx, member, AgentMemberName, "its agent does not run with the manifests of fedhubctl join --mode pull --agent-manifests", group, plural, dryRun)
}

// MemberRoleName is the member ClusterRole that holds the federation's
// rights in a member: join's for a push member, the agent's for a pull member.
func MemberRoleName(cluster string, pull bool) string {
	if pull {
		return AgentMemberName
	}
	return Identity(cluster)
}

// extendRole adds group/plural to the ClusterRole identity that the
// ClusterRoleBinding identity binds; unknown says why a missing binding
// means join did not set the member up.
func extendRole(ctx context.Context, member kubernetes.Interface, identity, unknown, group, plural string, dryRun bool) (MemberRoleChange, error) {
	binding, err := member.RbacV1().ClusterRoleBindings().Get(ctx, identity, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("no ClusterRoleBinding %s: %s, so its administrator grants the federation's identity the rights", identity, unknown)
	}
	if err != nil {
		return "", err
	}
	switch binding.RoleRef.Name {
	case "cluster-admin":
		return RoleIsClusterAdmin, nil
	case identity:
	default:
		return "", fmt.Errorf("ClusterRoleBinding %s binds ClusterRole %s, which join did not create; its administrator grants the rights", identity, binding.RoleRef.Name)
	}
	var change MemberRoleChange
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		role, err := member.RbacV1().ClusterRoles().Get(ctx, identity, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if allowsManaging(role.Rules, group, plural) {
			change = RoleCoversType
			return nil
		}
		role.Rules = withManageRule(role.Rules, group, plural)
		var dryRunValue []string
		if dryRun {
			dryRunValue = []string{metav1.DryRunAll}
		}
		_, err = member.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{DryRun: dryRunValue})
		change = RoleExtended
		return err
	})
	if err != nil {
		return "", fmt.Errorf("ClusterRole %s: %w", identity, err)
	}
	return change, nil
}

// allowsManaging says whether rules grant every verb propagation uses on
// group/plural, for all objects (a rule limited to resourceNames does not count).
func allowsManaging(rules []rbacv1.PolicyRule, group, plural string) bool {
	has := func(list []string, value string) bool {
		return slices.Contains(list, value) || slices.Contains(list, rbacv1.ResourceAll)
	}
	for _, verb := range manageVerbs {
		allowed := false
		for _, rule := range rules {
			if len(rule.ResourceNames) == 0 && has(rule.APIGroups, group) && has(rule.Resources, plural) && has(rule.Verbs, verb) {
				allowed = true
				break
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// withManageRule adds plural to the rule join wrote for group, or a rule of
// its own when there is none, so that the role keeps the shape
// ReconcilerRules gives it.
func withManageRule(rules []rbacv1.PolicyRule, group, plural string) []rbacv1.PolicyRule {
	rules = slices.Clone(rules)
	for i, rule := range rules {
		if len(rule.ResourceNames) == 0 && len(rule.NonResourceURLs) == 0 && slices.Equal(rule.APIGroups, []string{group}) && slices.Equal(rule.Verbs, manageVerbs) {
			resources := append(slices.Clone(rule.Resources), plural)
			sort.Strings(resources)
			rules[i].Resources = resources
			return rules
		}
	}
	return append(rules, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{plural}, Verbs: slices.Clone(manageVerbs)})
}
