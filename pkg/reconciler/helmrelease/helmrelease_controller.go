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

// Package helmrelease runs the controller that installs each
// FederatedHelmRelease as a Helm release in the member clusters it is placed
// on, upgrades it when the spec changes, uninstalls it where it is no longer
// placed or when the object is deleted, and reports every cluster's release.
package helmrelease

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	coreinformersv1 "k8s.io/client-go/informers/core/v1"
	corelistersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	appsclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/apps/v1alpha1"
	appsinformers "github.com/fedhub/fedhub/generated/informers/externalversions/apps/v1alpha1"
	coreinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	appslisters "github.com/fedhub/fedhub/generated/listers/apps/v1alpha1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ControllerName names the controller in logs, events and --controllers.
const ControllerName = "helm-release"

// resyncPeriod is how often every release is compared with the members
// again: a member's release changed or removed by hand is put back, and a
// failed one is retried with the same spec at this pace, not faster.
const resyncPeriod = 5 * time.Minute

// Controller reconciles FederatedHelmReleases, keyed namespace/name.
type Controller struct {
	releases appslisters.FederatedHelmReleaseLister
	client   appsclient.FederatedHelmReleasesGetter
	clusters corelisters.KubeFedClusterLister
	secrets  corelistersv1.SecretLister
	recorder record.EventRecorder
	queue    workqueue.TypedRateLimitingInterface[string]
	synced   []cache.InformerSynced

	charts    chartFetcher
	installer installer
	renderer  renderer
	// works hands releases to pull members' agents; nil (no host) leaves
	// pull members waiting. hostMapper names the host's resources for the
	// author check of what is handed over.
	works      workStore
	hostMapper meta.RESTMapper
	// authz answers whether a release's author may create each object its
	// chart renders; nil (a standalone fedhub, whose only users are
	// administrators) checks nothing.
	authz authorizer.Authorizer
	// now is the clock of status times, replaced in tests.
	now func() time.Time
}

// chartFetcher is what the controller needs of helm.Fetcher.
type chartFetcher interface {
	Fetch(ctx context.Context, source helm.ChartSource) (*helm.Chart, error)
}

// installer is what the controller needs of helm.Engine.
type installer interface {
	Apply(ctx context.Context, member *rest.Config, spec helm.ReleaseSpec) (helm.ReleaseInfo, error)
	Uninstall(ctx context.Context, member *rest.Config, namespace, releaseName string) error
}

// NewController wires the controller: releases in every namespace, the
// KubeFedClusters of the federation namespace and the Secrets holding their
// credentials. authz is nil on a standalone fedhub; fetch says how charts are fetched.
func NewController(releases appsinformers.FederatedHelmReleaseInformer, client appsclient.FederatedHelmReleasesGetter,
	clusters coreinformers.KubeFedClusterInformer, secrets coreinformersv1.SecretInformer, authz authorizer.Authorizer,
	recorder record.EventRecorder, fetch helm.FetcherOptions) (*Controller, error) {
	engine := helm.NewEngine(helm.EngineOptions{})
	c := &Controller{
		releases:  releases.Lister(),
		client:    client,
		clusters:  clusters.Lister(),
		secrets:   secrets.Lister(),
		recorder:  recorder,
		charts:    helm.NewFetcher(fetch),
		installer: engine,
		renderer:  engine,
		authz:     authz,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		synced: []cache.InformerSynced{releases.Informer().HasSynced, clusters.Informer().HasSynced, secrets.Informer().HasSynced},
		now:    time.Now,
	}
	if _, err := releases.Informer().AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	}, resyncPeriod); err != nil {
		return nil, err
	}
	// Labels decide selector placements, and readiness whether a member can be written.
	if _, err := clusters.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueAll() },
		UpdateFunc: func(any, any) { c.enqueueAll() },
		DeleteFunc: func(any) { c.enqueueAll() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run reconciles with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	logger.V(2).Info("Started")
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.process,
		ReportPanic: c.reportPanic}, workers)
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) enqueueAll() {
	releases, _ := c.releases.List(labels.Everything())
	for _, r := range releases {
		c.enqueue(r)
	}
}

// process reconciles key and settles it in the queue.
func (c *Controller) process(ctx context.Context, key string) {
	requeueAfter, err := c.reconcile(ctx, key)
	switch {
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Reconcile failed, retrying", "key", key, "err", err)
		c.queue.AddRateLimited(key)
	case requeueAfter > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeueAfter)
	default:
		c.queue.Forget(key)
	}
}
