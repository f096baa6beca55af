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
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
)

// fedhubGroups are the groups fedhub serves itself. Federating their objects
// would copy the federation's control plane into its own members.
var fedhubGroups = map[string]bool{
	corev1beta1.GroupName:        true,
	typesv1beta1.GroupName:       true,
	schedulingv1alpha1.GroupName: true,
	appsv1alpha1.GroupName:       true,
}

// clusterTypes resolves type arguments against one cluster's discovery,
// fetched once and cached for the command's lifetime.
type clusterTypes struct {
	// name says which cluster answered, for messages: the host, or cluster "member-1".
	name      string
	discovery discovery.CachedDiscoveryInterfaceWithContext
	mapper    meta.RESTMapperWithContext
}

func (o *GlobalOptions) newClusterTypes(name string, client discovery.DiscoveryInterface) *clusterTypes {
	cached := memory.NewMemCacheClientWithContext(discovery.ToDiscoveryInterfaceWithContext(client))
	warn := func(warning string) { fmt.Fprintln(o.ErrOut, "Warning:", warning) }
	return &clusterTypes{
		name:      name,
		discovery: cached,
		mapper:    restmapper.NewShortcutExpanderWithContext(restmapper.NewDeferredDiscoveryRESTMapperWithContext(cached), cached, warn),
	}
}

// mapping resolves arg as kubectl resolves a resource argument: first as a
// resource (plural, singular or short name, optionally followed by .group or
// .version.group), then as a kind. A NoMatch error means the cluster does not
// serve the type.
func (c *clusterTypes) mapping(ctx context.Context, arg string) (*meta.RESTMapping, error) {
	fullySpecified, groupResource := schema.ParseResourceArg(arg)
	var gvk schema.GroupVersionKind
	if fullySpecified != nil {
		// Errors are ignored: the argument may as well be a kind; the last lookup reports.
		gvk, _ = c.mapper.KindForWithContext(ctx, *fullySpecified)
	}
	if gvk.Empty() {
		gvk, _ = c.mapper.KindForWithContext(ctx, groupResource.WithVersion(""))
	}
	if !gvk.Empty() {
		return c.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	}
	fullySpecifiedKind, groupKind := schema.ParseKindArg(arg)
	if fullySpecifiedKind != nil {
		if mapping, err := c.mapper.RESTMappingWithContext(ctx, fullySpecifiedKind.GroupKind(), fullySpecifiedKind.Version); err == nil {
			return mapping, nil
		}
	}
	return c.mapper.RESTMappingWithContext(ctx, groupKind)
}

// resource returns discovery's description of a mapped resource, with its verbs.
func (c *clusterTypes) resource(ctx context.Context, mapping *meta.RESTMapping) (*metav1.APIResource, error) {
	gv := mapping.Resource.GroupVersion()
	list, err := c.discovery.ServerResourcesForGroupVersionWithContext(ctx, gv.String())
	if err != nil {
		return nil, fmt.Errorf("discovery of %s on %s: %w", gv, c.name, err)
	}
	for i := range list.APIResources {
		if list.APIResources[i].Name == mapping.Resource.Resource {
			return &list.APIResources[i], nil
		}
	}
	return nil, fmt.Errorf("%s no longer lists %s", c.name, mapping.Resource.GroupResource())
}

// servedType is a type a cluster serves, as that cluster's discovery describes it.
type servedType struct {
	mapping  *meta.RESTMapping
	resource *metav1.APIResource
	servedBy string
}

// resolveHostType resolves a type argument against the host's discovery.
func (o *GlobalOptions) resolveHostType(ctx context.Context, host *HostClients, arg string) (*meta.RESTMapping, error) {
	if err := checkNotSubresource(arg); err != nil {
		return nil, err
	}
	mapping, err := o.newClusterTypes("the host", host.Discovery).mapping(ctx, arg)
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("the host doesn't serve a resource type %q", arg)
	}
	return mapping, err
}

