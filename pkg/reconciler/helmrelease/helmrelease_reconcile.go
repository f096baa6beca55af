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

package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/member"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

const (
	// ConditionReady is True when the release is deployed, at the current
	// generation, in every cluster it is placed on.
	ConditionReady = "Ready"

	// StatusFailed is a cluster's status when its release could not be
	// applied and the member holds no revision that says so itself (the
	// chart could not be fetched or rendered, or an object was refused).
	StatusFailed = "failed"
	// StatusWaiting is a cluster's status while fedhub cannot act there
	// (the cluster is not ready), or while a pull member's agent has not
	// reported on the current Work.
	StatusWaiting = "waiting"

	// unreadyDeletionTimeout is how long unready clusters hold a deleted
	// release, as for federated objects: past it the object is released and
	// an event names the clusters where the release may remain.
	unreadyDeletionTimeout = time.Minute
	// memberTimeout bounds one cluster's install, upgrade or uninstall as
	// seen by a worker; Helm's own timeouts bound its operations.
	memberTimeout = 6 * time.Minute
	// pullDeletionPoll is how soon a deleted release whose Works connected
	// agents are still withdrawing is looked at again.
	pullDeletionPoll = 10 * time.Second
)

// reconcile brings the members in line with the release at key and reports
// how they stand; it returns when to look again without a change.
func (c *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	release, err := c.releases.FederatedHelmReleases(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if release.DeletionTimestamp != nil {
		return c.ensureDeletion(ctx, release)
	}
	clusters, err := c.clusters.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
	placed, err := placedClusters(release, clusters)
	if err != nil {
		// Validation refuses a malformed placement; only an object stored
		// before that check could have one.
		return 0, c.writeStatus(ctx, release, release.Status.Clusters, metav1.Condition{Type: ConditionReady,
			Status: metav1.ConditionFalse, Reason: "InvalidPlacement", Message: err.Error()})
	}

	var chart *helm.Chart
	var fetchErr error
	if len(placed) > 0 {
		chart, fetchErr = c.charts.Fetch(ctx, helm.ChartSource{Repository: release.Spec.Chart.Repository,
			Name: release.Spec.Chart.Name, Version: release.Spec.Chart.Version})
	}
	author, authorErr := c.author(release)

	previous := map[string]appsv1alpha1.HelmReleaseClusterStatus{}
	for _, s := range release.Status.Clusters {
		previous[s.Name] = s
	}
	var (
		mu      sync.Mutex
		results = map[string]appsv1alpha1.HelmReleaseClusterStatus{}
		group   reconciler.Group
	)
	record := func(s appsv1alpha1.HelmReleaseClusterStatus) {
		mu.Lock()
		defer mu.Unlock()
		results[s.Name] = s
	}
	// Every member at once: a slow one delays only itself.
	for _, cluster := range clusters {
		_, isPlaced := placed[cluster.Name]
		_, wasThere := previous[cluster.Name]
		switch {
		case isPlaced:
			group.Go(func() {
				record(c.applyTo(ctx, release, cluster, chart, fetchErr, author, authorErr, previous[cluster.Name]))
			})
		case wasThere:
			group.Go(func() {
				if s, keep := c.removeFrom(ctx, release, cluster, previous[cluster.Name]); keep {
					record(s)
				}
			})
		}
	}
	group.Wait()

	statuses := make([]appsv1alpha1.HelmReleaseClusterStatus, 0, len(results))
	for _, s := range results {
		statuses = append(statuses, c.stamped(s, previous[s.Name]))
	}
	sort.Slice(statuses, func(i, j int) bool { return statuses[i].Name < statuses[j].Name })
	return 0, c.writeStatus(ctx, release, statuses, readyCondition(release.Generation, placed, statuses))
}

// placedClusters are the clusters the release's placement selects, as for a
// federated object: the named ones, or those the selector matches.
func placedClusters(release *appsv1alpha1.FederatedHelmRelease, clusters []*corev1beta1.KubeFedCluster) (map[string]bool, error) {
	placed := map[string]bool{}
	p := release.Spec.Placement
	if p.Clusters != nil {
		for _, c := range p.Clusters {
			placed[c.Name] = true
		}
		for name := range placed {
			if !slices.ContainsFunc(clusters, func(c *corev1beta1.KubeFedCluster) bool { return c.Name == name }) {
				delete(placed, name) // not joined (yet): nothing to do there
			}
		}
		return placed, nil
	}
	if p.ClusterSelector == nil {
		return placed, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(p.ClusterSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.placement.clusterSelector: %w", err)
	}
	for _, c := range clusters {
		if selector.Matches(labels.Set(c.Labels)) {
			placed[c.Name] = true
		}
	}
	return placed, nil
}

// author is the user whose rights the release's objects are checked
// against; nil with no authorizer (nothing is checked).
func (c *Controller) author(release *appsv1alpha1.FederatedHelmRelease) (user.Info, error) {
	if c.authz == nil {
		return nil, nil
	}
	info, ok := appsv1alpha1.AuthorFromAnnotations(release.Annotations)
	if !ok {
		return nil, errors.New("the release records no author whose rights its objects could be checked against; " +
			"write it again (e.g. kubectl apply) to record you")
	}
	return userFrom(info), nil
}

func userFrom(info authenticationv1.UserInfo) user.Info {
	extra := map[string][]string{}
	for k, v := range info.Extra {
		extra[k] = v
	}
	return &user.DefaultInfo{Name: info.Username, UID: info.UID, Groups: info.Groups, Extra: extra}
}

// applyTo installs or upgrades the release in one placed cluster and says how it stands there.
func (c *Controller) applyTo(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, cluster *corev1beta1.KubeFedCluster,
	chart *helm.Chart, fetchErr error, author user.Info, authorErr error, previous appsv1alpha1.HelmReleaseClusterStatus) appsv1alpha1.HelmReleaseClusterStatus {
	waiting := func(message string) appsv1alpha1.HelmReleaseClusterStatus {
		s := previous
		s.Name, s.Message = cluster.Name, message
		if s.Status == "" {
			s.Status = StatusWaiting
		}
		return s
	}
	failed := func(err error) appsv1alpha1.HelmReleaseClusterStatus {
		s := previous
		s.Name, s.Status, s.Message, s.ObservedGeneration = cluster.Name, StatusFailed, err.Error(), release.Generation
		return s
	}
	switch {
	case cluster.IsPull() && c.works == nil:
		return waiting("fedhub hands releases to pull members' agents only when it runs with a host")
	case !cluster.IsReady():
		return waiting("the cluster is not ready; the release is applied once it is")
	case fetchErr != nil:
		return failed(fmt.Errorf("fetching chart %s: %w", release.Spec.Chart.Name, fetchErr))
	case authorErr != nil:
		return failed(authorErr)
	case cluster.IsPull():
		s, err := c.applyToPull(ctx, release, cluster, chart, author, previous)
		if err != nil {
			return failed(err)
		}
		return s
	}
	values, err := clusterValues(release, cluster.Name)
	if err != nil {
		return failed(err)
	}
	config, err := c.memberConfig(cluster)
	if err != nil {
		return failed(err)
	}
	spec := helm.ReleaseSpec{Chart: chart, ReleaseName: releaseName(release), Namespace: release.Namespace, Values: values}
	if author != nil {
		spec.Authorize = func(objects []helm.RenderedObject, mapper meta.RESTMapper) error {
			return checkObjects(ctx, c.authz, author, release.Namespace, mapper, releaseObjects(objects))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	info, err := c.installer.Apply(ctx, config, spec)
	s := appsv1alpha1.HelmReleaseClusterStatus{Name: cluster.Name, Revision: int32(info.Revision), Status: info.Status,
		ChartVersion: info.ChartVersion, AppVersion: info.AppVersion, ObservedGeneration: release.Generation}
	if err != nil {
		s.Message = err.Error()
		if s.Status == "" || s.Status == helm.StatusDeployed {
			// Nothing was applied: the member's last revision (if any) stands, but not for this spec.
			s.Status = StatusFailed
		}
	}
	return s
}

// removeFrom uninstalls the release from a cluster it is no longer placed
// on; keep is false once it is gone there (or cannot be reached because the
// cluster left the federation).
func (c *Controller) removeFrom(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, cluster *corev1beta1.KubeFedCluster,
	previous appsv1alpha1.HelmReleaseClusterStatus) (appsv1alpha1.HelmReleaseClusterStatus, bool) {
	if cluster.IsPull() && c.works != nil {
		return c.removeFromPull(ctx, release, cluster, previous)
	}
	if err := c.uninstall(ctx, release, cluster); err != nil {
		s := previous
		s.Status, s.Message = StatusUninstalling, err.Error()
		return s, true
	}
	return appsv1alpha1.HelmReleaseClusterStatus{}, false
}

// errClusterUnavailable is returned for a cluster fedhub cannot write to now.
var errClusterUnavailable = errors.New("the cluster is not ready")

func (c *Controller) uninstall(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, cluster *corev1beta1.KubeFedCluster) error {
	if cluster.IsPull() {
		return nil // its agent uninstalls, once the Work is withdrawn
	}
	if !cluster.IsReady() {
		return errClusterUnavailable
	}
	config, err := c.memberConfig(cluster)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	return c.installer.Uninstall(ctx, config, release.Namespace, releaseName(release))
}

// ensureDeletion uninstalls a deleted release everywhere (unless orphaned)
// and then releases the object.
func (c *Controller) ensureDeletion(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease) (time.Duration, error) {
	if !slices.Contains(release.Finalizers, appsv1alpha1.HelmReleaseCleanupFinalizer) {
		return 0, nil
	}
	orphan := release.Annotations[typesv1beta1.OrphanAnnotation] == "true" ||
		slices.Contains(release.Finalizers, metav1.FinalizerOrphanDependents)
	var (
		mu                  sync.Mutex
		failed, unreachable []string
	)
	if !orphan {
		clusters, err := c.clusters.List(labels.Everything())
		if err != nil {
			return 0, err
		}
		var group reconciler.Group
		// Every push cluster, not only those in status: a release installed
		// just before a status write was lost is removed too (absent is success).
		for _, cluster := range clusters {
			group.Go(func() {
				err := c.uninstall(ctx, release, cluster)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, errClusterUnavailable):
					unreachable = append(unreachable, cluster.Name)
				case err != nil:
					failed = append(failed, cluster.Name+": "+err.Error())
				}
			})
		}
		group.Wait()
	}
	// Pull members' agents uninstall (or keep, orphaned) when their Works go.
	withdrawing, agentsAway, err := c.withdrawAll(ctx, release, orphan)
	if err != nil {
		failed = append(failed, err.Error())
	}
	unreachable = append(unreachable, agentsAway...)
	sort.Strings(failed)
	sort.Strings(unreachable)
	if len(failed) > 0 {
		return 0, fmt.Errorf("uninstalling: %s", strings.Join(failed, "; "))
	}
	if len(withdrawing) > 0 {
		// The Works' deletion brings the release back; the poll is a safety net.
		return pullDeletionPoll, nil
	}
	if len(unreachable) > 0 {
		left := unreadyDeletionTimeout - c.now().Sub(release.DeletionTimestamp.Time)
		if left > 0 {
			return left, nil
		}
		c.recorder.Eventf(release, corev1.EventTypeWarning, "DeletionIncomplete",
			"Released after waiting %s for unready clusters; release %s may remain in: %s",
			unreadyDeletionTimeout, releaseName(release), strings.Join(unreachable, ", "))
	}
	updated := release.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool {
		// The orphan finalizer asks for what was just done; no garbage collector runs here to remove it.
		return f == appsv1alpha1.HelmReleaseCleanupFinalizer || f == metav1.FinalizerOrphanDependents
	})
	_, err = c.client.FederatedHelmReleases(release.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return 0, nil // gone, or changed: the change brings it back
	}
	return 0, err
}

// memberConfig is the push member's client configuration, from its Secret on the host.
func (c *Controller) memberConfig(cluster *corev1beta1.KubeFedCluster) (*rest.Config, error) {
	secret, err := c.secrets.Secrets(cluster.Namespace).Get(cluster.Spec.SecretRef.Name)
	if err != nil {
		return nil, fmt.Errorf("the cluster's credentials: %w", err)
	}
	config, err := member.Config(cluster, secret)
	if err != nil {
		return nil, err
	}
	config.UserAgent = "fedhub-" + ControllerName
	return config, nil
}

func releaseName(release *appsv1alpha1.FederatedHelmRelease) string {
	if release.Spec.ReleaseName != "" {
		return release.Spec.ReleaseName
	}
	return release.Name
}

func releaseObjects(objects []helm.RenderedObject) []ReleaseObject {
	out := make([]ReleaseObject, 0, len(objects))
	for _, o := range objects {
		out = append(out, ReleaseObject{GVK: schema.FromAPIVersionAndKind(o.APIVersion, o.Kind), Namespace: o.Namespace, Name: o.Name})
	}
	return out
}

// stamped sets LastTransitionTime when a cluster's status or revision changed.
func (c *Controller) stamped(s, previous appsv1alpha1.HelmReleaseClusterStatus) appsv1alpha1.HelmReleaseClusterStatus {
	if previous.Name != "" && previous.Status == s.Status && previous.Revision == s.Revision && previous.LastTransitionTime != nil {
		s.LastTransitionTime = previous.LastTransitionTime
		return s
	}
	now := metav1.NewTime(c.now().Truncate(time.Second))
	s.LastTransitionTime = &now
	return s
}

// readyCondition is True when every placed cluster runs this generation's release.
func readyCondition(generation int64, placed map[string]bool, statuses []appsv1alpha1.HelmReleaseClusterStatus) metav1.Condition {
	var notReady []string
	for _, s := range statuses {
		if placed[s.Name] && (s.Status != helm.StatusDeployed || s.ObservedGeneration != generation) {
			message := s.Name + ": " + s.Status
			if s.Message != "" {
				message += " (" + s.Message + ")"
			}
			notReady = append(notReady, message)
		}
	}
	switch {
	case len(placed) == 0:
		return metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: "NotPlaced", Message: "the release is placed on no cluster"}
	case len(notReady) == 0:
		return metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: "Deployed",
			Message: fmt.Sprintf("deployed in %d cluster(s)", len(placed))}
	}
	return metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: "NotDeployed", Message: strings.Join(notReady, "; ")}
}

// writeStatus writes the clusters' statuses and the Ready condition when they changed.
func (c *Controller) writeStatus(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease,
	clusters []appsv1alpha1.HelmReleaseClusterStatus, ready metav1.Condition) error {
	updated := release.DeepCopy()
	updated.Status.Clusters = clusters
	updated.Status.ObservedGeneration = release.Generation
	ready.ObservedGeneration = release.Generation
	meta.SetStatusCondition(&updated.Status.Conditions, ready)
	if equality.Semantic.DeepEqual(updated.Status, release.Status) {
		return nil
	}
	_, err := c.client.FederatedHelmReleases(release.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // the newer object is reconciled in turn
	}
	return err
}

// reportPanic records on the release that reconciling it panicked.
func (c *Controller) reportPanic(ctx context.Context, key, message string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	release, err := c.releases.FederatedHelmReleases(namespace).Get(name)
	if err != nil {
		return err
	}
	c.recorder.Event(release, corev1.EventTypeWarning, reconciler.ReasonReconcileError, message)
	return c.writeStatus(ctx, release, release.Status.Clusters, metav1.Condition{Type: ConditionReady,
		Status: metav1.ConditionFalse, Reason: reconciler.ReasonReconcileError, Message: message})
}
