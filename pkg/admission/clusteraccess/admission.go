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

// Package clusteraccess is the admission plugin that decides which member
// clusters a user may send objects to: placing a federated object on a
// cluster needs the verb "propagate" on that KubeFedCluster, granted by the
// host's RBAC like any other verb.
package clusteraccess

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"

	"github.com/fedhub/fedhub/apis/apps"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/scheduling"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/placement"
	"github.com/fedhub/fedhub/pkg/scheduling/planner"
)

const (
	// PluginName is the name in --enable-admission-plugins and --disable-admission-plugins.
	PluginName = "FederatedClusterAccess"
	// Verb is what RBAC grants on kubefedclusters for a user to target them.
	Verb = "propagate"
	// Namespace holds the KubeFedClusters the verb is checked on.
	Namespace = corev1beta1.DefaultFederationNamespace
)

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return &ClusterAccess{Handler: admission.NewHandler(admission.Create, admission.Update)}, nil
	})
}

// ClusterAccess refuses a federated object, a ReplicaSchedulingPreference or
// a FederatedHelmRelease that targets a cluster its author may not propagate to.
type ClusterAccess struct {
	*admission.Handler
	authorizer     authorizer.Authorizer
	clusters       corelisters.KubeFedClusterLister
	clustersSynced cache.InformerSynced
}

var (
	_ admission.ValidationInterface = &ClusterAccess{}
	_ admission.MutationInterface   = &ClusterAccess{}
	_ initializer.WantsAuthorizer   = &ClusterAccess{}
	_ WantsClusterLister            = &ClusterAccess{}
)

// SetAuthorizer receives the server's authorizer: with a host, the host's
// SubjectAccessReviews.
func (c *ClusterAccess) SetAuthorizer(a authorizer.Authorizer) { c.authorizer = a }

// ValidateInitialization fails start-up when no authorizer was given.
func (c *ClusterAccess) ValidateInitialization() error {
	if c.authorizer == nil {
		return fmt.Errorf("%s needs an authorizer", PluginName)
	}
	if c.clusters == nil || c.clustersSynced == nil {
		return fmt.Errorf("%s needs the KubeFedClusters", PluginName)
	}
	return nil
}

// Validate checks every targeted cluster on create and update. An update is
// checked even when the placement did not change: it changes what the
// clusters receive.
func (c *ClusterAccess) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	names, all, err := targets(a)
	if err != nil || (len(names) == 0 && !all) {
		return nil // a malformed spec is refused by validation, with field paths
	}
	user := a.GetUserInfo()
	check := func(cluster string) (bool, error) { return c.mayPropagate(ctx, user, cluster) }
	if all {
		allowed, err := check("")
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("checking access to the member clusters: %w", err))
		}
		if !allowed {
			return admission.NewForbidden(a, fmt.Errorf("user %q may not propagate to every cluster, which a clusterSelector "+
				"or \"*\" may choose: that needs verb %q on all kubefedclusters.core.kubefed.io in %s; name the clusters instead",
				user.GetName(), Verb, Namespace))
		}
		return nil
	}
	var denied []string
	for _, cluster := range names {
		allowed, err := check(cluster)
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("checking access to cluster %s: %w", cluster, err))
		}
		if !allowed {
			denied = append(denied, cluster)
		}
	}
	if len(denied) > 0 {
		return admission.NewForbidden(a, fmt.Errorf("user %q may not propagate to cluster(s) %s: that needs verb %q on "+
			"kubefedclusters.core.kubefed.io with those names in %s", user.GetName(), strings.Join(denied, ", "), Verb, Namespace))
	}
	return nil
}

// targets are the clusters a request's object may reach: a federated
// object's or a FederatedHelmRelease's placement, or every cluster a
// ReplicaSchedulingPreference's plan may use. With intersectWithClusterSelector the plan stays within the
// clusters the preference names, so those are still checked: the workload's
// selector only narrows them.
func targets(a admission.Attributes) (names []string, all bool, err error) {
	switch a.GetResource().Group {
	case typesv1beta1.SchemeGroupVersion.Group:
		obj, ok := a.GetObject().(*unstructured.Unstructured)
		if !ok {
			return nil, false, nil
		}
		p, err := placement.Of(obj)
		if err != nil {
			return nil, false, err
		}
		names, all = p.Targets()
		return names, all, nil
	case schedulingv1alpha1.SchemeGroupVersion.Group:
		clusters, ok := preferenceClusters(a.GetObject())
		if !ok {
			return nil, false, nil
		}
		// A preference that names no cluster weighs every cluster, as "*" does.
		if len(clusters) == 0 || slices.Contains(clusters, planner.Wildcard) {
			return nil, true, nil
		}
		slices.Sort(clusters)
		return clusters, false, nil
	case appsv1alpha1.SchemeGroupVersion.Group:
		p, ok := helmReleasePlacement(a.GetObject())
		if !ok {
			return nil, false, nil
		}
		names, all = placementTargets(p)
		return names, all, nil
	}
	return nil, false, nil
}

// helmReleasePlacement is a FederatedHelmRelease's placement, from the
// internal type admission is handed or the versioned one.
func helmReleasePlacement(obj runtime.Object) (typesv1beta1.Placement, bool) {
	switch release := obj.(type) {
	case *apps.FederatedHelmRelease:
		return release.Spec.Placement, true
	case *appsv1alpha1.FederatedHelmRelease:
		return release.Spec.Placement, true
	}
	return typesv1beta1.Placement{}, false
}

// placementTargets are the clusters a typed placement may ever select, as
// placement.Placement.Targets reads them from a federated object: the names
// listed, or every cluster for a selector. Unlike a federated object's, an
// empty list is no list: the typed field is stored without it, and the
// selector sent beside it would then decide.
func placementTargets(p typesv1beta1.Placement) (names []string, all bool) {
	if len(p.Clusters) > 0 {
		for _, c := range p.Clusters {
			names = append(names, c.Name)
		}
		return names, false
	}
	return nil, p.ClusterSelector != nil
}

// preferenceClusters are the keys of a preference's clusters. Admission is
// handed the internal type; the versioned one is read too, for callers that
// decode it themselves.
func preferenceClusters(obj runtime.Object) ([]string, bool) {
	switch rsp := obj.(type) {
	case *scheduling.ReplicaSchedulingPreference:
		return slices.Collect(maps.Keys(rsp.Spec.Clusters)), true
	case *schedulingv1alpha1.ReplicaSchedulingPreference:
		return slices.Collect(maps.Keys(rsp.Spec.Clusters)), true
	}
	return nil, false
}
