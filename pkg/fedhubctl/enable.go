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

package fedhubctl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

// enableOptions are enable's own flags.
type enableOptions struct {
	// updateMemberRoles extends the federation's role in each member reachable
	// through the kubeconfig, with the caller's credentials there.
	updateMemberRoles bool
	// memberContexts names the kubeconfig context of a member whose context
	// is not named like its KubeFedCluster.
	memberContexts map[string]string
}

func newEnableCommand(o *GlobalOptions) *cobra.Command {
	e := &enableOptions{}
	cmd := &cobra.Command{
		Use:   "enable TYPE",
		Short: "Federate a type: create its FederatedTypeConfig",
		Long: "enable creates the FederatedTypeConfig that makes TYPE federated, so that its Federated<Kind> " +
			"is served. TYPE is named as kubectl names types (plural, singular, short name or kind, optionally " +
			"qualified by group or version and group) and may be a built-in type or a CRD that the host or any " +
			"member cluster serves; the version is the one that cluster prefers. Enabling a type that is " +
			"enabled already succeeds.\n\n" +
			"A member joined with least rights may manage only the types enabled when it was joined. With " +
			"--update-member-roles (the default), enable adds TYPE to the federation's ClusterRole in each member " +
			"whose kubeconfig context (named like its KubeFedCluster, or given with --member-context) reaches it, " +
			"with your credentials there, and says per member what it did or why not. fedhub itself cannot grant " +
			"itself rights in a member.",
		Example: "  " + o.commandName() + " enable deployments.apps\n" +
			"  " + o.commandName() + " enable deploy\n" +
			"  " + o.commandName() + " enable widgets.example.com --member-context cluster2=admin@cluster2",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.enable(cmd.Context(), args[0], e)
		},
	}
	cmd.Flags().BoolVar(&e.updateMemberRoles, "update-member-roles", true, "Add TYPE to the federation's role in every member whose kubeconfig context reaches it, with your credentials there.")
	cmd.Flags().StringToStringVar(&e.memberContexts, "member-context", nil, "Kubeconfig context of a member, as NAME=CONTEXT, when it is not named like the member's KubeFedCluster; repeatable.")
	return cmd
}

func (o *GlobalOptions) enable(ctx context.Context, arg string, e *enableOptions) error {
	host, err := o.Host()
	if err != nil {
		return err
	}
	served, err := o.resolveServedType(ctx, host, arg)
	if err != nil {
		return err
	}
	if err := checkFederable(served.mapping.Resource, served.resource.Verbs); err != nil {
		return err
	}
	var clusters []corev1beta1.KubeFedCluster
	if e.updateMemberRoles {
		// Before anything is created: a wrong --member-context is a usage error.
		if clusters, err = o.memberClusters(ctx, host, e.memberContexts); err != nil {
			return err
		}
	}
	typeConfig := typeconfig.ForTarget(o.FederationNamespace, targetResource(served.mapping))
	typeConfigs := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(o.FederationNamespace)
	_, err = typeConfigs.Create(ctx, typeConfig, metav1.CreateOptions{DryRun: o.DryRunValue()})
	if apierrors.IsAlreadyExists(err) {
		err = o.alreadyEnabled(ctx, host, typeConfig)
	} else if err != nil {
		return fmt.Errorf("creating FederatedTypeConfig %s: %w", namespacedName(typeConfig.Namespace, typeConfig.Name), err)
	} else {
		target, federated := typeConfig.Spec.TargetType, typeConfig.Spec.FederatedType
		o.printf("FederatedTypeConfig %s created%s: %s (%s, served by %s) is federated as %s",
			namespacedName(typeConfig.Namespace, typeConfig.Name), o.dryRunSuffix(),
			target.Kind, target.GroupVersionResource().GroupVersion(), served.servedBy, describeFederated(federated))
	}
	if err != nil {
		return err
	}
	target := typeConfig.Spec.TargetType
	if !e.updateMemberRoles {
		// A member's federation identity holds rights for the types enabled when
		// it was joined; it needs them for this one too.
		o.printf("members joined before get the rights to manage %s with: %s enable %s --update-member-roles (or when joined again)",
			target.PluralName, o.commandName(), arg)
		return nil
	}
	o.updateMemberRoles(ctx, clusters, target, e.memberContexts)
	return nil
}

// memberClusters lists the KubeFedClusters and checks that every
// --member-context names one of them.
func (o *GlobalOptions) memberClusters(ctx context.Context, host *HostClients, contexts map[string]string) ([]corev1beta1.KubeFedCluster, error) {
	clusters, err := host.Fedhub.CoreV1beta1().KubeFedClusters(o.FederationNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the member clusters to update their roles: %w", err)
	}
	for name := range contexts {
		if !slices.ContainsFunc(clusters.Items, func(c corev1beta1.KubeFedCluster) bool { return c.Name == name }) {
			return nil, fmt.Errorf("--member-context names %s, which is not a KubeFedCluster in %s", name, o.FederationNamespace)
		}
	}
	return clusters.Items, nil
}

