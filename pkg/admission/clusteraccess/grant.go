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

package clusteraccess

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/scheduling"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/placement"
	"github.com/fedhub/fedhub/pkg/reconciler/dependencies"
)

// WantsClusterLister is a plugin that needs to know the KubeFedClusters.
type WantsClusterLister interface {
	SetClusterLister(lister corelisters.KubeFedClusterLister, synced cache.InformerSynced)
}

// ClusterListerInitializer hands the KubeFedClusters to the plugins that want them.
type ClusterListerInitializer struct {
	Lister corelisters.KubeFedClusterLister
	Synced cache.InformerSynced
}

var _ admission.PluginInitializer = ClusterListerInitializer{}

// Initialize gives plugin the lister when it wants one.
func (i ClusterListerInitializer) Initialize(plugin admission.Interface) {
	if wants, ok := plugin.(WantsClusterLister); ok {
		wants.SetClusterLister(i.Lister, i.Synced)
	}
}

// SetClusterLister receives the KubeFedClusters, to record a workload
// author's grant.
func (c *ClusterAccess) SetClusterLister(lister corelisters.KubeFedClusterLister, synced cache.InformerSynced) {
	c.clusters, c.clustersSynced = lister, synced
}

// clusterCacheWait bounds how long a write waits for the KubeFedClusters
// right after fedhub starts.
const clusterCacheWait = 10 * time.Second

// Admit records on a workload that a ReplicaSchedulingPreference may
// schedule which clusters its author may propagate to, so that a plan made
// later, with fedhub's identity and maybe from another user's preference,
// never reaches a cluster this author could not have targeted. It records
// the same on workloads whose dependencies may follow them and on those
// dependencies, so that a dependency follows a workload only where both
// authors may send objects. On a FederatedHelmRelease it records the same
// and the author's identity, against which the helm release controller
// checks every object the chart renders. fedhub's own writes (the plan
// itself, finalizers) keep what the last user's write recorded.
func (c *ClusterAccess) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	switch resource := a.GetResource(); {
	case resource.Group == typesv1beta1.SchemeGroupVersion.Group:
		if !slices.Contains(scheduling.TargetKinds, a.GetKind().Kind) && !dependencies.RecordsAuthorGrant(a.GetKind().Kind) {
			return nil
		}
		obj, ok := a.GetObject().(*unstructured.Unstructured)
		if !ok {
			return nil
		}
		var named []string
		if p, err := placement.Of(obj); err == nil {
			named, _ = p.Targets()
		}
		return c.recordAuthor(ctx, a, obj, named, typesv1beta1.AuthorClustersAnnotation)
	case resource.GroupResource() == appsv1alpha1.Resource(helmReleases):
		p, ok := helmReleasePlacement(a.GetObject())
		if !ok {
			return nil
		}
		obj, err := meta.Accessor(a.GetObject())
		if err != nil {
			return nil
		}
		named, _ := placementTargets(p)
		return c.recordAuthor(ctx, a, obj, named, typesv1beta1.AuthorClustersAnnotation, appsv1alpha1.AuthorAnnotation)
	}
	return nil
}

// helmReleases is the resource of FederatedHelmReleases.
const helmReleases = "federatedhelmreleases"

// recordAuthor writes the author annotations named by keys on obj: the
// clusters the user may propagate to (of the known ones and named, those
// the placement lists) and, when asked, the user. A user's own values are
// replaced; fedhub's own writes keep those stored.
func (c *ClusterAccess) recordAuthor(ctx context.Context, a admission.Attributes, obj metav1.Object, named []string, keys ...string) error {
	u := a.GetUserInfo()
	if u.GetName() == user.APIServerUser {
		var stored map[string]string
		if old := a.GetOldObject(); old != nil {
			if accessor, err := meta.Accessor(old); err == nil {
				stored = accessor.GetAnnotations()
			}
		}
		for _, key := range keys {
			var recorded *string
			if value, found := stored[key]; found {
				recorded = &value
			}
			setAnnotation(obj, key, recorded)
		}
		return nil
	}
	for _, key := range keys {
		var value string
		switch key {
		case typesv1beta1.AuthorClustersAnnotation:
			grant, err := c.grantOf(ctx, u, named)
			if err != nil {
				return apierrors.NewServiceUnavailable(fmt.Sprintf("reading which clusters user %q may propagate to: %v", u.GetName(), err))
			}
			value = grant
		case appsv1alpha1.AuthorAnnotation:
			value = appsv1alpha1.AuthorAnnotationValue(userInfo(u))
		}
		setAnnotation(obj, key, &value)
	}
	return nil
}

// userInfo is u as the authentication API writes it.
func userInfo(u user.Info) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	for key, values := range u.GetExtra() {
		if info.Extra == nil {
			info.Extra = map[string]authenticationv1.ExtraValue{}
		}
		info.Extra[key] = values
	}
	return info
}

// grantOf is the clusters u may propagate to, as AuthorClustersAnnotation
// writes them: "*", or the names among the known KubeFedClusters and named
// (those the object's placement lists, which may join later).
func (c *ClusterAccess) grantOf(ctx context.Context, u user.Info, named []string) (string, error) {
	all, err := c.mayPropagate(ctx, u, "")
	if err != nil || all {
		return "*", err
	}
	if c.clusters == nil {
		return "", fmt.Errorf("%s has no KubeFedCluster lister", PluginName)
	}
	if !c.clustersSynced() {
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, clusterCacheWait, true, func(context.Context) (bool, error) {
			return c.clustersSynced(), nil
		}); err != nil {
			return "", fmt.Errorf("the KubeFedClusters are not known yet: %w", err)
		}
	}
	known, err := c.clusters.KubeFedClusters(Namespace).List(labels.Everything())
	if err != nil {
		return "", err
	}
	candidates := slices.Clone(named)
	for _, cluster := range known {
		candidates = append(candidates, cluster.Name)
	}
	slices.Sort(candidates)
	var granted []string
	for _, name := range slices.Compact(candidates) {
		allowed, err := c.mayPropagate(ctx, u, name)
		if err != nil {
			return "", err
		}
		if allowed {
			granted = append(granted, name)
		}
	}
	return strings.Join(granted, ","), nil
}

// setAnnotation sets annotation key to value, or removes it when value is nil.
func setAnnotation(obj metav1.Object, key string, value *string) {
	annotations := obj.GetAnnotations()
	if value == nil {
		if _, found := annotations[key]; !found {
			return
		}
		delete(annotations, key)
	} else {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[key] = *value
	}
	obj.SetAnnotations(annotations)
}

// mayPropagate asks the host's authorizer whether u may propagate to the
// cluster named; "" asks about all of them.
func (c *ClusterAccess) mayPropagate(ctx context.Context, u user.Info, cluster string) (bool, error) {
	decision, _, err := c.authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: Verb, ResourceRequest: true, Namespace: Namespace,
		APIGroup: corev1beta1.SchemeGroupVersion.Group, APIVersion: corev1beta1.SchemeGroupVersion.Version,
		Resource: "kubefedclusters", Name: cluster,
	})
	return decision == authorizer.DecisionAllow, err
}
