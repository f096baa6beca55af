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

package work

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	agentclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/agent/v1alpha1"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

const (
	// ControllerName names the controller in logs and metrics.
	ControllerName = "fedhub-agent-works"
	// ResultReconcileError reports a reconcile that panicked.
	ResultReconcileError = reconciler.ReasonReconcileError

	byMember   = "member"
	byResource = "resource"
	// workResync brings every Work back now and then: a Work refused because
	// of an unmanaged member object (AlreadyExists, ManagedLabelFalse) is not
	// told when that object changes, since the member informers see only
	// managed objects.
	workResync = 5 * time.Minute
	// departedFor is how long a Work deleted without the agent's cleanup is
	// remembered for an unjoin's sweep.
	departedFor = 10 * time.Minute
)

// Controller applies the Works of one cluster to its member.
type Controller struct {
	cluster    string
	works      agentclient.WorkInterface
	informer   cache.SharedIndexInformer
	lister     agentlisters.WorkNamespaceLister
	queue      workqueue.TypedRateLimitingInterface[string]
	member     *DynamicMember
	reconciler *Reconciler
	// releases handles the Works that carry a Helm release.
	releases *HelmReconciler

	mu sync.Mutex
	// written holds the Works returned by the agent's own writes while the
	// cache still shows the version they replaced.
	written map[string]writtenWork
	// departed holds Works deleted without the agent's cleanup (as fedhub
	// does once the cluster is unjoined), for the unjoin's sweep.
	departed map[string]departedWork
}

type writtenWork struct {
	replaced string
	work     *agentv1alpha1.Work
}

type departedWork struct {
	at   time.Time
	work *agentv1alpha1.Work
}

// NewController returns the controller of cluster's Works in namespace; its
// informers run until ctx ends.
func NewController(ctx context.Context, cluster, namespace string, hub versioned.Interface, member dynamic.Interface) *Controller {
	c := &Controller{
		cluster: cluster,
		works:   hub.AgentV1alpha1().Works(namespace),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		written:  map[string]writtenWork{},
		departed: map[string]departedWork{},
	}
	c.informer = agentinformers.NewFilteredWorkInformer(hub, namespace, workResync,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, byMember: indexByMember, byResource: indexByResource},
		func(o *metav1.ListOptions) {
			// fedhub refuses an agent any other list or watch of Works.
			o.FieldSelector = fields.OneTermEqualSelector(agentv1alpha1.WorkClusterNameField, cluster).String()
		})
	c.lister = agentlisters.NewWorkLister(c.informer.GetIndexer()).Works(namespace)
	c.member = NewDynamicMember(ctx, member, c.memberChanged, c.memberSynced)
	c.reconciler = &Reconciler{Cluster: cluster, Member: c.member}
	c.releases = &HelmReconciler{}
	_, _ = c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueue(obj) },
		UpdateFunc: c.workUpdated,
		DeleteFunc: c.workDeleted,
	})
	return c
}

// ReportPods has the controller report, in the Works of Deployments and
// ReplicaSets short of ready replicas, what their pods say about the
// member's room, read with pods. Call it before Run.
func (c *Controller) ReportPods(pods Pods) {
	c.reconciler.Pods = pods
}

// InstallReleases has the controller install the Helm releases of Works
// with a helmRelease through releases; without it they are refused. Call it
// before Run.
func (c *Controller) InstallReleases(releases ReleaseInstaller) {
	c.releases.Releases = releases
}

// Run runs the informers and workers until ctx ends, and returns once every
// worker has finished.
func (c *Controller) Run(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx)
	go c.informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		c.queue.ShutDown()
		return
	}
	// Fill the member caches of every resource the Works name before the
	// first reconcile, so a restart reads them with one list per resource.
	works, _ := c.lister.List(labels.Everything())
	for _, w := range works {
		if _, ref, err := manifestOf(w); err == nil {
			c.member.Watch(ref.Resource)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, memberSyncGrace)
	c.member.WaitForCaches(waitCtx)
	cancel()
	logger.Info("Applying Works", "cluster", c.cluster, "works", len(works), "workers", workers)
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{
		Controller:  ControllerName,
		Queue:       c.queue,
		Process:     c.process,
		ReportPanic: c.reportPanic,
	}, workers)
}

