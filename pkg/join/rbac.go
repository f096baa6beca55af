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
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// manageVerbs are what propagation does to a target object in a member:
// read and watch it, create, update and delete it.
var manageVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// baseRules are what the reconciler needs in every member whatever is
// federated: health and version, node topology for zones and region, and
// namespaces, whose existence propagation checks before it writes into one.
var baseRules = []rbacv1.PolicyRule{
	{NonResourceURLs: []string{"/healthz", "/livez", "/readyz", "/version"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"nodes", "namespaces"}, Verbs: []string{"get", "list", "watch"}},
}

// ReconcilerRules are the least rights the federation's identity needs in a
// member: the base rules plus managing every target type the federation's
// FederatedTypeConfigs name. A type enabled later needs the rules again: join
// a second time (it is idempotent) to update them.
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