// resolveServedType resolves a type argument against the host and, when the
// host does not serve the type, against each member in turn: a type may be
// federated that only members serve, such as a CRD installed in members alone.
func (o *GlobalOptions) resolveServedType(ctx context.Context, host *HostClients, arg string) (*servedType, error) {
	if err := checkNotSubresource(arg); err != nil {
		return nil, err
	}
	served, err := resolveIn(ctx, o.newClusterTypes("the host", host.Discovery), arg)
	if err == nil || !meta.IsNoMatchError(err) {
		return served, err
	}
	clusters, err := host.Fedhub.CoreV1beta1().KubeFedClusters(o.FederationNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("the host doesn't serve a resource type %q, and listing the member clusters failed: %w", arg, err)
	}
	var unanswered []error
	for i := range clusters.Items {
		served, err := o.resolveInMember(ctx, host, &clusters.Items[i], arg)
		if err == nil {
			return served, nil
		}
		if !meta.IsNoMatchError(err) {
			unanswered = append(unanswered, err)
		}
	}
	notServed := fmt.Errorf("neither the host nor its %d member cluster(s) serve a resource type %q", len(clusters.Items), arg)
	if len(unanswered) > 0 {
		return nil, fmt.Errorf("%w; these could not be asked: %w", notServed, errors.Join(unanswered...))
	}
	return nil, notServed
}

func (o *GlobalOptions) resolveInMember(ctx context.Context, host *HostClients, cluster *corev1beta1.KubeFedCluster, arg string) (*servedType, error) {
	config, err := member.ConfigFromHost(ctx, host.Kube, cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", cluster.Name, err)
	}
	client, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", cluster.Name, err)
	}
	served, err := resolveIn(ctx, o.newClusterTypes(fmt.Sprintf("cluster %q", cluster.Name), client), arg)
	if err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("cluster %q: %w", cluster.Name, err)
	}
	return served, err
}

func resolveIn(ctx context.Context, types *clusterTypes, arg string) (*servedType, error) {
	mapping, err := types.mapping(ctx, arg)
	if err != nil {
		return nil, err
	}
	resource, err := types.resource(ctx, mapping)
	if err != nil {
		return nil, err
	}
	return &servedType{mapping: mapping, resource: resource, servedBy: types.name}, nil
}

func checkNotSubresource(arg string) error {
	if strings.Contains(arg, "/") {
		return fmt.Errorf("%q is a subresource; only whole types can be federated", arg)
	}
	return nil
}

// federableVerbs are what the sync controller does to member objects.
var federableVerbs = []string{"create", "get", "list", "update", "delete"}

// checkFederable refuses types whose objects could not be kept in step in
// members: fedhub's own and those whose API lacks the verbs propagation uses.
func checkFederable(gvr schema.GroupVersionResource, verbs []string) error {
	if fedhubGroups[gvr.Group] {
		return fmt.Errorf("%s belongs to fedhub's own API (group %s) and cannot be federated", gvr.GroupResource(), gvr.Group)
	}
	var missing []string
	for _, verb := range federableVerbs {
		if !slices.Contains(verbs, verb) {
			missing = append(missing, verb)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s cannot be federated: its API does not support %s", gvr.GroupResource(), strings.Join(missing, ", "))
	}
	return nil
}

// targetResource describes a mapped type as a FederatedTypeConfig's target.
func targetResource(mapping *meta.RESTMapping) corev1beta1.APIResource {
	scope := corev1beta1.ClusterScoped
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		scope = corev1beta1.NamespaceScoped
	}
	return corev1beta1.APIResource{
		Group:      mapping.GroupVersionKind.Group,
		Version:    mapping.GroupVersionKind.Version,
		Kind:       mapping.GroupVersionKind.Kind,
		PluralName: mapping.Resource.Resource,
		Scope:      scope,
	}
}

// listTypeConfigs returns the FederatedTypeConfigs of the federation.
func (o *GlobalOptions) listTypeConfigs(ctx context.Context, host *HostClients) ([]corev1beta1.FederatedTypeConfig, error) {
	list, err := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(o.FederationNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing FederatedTypeConfigs in %s: %w", o.FederationNamespace, err)
	}
	return list.Items, nil
}