// Works returns the cluster's Works the agent knows of, including those
// deleted lately without its cleanup.
func (c *Controller) Works() []*agentv1alpha1.Work {
	works, _ := c.lister.List(labels.Everything())
	seen := map[string]bool{}
	for _, w := range works {
		seen[w.Name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, d := range c.departed {
		if !seen[name] {
			works = append(works, d.work)
		}
	}
	return works
}

// Synced says whether the Work informer has filled.
func (c *Controller) Synced() bool {
	return c.informer.HasSynced()
}

func (c *Controller) process(ctx context.Context, name string) {
	logger := klog.FromContext(ctx).WithValues("work", name)
	ctx = klog.NewContext(ctx, logger)
	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		c.forgetWritten(name)
		c.queue.Forget(name)
		return
	}
	if err != nil {
		logger.Error(err, "Reading the Work from the cache")
		c.queue.AddRateLimited(name)
		return
	}
	w := c.fresher(cached)
	out := c.reconcile(ctx, w)
	if out.Action != ActionNone {
		logger.V(2).Info("Reconciled", "action", out.Action, "result", out.Status.Result, "message", out.Status.Message)
	} else {
		logger.V(4).Info("In sync")
	}
	switch {
	case out.Release:
		if err := c.release(ctx, w); err != nil {
			logger.Error(err, "Removing the Work's finalizer")
			c.queue.AddRateLimited(name)
			return
		}
	case !StatusEqual(w.Status, out.Status):
		if err := c.writeStatus(ctx, w, out.Status); err != nil {
			if apierrors.IsConflict(err) {
				logger.V(4).Info("The Work changed; again", "err", err)
			} else {
				logger.Error(err, "Writing the Work's status")
			}
			c.queue.AddRateLimited(name)
			return
		}
	}
	switch {
	case out.Retry:
		c.queue.AddRateLimited(name)
	case out.After > 0:
		c.queue.Forget(name)
		c.queue.AddAfter(name, out.After)
	default:
		c.queue.Forget(name)
	}
}

// reconcile hands w to the Helm handler when it carries a release, else to
// the manifest's.
func (c *Controller) reconcile(ctx context.Context, w *agentv1alpha1.Work) Outcome {
	if w.Spec.HelmRelease != nil {
		return c.releases.Reconcile(ctx, w)
	}
	return c.reconciler.Reconcile(ctx, w)
}

// release removes the agent's finalizer from w, changing nothing else: the
// only update of a Work fedhub allows an agent.
func (c *Controller) release(ctx context.Context, w *agentv1alpha1.Work) error {
	if !hasFinalizer(w) {
		return nil
	}
	updated := w.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool { return f == Finalizer })
	_, err := c.works.Update(ctx, updated, metav1.UpdateOptions{FieldManager: FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) writeStatus(ctx context.Context, w *agentv1alpha1.Work, status agentv1alpha1.WorkStatus) error {
	updated := w.DeepCopy()
	updated.Status = status
	stored, err := c.works.UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.written[w.Name] = writtenWork{replaced: w.ResourceVersion, work: stored}
	c.mu.Unlock()
	return nil
}

// reportPanic reports a reconcile that panicked on the Work.
func (c *Controller) reportPanic(ctx context.Context, name, message string) error {
	w, err := c.lister.Get(name)
	if err != nil {
		return nil
	}
	w = c.fresher(w)
	status := *w.Status.DeepCopy()
	status.Result = ResultReconcileError
	status.Message = "fedhub-agent failed to handle this Work: " + message
	if StatusEqual(w.Status, status) {
		return nil
	}
	return c.writeStatus(ctx, w, status)
}

// fresher returns the Work the agent's last status write returned while the
// cache still shows the version it replaced: drift counts must build on the
// agent's last report, not on the one before.
func (c *Controller) fresher(cached *agentv1alpha1.Work) *agentv1alpha1.Work {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.written[cached.Name]
	if !ok {
		return cached
	}
	if cached.ResourceVersion == w.replaced {
		return w.work
	}
	delete(c.written, cached.Name)
	return cached
}

func (c *Controller) forgetWritten(name string) {
	c.mu.Lock()
	delete(c.written, name)
	c.mu.Unlock()
}

func (c *Controller) enqueue(obj interface{}) {
	if w, ok := obj.(*agentv1alpha1.Work); ok {
		c.queue.Add(w.Name)
	}
}

// workUpdated queues a Work whose spec or deletion changed, and on resyncs;
// not for the agent's own status writes.
func (c *Controller) workUpdated(oldObj, newObj interface{}) {
	old, ok1 := oldObj.(*agentv1alpha1.Work)
	w, ok2 := newObj.(*agentv1alpha1.Work)
	if !ok1 || !ok2 {
		return
	}
	if old.ResourceVersion == w.ResourceVersion || old.Generation != w.Generation ||
		!old.DeletionTimestamp.Equal(w.DeletionTimestamp) || !slices.Equal(old.Finalizers, w.Finalizers) {
		c.queue.Add(w.Name)
	}
}

func (c *Controller) workDeleted(obj interface{}) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	w, ok := obj.(*agentv1alpha1.Work)
	if !ok {
		return
	}
	c.queue.Add(w.Name)
	if _, ref, err := manifestOf(w); err == nil {
		c.member.Forget(ref)
	}
	if w.DeletionTimestamp != nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, d := range c.departed {
		if now.Sub(d.at) > departedFor {
			delete(c.departed, name)
		}
	}
	c.departed[w.Name] = departedWork{at: now, work: w}
}

// memberChanged queues the Works of a member object that changed.
func (c *Controller) memberChanged(ref Ref) {
	c.enqueueIndexed(byMember, memberKey(ref))
}

// memberSynced queues the Works of a resource whose member cache filled.
func (c *Controller) memberSynced(resource schema.GroupVersionResource) {
	c.enqueueIndexed(byResource, resource.String())
}

func (c *Controller) enqueueIndexed(index, key string) {
	objs, err := c.informer.GetIndexer().ByIndex(index, key)
	if err != nil {
		return
	}
	for _, obj := range objs {
		c.enqueue(obj)
	}
}

func indexByMember(obj interface{}) ([]string, error) {
	w, ok := obj.(*agentv1alpha1.Work)
	if !ok {
		return nil, nil
	}
	if _, ref, err := manifestOf(w); err == nil {
		return []string{memberKey(ref)}, nil
	}
	return nil, nil
}

func indexByResource(obj interface{}) ([]string, error) {
	w, ok := obj.(*agentv1alpha1.Work)
	if !ok {
		return nil, nil
	}
	if _, ref, err := manifestOf(w); err == nil {
		return []string{ref.Resource.String()}, nil
	}
	return nil, nil
}

func memberKey(ref Ref) string {
	return fmt.Sprintf("%s|%s|%s", ref.Resource.String(), ref.Namespace, ref.Name)
}
