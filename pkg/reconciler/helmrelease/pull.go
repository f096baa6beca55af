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
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	agentclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/agent/v1alpha1"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
)

// releasesResource is the federated resource a release's Works name as their source.
const releasesResource = "federatedhelmreleases"

// StatusUninstalling is a cluster's status while its release is being
// removed because the release is no longer placed there.
const StatusUninstalling = "uninstalling"

// renderer is what the controller needs of helm.Engine for pull members: it
// renders, and the member's agent installs.
type renderer interface {
	Render(ctx context.Context, chart *helm.Chart, releaseName, namespace string, values map[string]any, caps *helm.Capabilities) ([]helm.RenderedObject, error)
}

// workStore reads and writes the Works of pull members in the federation namespace.
type workStore interface {
	get(name string) (*agentv1alpha1.Work, error)
	list() ([]*agentv1alpha1.Work, error)
	create(ctx context.Context, work *agentv1alpha1.Work) error
	update(ctx context.Context, work *agentv1alpha1.Work) error
	delete(ctx context.Context, name string) error
}

type works struct {
	lister agentlisters.WorkNamespaceLister
	client agentclient.WorkInterface
}

func (w works) get(name string) (*agentv1alpha1.Work, error) {
	work, err := w.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return work, err
}

func (w works) list() ([]*agentv1alpha1.Work, error) { return w.lister.List(labels.Everything()) }

func (w works) create(ctx context.Context, work *agentv1alpha1.Work) error {
	_, err := w.client.Create(ctx, work, metav1.CreateOptions{})
	return err
}

func (w works) update(ctx context.Context, work *agentv1alpha1.Work) error {
	_, err := w.client.Update(ctx, work, metav1.UpdateOptions{})
	return err
}

func (w works) delete(ctx context.Context, name string) error {
	err := w.client.Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// DeliverToAgents has the controller hand releases placed on pull members
// to their agents as Works in namespace, each rendered and checked here
// first: hostMapper (the host's discovery) names the resource and scope of
// every rendered kind for the author check, and the Work carries the kinds
// that passed, the only ones the agent lets the release create. Call it
// before Run; without it pull members wait.
func (c *Controller) DeliverToAgents(informer agentinformers.WorkInformer, client agentclient.WorksGetter, namespace string,
	hostMapper meta.RESTMapper) error {
	c.works = works{lister: informer.Lister().Works(namespace), client: client.Works(namespace)}
	c.hostMapper = hostMapper
	c.synced = append(c.synced, informer.Informer().HasSynced)
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			before, ok1 := old.(*agentv1alpha1.Work)
			work, ok2 := obj.(*agentv1alpha1.Work)
			// An agent's report, or a deletion: fedhub's own spec writes bring nothing new.
			if ok1 && ok2 && (!equality.Semantic.DeepEqual(before.Status, work.Status) || !before.DeletionTimestamp.Equal(work.DeletionTimestamp)) {
				c.enqueueSource(work)
			}
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if work, ok := obj.(*agentv1alpha1.Work); ok {
				c.enqueueSource(work)
			}
		},
	})
	return err
}

// enqueueSource queues the release a Work was made for.
func (c *Controller) enqueueSource(work *agentv1alpha1.Work) {
	if isReleaseWork(work) {
		c.queue.Add(work.Spec.Source.Namespace + "/" + work.Spec.Source.Name)
	}
}

func isReleaseWork(work *agentv1alpha1.Work) bool {
	s := work.Spec.Source
	return s.Resource == releasesResource && s.APIVersion == appsv1alpha1.SchemeGroupVersion.String()
}

func workName(release *appsv1alpha1.FederatedHelmRelease, cluster string) string {
	return propagation.WorkName(cluster, releasesResource, release.Namespace, release.Name)
}