// findTypeConfig returns the FederatedTypeConfig that arg names: by its own
// name, by a name of its target type (plural, singular, kind, short name) or
// by a name of its federated type. Short names need discovery, which is asked
// only when the names the FederatedTypeConfigs carry do not match.
func (o *GlobalOptions) findTypeConfig(ctx context.Context, host *HostClients, arg string) (*corev1beta1.FederatedTypeConfig, error) {
	typeConfigs, err := o.listTypeConfigs(ctx, host)
	if err != nil {
		return nil, err
	}
	matches := matchTypeConfigs(arg, typeConfigs)
	if len(matches) == 1 {
		return matches[0], nil
	}
	if len(matches) > 1 {
		return nil, fmt.Errorf("%q names several federated types (%s); name one by its FederatedTypeConfig", arg, typeConfigNames(matches))
	}
	served, err := o.resolveServedType(ctx, host, arg)
	if err != nil {
		return nil, fmt.Errorf("no FederatedTypeConfig matches %q: %w", arg, err)
	}
	gk := served.mapping.GroupVersionKind.GroupKind()
	if typeConfig := typeConfigForKind(gk, typeConfigs); typeConfig != nil {
		return typeConfig, nil
	}
	return nil, fmt.Errorf("type %s is not enabled for federation: no FederatedTypeConfig in %s names it", gk, o.FederationNamespace)
}

// matchTypeConfigs returns the FederatedTypeConfigs arg names without help
// from discovery. A FederatedTypeConfig's own name wins; among several
// matches of an unqualified name, the core group's type wins, as in kubectl.
func matchTypeConfigs(arg string, typeConfigs []corev1beta1.FederatedTypeConfig) []*corev1beta1.FederatedTypeConfig {
	for i := range typeConfigs {
		if typeConfigs[i].Name == arg {
			return []*corev1beta1.FederatedTypeConfig{&typeConfigs[i]}
		}
	}
	var matches, core []*corev1beta1.FederatedTypeConfig
	for i := range typeConfigs {
		if namesTypeConfig(arg, &typeConfigs[i]) {
			matches = append(matches, &typeConfigs[i])
			if typeConfigs[i].Spec.TargetType.Group == "" {
				core = append(core, &typeConfigs[i])
			}
		}
	}
	if len(matches) > 1 && len(core) == 1 && !strings.Contains(arg, ".") {
		return core
	}
	return matches
}

// namesTypeConfig says whether arg is a resource or kind name of the target
// or federated type, alone or qualified by .group or .version.group.
func namesTypeConfig(arg string, typeConfig *corev1beta1.FederatedTypeConfig) bool {
	fullySpecified, groupResource := schema.ParseResourceArg(strings.ToLower(arg))
	candidates := []schema.GroupResource{groupResource}
	if fullySpecified != nil {
		candidates = append(candidates, fullySpecified.GroupResource())
	}
	for _, candidate := range candidates {
		if namesResource(candidate, typeConfig.Spec.TargetType) || namesResource(candidate, typeConfig.Spec.FederatedType) {
			return true
		}
	}
	return false
}

func namesResource(name schema.GroupResource, resource corev1beta1.APIResource) bool {
	if name.Group != "" && name.Group != resource.Group {
		return false
	}
	return name.Resource == strings.ToLower(resource.PluralName) || name.Resource == strings.ToLower(resource.Kind)
}

// typeConfigForKind returns the FederatedTypeConfig whose target or federated
// type is gk, or nil.
func typeConfigForKind(gk schema.GroupKind, typeConfigs []corev1beta1.FederatedTypeConfig) *corev1beta1.FederatedTypeConfig {
	for i := range typeConfigs {
		target, federated := typeConfigs[i].Spec.TargetType, typeConfigs[i].Spec.FederatedType
		if (target.Group == gk.Group && target.Kind == gk.Kind) || (federated.Group == gk.Group && federated.Kind == gk.Kind) {
			return &typeConfigs[i]
		}
	}
	return nil
}

func typeConfigNames(typeConfigs []*corev1beta1.FederatedTypeConfig) string {
	names := make([]string, 0, len(typeConfigs))
	for _, typeConfig := range typeConfigs {
		names = append(names, typeConfig.Name)
	}
	return strings.Join(names, ", ")
}