// memberRoleTimeout bounds the work on one member, so that an unreachable
// member delays enable by this much at most.
const memberRoleTimeout = 15 * time.Second

// updateMemberRoles adds target to the federation's role in every member the
// kubeconfig reaches, and prints per member what it did or why not. A member
// it cannot update is reported, not an error: the type is enabled, and the
// member's administrator may grant the rights instead.
func (o *GlobalOptions) updateMemberRoles(ctx context.Context, clusters []corev1beta1.KubeFedCluster, target corev1beta1.APIResource, contexts map[string]string) {
	resource := target.PluralName
	if target.Group != "" {
		resource += "." + target.Group
	}
	for i := range clusters {
		cluster := &clusters[i]
		done, err := o.updateMemberRole(ctx, cluster, target, contexts)
		if err != nil {
			o.printf("member %s: role not updated: %v; unless the federation may get, list, watch, create, update, patch and delete %s there, "+
				"propagation there reports CachedRetrievalFailed until its administrator grants that", cluster.Name, err, resource)
			continue
		}
		o.printf("member %s: %s%s", cluster.Name, done, o.dryRunSuffix())
	}
}

func (o *GlobalOptions) updateMemberRole(ctx context.Context, cluster *corev1beta1.KubeFedCluster, target corev1beta1.APIResource, contexts map[string]string) (string, error) {
	contextName, named := contexts[cluster.Name]
	if !named {
		contextName = cluster.Name
	}
	config, err := o.RESTConfig(contextName)
	if err != nil {
		return "", fmt.Errorf("%w (name its context with --member-context %s=CONTEXT)", err, cluster.Name)
	}
	// The context must reach the cluster the federation reaches: a context of
	// the same name may well be another cluster.
	if !sameEndpoint(config.Host, cluster.Spec.APIEndpoint) {
		return "", fmt.Errorf("kubeconfig context %q reaches %s, but the KubeFedCluster's apiEndpoint is %s", contextName, config.Host, cluster.Spec.APIEndpoint)
	}
	config.Timeout = memberRoleTimeout
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, memberRoleTimeout)
	defer cancel()
	extend := func() (join.MemberRoleChange, error) {
		return join.ExtendMemberRole(ctx, client, cluster.Name, target.Group, target.PluralName, o.DryRun)
	}
	if cluster.IsPull() {
		// The agent applies with its own member identity.
		extend = func() (join.MemberRoleChange, error) {
			return join.ExtendAgentRole(ctx, client, target.Group, target.PluralName, o.DryRun)
		}
	}
	change, err := extend()
	if err != nil {
		return "", err
	}
	role := "ClusterRole " + join.MemberRoleName(cluster.Name, cluster.IsPull())
	switch change {
	case join.RoleIsClusterAdmin:
		return "the federation's identity is bound to cluster-admin; nothing to add", nil
	case join.RoleCoversType:
		return role + " already allows managing " + target.PluralName, nil
	default:
		return role + " now allows managing " + target.PluralName, nil
	}
}

// sameEndpoint compares API endpoints as the federation reads them: a bare
// host means https, and a trailing slash means nothing.
func sameEndpoint(a, b string) bool {
	normalize := func(endpoint string) string {
		if !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		return strings.TrimRight(endpoint, "/")
	}
	return normalize(a) == normalize(b)
}

// alreadyEnabled accepts an existing FederatedTypeConfig of the same target
// type, whatever its version, and refuses one that federates another type
// under the same name.
func (o *GlobalOptions) alreadyEnabled(ctx context.Context, host *HostClients, want *corev1beta1.FederatedTypeConfig) error {
	name := namespacedName(want.Namespace, want.Name)
	existing, err := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("FederatedTypeConfig %s exists but cannot be read: %w", name, err)
	}
	if !sameTarget(existing.Spec.TargetType, want.Spec.TargetType) {
		return fmt.Errorf("FederatedTypeConfig %s exists for another target type, %s, not %s",
			name, describeTarget(existing.Spec.TargetType), describeTarget(want.Spec.TargetType))
	}
	o.printf("FederatedTypeConfig %s already exists: %s is federated as %s",
		name, describeTarget(existing.Spec.TargetType), describeFederated(existing.Spec.FederatedType))
	return nil
}

// sameTarget compares what identifies a type; the version may differ.
func sameTarget(a, b corev1beta1.APIResource) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.PluralName == b.PluralName
}

func describeTarget(target corev1beta1.APIResource) string {
	return fmt.Sprintf("%s (%s)", target.Kind, target.GroupVersionResource().GroupVersion())
}

func describeFederated(federated corev1beta1.APIResource) string {
	return fmt.Sprintf("%s (%s)", federated.Kind, federated.GroupVersionResource().GroupResource())
}