// applyToPull renders and checks the release for a pull cluster and hands
// what passed to the cluster's agent, then reports what the agent reported.
func (c *Controller) applyToPull(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, cluster *corev1beta1.KubeFedCluster,
	chart *helm.Chart, author user.Info, previous appsv1alpha1.HelmReleaseClusterStatus) (appsv1alpha1.HelmReleaseClusterStatus, error) {
	values, err := clusterValues(release, cluster.Name)
	if err != nil {
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	}
	objects, err := c.renderer.Render(ctx, chart, releaseName(release), release.Namespace, values, pullCapabilities(cluster))
	if err != nil {
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	}
	if err := helm.CheckNamespaces(objects, release.Namespace); err != nil {
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	}
	if author != nil {
		if err := checkObjects(ctx, c.authz, author, release.Namespace, c.hostMapper, releaseObjects(objects)); err != nil {
			return appsv1alpha1.HelmReleaseClusterStatus{}, err
		}
	}
	allowed, err := allowedKinds(objects, c.hostMapper)
	if err != nil {
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	}
	desired, err := releaseWork(release, cluster.Name, chart, values, allowed)
	if err != nil {
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	}
	waiting := func(message string) appsv1alpha1.HelmReleaseClusterStatus {
		s := previous
		s.Name, s.Status, s.Message = cluster.Name, StatusWaiting, message
		return s
	}
	current, err := c.works.get(desired.Name)
	switch {
	case err != nil:
		return appsv1alpha1.HelmReleaseClusterStatus{}, err
	case current == nil:
		if err := c.works.create(ctx, desired); err != nil {
			return appsv1alpha1.HelmReleaseClusterStatus{}, fmt.Errorf("publishing the Work: %w", err)
		}
		return waiting("waiting for the cluster's agent"), nil
	case current.DeletionTimestamp != nil:
		// Withdrawn a moment ago and placed again: the agent uninstalls first.
		return waiting("the cluster's agent is removing the previous release"), nil
	case !propagation.SameWorkSpec(current.Spec, desired.Spec):
		updated := current.DeepCopy()
		updated.Spec = desired.Spec
		if err := c.works.update(ctx, updated); err != nil {
			return appsv1alpha1.HelmReleaseClusterStatus{}, fmt.Errorf("updating the Work: %w", err)
		}
		return waiting("waiting for the cluster's agent"), nil
	}
	return reportedStatus(release.Generation, cluster.Name, current, previous), nil
}

// pullCapabilities are what fedhub knows of a pull member to render for:
// the version its agent reports, against which a chart's kubeVersion
// constraint is checked, and Helm's default APIs. The agent renders again
// with the member's own APIs and refuses whatever kind that adds.
func pullCapabilities(cluster *corev1beta1.KubeFedCluster) *helm.Capabilities {
	if cluster.Status.KubernetesVersion == "" {
		return nil
	}
	return &helm.Capabilities{KubeVersion: cluster.Status.KubernetesVersion}
}

// reportedStatus is a pull cluster's status from its agent's report on the
// Work: waiting until the agent has reported on the Work's generation.
func reportedStatus(generation int64, cluster string, work *agentv1alpha1.Work, previous appsv1alpha1.HelmReleaseClusterStatus) appsv1alpha1.HelmReleaseClusterStatus {
	report := work.Status.HelmRelease
	current := work.Status.ObservedGeneration == work.Generation
	switch {
	case current && work.Status.Result != "":
		// The agent could not handle the Work at all (it panicked, say).
		s := previous
		s.Name, s.Status, s.Message, s.ObservedGeneration = cluster, StatusFailed, work.Status.Result+": "+work.Status.Message, generation
		return s
	case !current || report == nil || report.ObservedGeneration != work.Generation:
		s := previous
		s.Name, s.Status, s.Message = cluster, StatusWaiting, "waiting for the cluster's agent"
		return s
	}
	return appsv1alpha1.HelmReleaseClusterStatus{Name: cluster, Revision: report.Revision, Status: report.Status,
		ChartVersion: report.ChartVersion, AppVersion: report.AppVersion, Message: report.Message, ObservedGeneration: generation}
}

// allowedKinds are the kinds of objects with their scope on the host, each once, sorted.
func allowedKinds(objects []helm.RenderedObject, mapper meta.RESTMapper) ([]agentv1alpha1.WorkAllowedKind, error) {
	seen := map[agentv1alpha1.WorkAllowedKind]bool{}
	var out []agentv1alpha1.WorkAllowedKind
	for _, o := range releaseObjects(objects) {
		mapping, err := mapper.RESTMapping(o.GVK.GroupKind(), o.GVK.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: the host does not serve this kind", o)
		}
		kind := agentv1alpha1.WorkAllowedKind{Group: o.GVK.Group, Kind: o.GVK.Kind, Namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
		if !seen[kind] {
			seen[kind] = true
			out = append(out, kind)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Kind < out[j].Kind
	})
	return out, nil
}

// releaseWork is the Work that hands the release to cluster's agent: the
// chart at the version resolved here, the cluster's values and the kinds
// that passed the author check.
func releaseWork(release *appsv1alpha1.FederatedHelmRelease, cluster string, chart *helm.Chart, values map[string]any,
	allowed []agentv1alpha1.WorkAllowedKind) (*agentv1alpha1.Work, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	return &agentv1alpha1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: workName(release, cluster), Finalizers: []string{agentidentity.WorkFinalizer}},
		Spec: agentv1alpha1.WorkSpec{
			ClusterName: cluster,
			Source: agentv1alpha1.WorkSource{APIVersion: appsv1alpha1.SchemeGroupVersion.String(), Kind: "FederatedHelmRelease",
				Resource: releasesResource, Namespace: release.Namespace, Name: release.Name, UID: release.UID},
			HelmRelease: &agentv1alpha1.WorkHelmRelease{
				Chart:       agentv1alpha1.WorkChart{Repository: chart.Source.Repository, Name: chart.Source.Name, Version: chart.Source.Version},
				ReleaseName: releaseName(release), Namespace: release.Namespace,
				Values: &runtime.RawExtension{Raw: raw}, Allowed: allowed,
			},
		},
	}, nil
}

// releaseWorks are the Works of release, in every cluster.
func (c *Controller) releaseWorks(release *appsv1alpha1.FederatedHelmRelease) ([]*agentv1alpha1.Work, error) {
	all, err := c.works.list()
	if err != nil {
		return nil, err
	}
	var out []*agentv1alpha1.Work
	for _, w := range all {
		if isReleaseWork(w) && w.Spec.Source.Namespace == release.Namespace && w.Spec.Source.Name == release.Name {
			out = append(out, w)
		}
	}
	return out, nil
}

// withdraw deletes a release's Work, orphan set first as asked: the agent
// then uninstalls (or keeps) the release and lets the Work go. It says
// whether the Work is gone.
func (c *Controller) withdraw(ctx context.Context, work *agentv1alpha1.Work, orphan bool) (bool, error) {
	if work == nil {
		return true, nil
	}
	if work.DeletionTimestamp == nil {
		if work.Spec.Orphan != orphan {
			updated := work.DeepCopy()
			updated.Spec.Orphan = orphan
			if err := c.works.update(ctx, updated); err != nil {
				return false, err
			}
		}
		if err := c.works.delete(ctx, work.Name); err != nil {
			return false, err
		}
	}
	return false, nil
}

// removeFromPull withdraws the release's Work from a cluster it is no longer
// placed on; keep is false once the Work is gone.
func (c *Controller) removeFromPull(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, cluster *corev1beta1.KubeFedCluster,
	previous appsv1alpha1.HelmReleaseClusterStatus) (appsv1alpha1.HelmReleaseClusterStatus, bool) {
	s := previous
	s.Status = StatusUninstalling
	work, err := c.works.get(workName(release, cluster.Name))
	if err == nil {
		var gone bool
		if gone, err = c.withdraw(ctx, work, false); gone {
			return appsv1alpha1.HelmReleaseClusterStatus{}, false
		}
	}
	switch {
	case err != nil:
		s.Message = err.Error()
	case !cluster.IsReady():
		s.Message = "the cluster's agent is not connected; it uninstalls the release when it is back"
	case work.Status.Message != "":
		s.Message = "waiting for the cluster's agent: " + work.Status.Message
	default:
		s.Message = "waiting for the cluster's agent"
	}
	return s, true
}

// withdrawAll deletes every Work of a deleted release (orphan set first as
// asked) and returns the clusters whose Works remain: waiting lists those
// whose agents are connected, unreachable the others.
func (c *Controller) withdrawAll(ctx context.Context, release *appsv1alpha1.FederatedHelmRelease, orphan bool) (waiting, unreachable []string, err error) {
	if c.works == nil {
		return nil, nil, nil
	}
	all, err := c.releaseWorks(release)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, w := range all {
		if _, err := c.withdraw(ctx, w, orphan); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.Spec.ClusterName, err))
			continue
		}
		cluster, err := c.clusters.KubeFedClusters(w.Namespace).Get(w.Spec.ClusterName)
		if err == nil && cluster.IsReady() {
			waiting = append(waiting, w.Spec.ClusterName)
		} else {
			unreachable = append(unreachable, w.Spec.ClusterName)
		}
	}
	sort.Strings(waiting)
	sort.Strings(unreachable)
	return waiting, unreachable, errors.Join(errs...)
}

var _ workStore = works{}
