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

// Package propagation fans federated objects out to member clusters and reports how that went.
package propagation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// resyncPeriod re-reconciles every federated object now and then, so that a
// member that was missed (e.g. while its informer restarted) is caught up.
const resyncPeriod = 5 * time.Minute

// TypeController propagates the objects of one federated type.
type TypeController struct {
	typeConfig *corev1beta1.FederatedTypeConfig
	target     schema.GroupVersionResource
	targetKind schema.GroupVersionKind
	federated  schema.GroupVersionResource
	namespaced bool

	fedhub    dynamic.Interface
	fedLister cache.GenericLister
	fedSynced cache.InformerSynced
	clusters  *ClusterSet
	// pull delivers to pull members; nil when fedhub has no Work storage.
	pull       *pullDeliverer
	namespaces NamespacePlacement
	settings   Settings
	recorder   record.EventRecorder
	queue      workqueue.TypedRateLimitingInterface[string]

	mu      sync.Mutex
	members map[string]*memberInformer
	// records is what fedhub remembers of each federated object, by key:
	// the member versions it wrote (to tell drift and the echo of its own
	// writes) and the version of its last status write. An entry goes when
	// its object is seen gone, a member entry when its cluster is removed.
	records map[string]*objectRecord
	// knownClusters are the members when the cluster set last changed.
	knownClusters map[string]bool
	// waiting are the federated objects whose reconcile waits for a member
	// cache to fill; they are queued again when one has.
	waiting map[string]bool
	// deletionOnly is set for a type whose propagation is disabled: the
	// controller only carries out the deletion of objects being deleted,
	// reading the members directly since no member informers run.
	deletionOnly bool
	// onChange, when set, hears of every federated object that changed, by namespace.
	onChange func(namespace string)
	// deps connects workloads and the objects they name (dependencies.go);
	// nil for a controller that does not propagate.
	deps *dependencyHub
}

// NamespacePlacement returns the FederatedNamespace of a namespace; federated
// is false when namespaces are not federated at all (no requirement then).
type NamespacePlacement func(namespace string) (federatedNamespace *unstructured.Unstructured, federated bool, err error)

// Settings are the KubeFedConfig's choices that propagation follows.
type Settings func() (adoptResources bool)

// memberSyncGrace is how long a reconcile waits for a new member cache to
// fill before it reports the cluster's objects as not retrievable.
var memberSyncGrace = 30 * time.Second

// errMemberSyncing says that a member's cache is still filling: what it holds
// says nothing yet about what the member holds.
var errMemberSyncing = errors.New("the member's cache is still filling")

// memberInformer caches the managed objects of the type in one member.
type memberInformer struct {
	started     time.Time
	fingerprint string
	client      dynamic.Interface
	// store holds compactMembers (a dynamic lister would assert
	// *unstructured.Unstructured), keyed namespace/name.
	store  cache.Store
	synced cache.InformerSynced
	cancel context.CancelFunc
}

// NewTypeController wires a controller for typeConfig; Run starts it.
func NewTypeController(typeConfig *corev1beta1.FederatedTypeConfig, fedhub dynamic.Interface, clusters *ClusterSet,
	namespaces NamespacePlacement, settings Settings, recorder record.EventRecorder) *TypeController {
	target, federated := typeConfig.Spec.TargetType, typeConfig.Spec.FederatedType
	c := &TypeController{
		typeConfig: typeConfig,
		target:     target.GroupVersionResource(),
		targetKind: target.GroupVersionKind(),
		federated:  federated.GroupVersionResource(),
		namespaced: target.Scope == corev1beta1.NamespaceScoped,
		fedhub:     fedhub,
		clusters:   clusters,
		namespaces: namespaces,
		settings:   settings,
		recorder:   recorder,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "propagation-" + federated.PluralName}),
		members: map[string]*memberInformer{},
	}
	if clusters.works != nil {
		collect := typeConfig.Spec.StatusCollection
		c.pull = &pullDeliverer{works: clusters.works, federated: c.federated, target: c.target, namespaced: c.namespaced, adopt: settings,
			reportStatus: isWorkload(c.targetKind) || (collect != nil && *collect == corev1beta1.StatusCollectionEnabled)}
	}
	return c
}

// Run follows the federated objects and the members until ctx ends.
// A panic here, outside the workers, is the Manager's to recover.
func (c *TypeController) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx).WithValues("controller", "propagation", "type", c.federated.Resource)
	ctx = klog.NewContext(ctx, logger)
	if err := reconciler.WaitUntilServed(ctx, c.fedhub, c.federated); err != nil {
		return
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(c.fedhub, c.federated, "", resyncPeriod, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil)
	_ = informer.Informer().SetTransform(reconciler.StripManagedFields)
	c.mu.Lock()
	c.fedLister, c.fedSynced = informer.Lister(), informer.Informer().HasSynced
	c.mu.Unlock()
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, obj any) {
			// The echo of a status fedhub just wrote changes nothing to do;
			// a resync (the same version again) does ask for a reconcile.
			o, oldOK := old.(*unstructured.Unstructured)
			n, newOK := obj.(*unstructured.Unstructured)
			if oldOK && newOK && o.GetResourceVersion() != n.GetResourceVersion() && c.ownStatus(n) {
				return
			}
			c.enqueue(obj)
		},
		DeleteFunc: c.enqueue,
	}); err != nil {
		logger.Error(err, "Watching federated objects")
		return
	}
	go informer.Informer().RunWithContext(ctx)
	if c.pull != nil {
		registration, err := c.clusters.works.informer.AddEventHandler(c.workHandler())
		if err != nil {
			logger.Error(err, "Watching Works")
			return
		}
		defer func() { _ = c.clusters.works.informer.RemoveEventHandler(registration) }()
	}
	defer c.clusters.OnChange(func() { c.syncMembers(ctx); c.EnqueueAll() })()
	logger.Info("Starting controller")
	defer logger.Info("Stopped controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.fedSynced, c.clusters.HasSynced) {
		return
	}
	c.syncMembers(ctx)
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.processNext, ReportPanic: c.reportPanic}, workers)
	c.mu.Lock()
	for name, m := range c.members {
		m.cancel()
		delete(c.members, name)
	}
	c.mu.Unlock()
}

func (c *TypeController) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
	if c.onChange != nil {
		namespace, _, _ := cache.SplitMetaNamespaceKey(key)
		c.onChange(namespace)
	}
}

// lister is the federated objects' lister, nil until Run has set it up.
func (c *TypeController) lister() cache.GenericLister {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fedLister
}

// hasSynced reports whether the controller knows every federated object of its type.
func (c *TypeController) hasSynced() bool {
	c.mu.Lock()
	synced := c.fedSynced
	c.mu.Unlock()
	return synced != nil && synced()
}

// EnqueueAll queues every federated object of the type.
func (c *TypeController) EnqueueAll() {
	lister := c.lister()
	if lister == nil {
		return
	}
	objects, _ := lister.List(everything)
	for _, obj := range objects {
		c.enqueue(obj)
	}
}

// EnqueueNamespace queues the federated objects in a namespace, whose
// placement depends on its FederatedNamespace.
func (c *TypeController) EnqueueNamespace(namespace string) {
	lister := c.lister()
	if lister == nil || !c.namespaced {
		return
	}
	objects, _ := lister.ByNamespace(namespace).List(everything)
	for _, obj := range objects {
		c.enqueue(obj)
	}
}

// memberKey maps a member object to the key of its federated object: the
// same namespace and name, except a Namespace, federated by the
// FederatedNamespace of the same name inside it.
func (c *TypeController) memberKey(obj any) (string, bool) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	u, ok := obj.(metav1.Object)
	if !ok {
		return "", false
	}
	if isNamespaceKind(c.targetKind) {
		return u.GetName() + "/" + u.GetName(), true
	}
	if u.GetNamespace() == "" {
		return u.GetName(), true
	}
	return u.GetNamespace() + "/" + u.GetName(), true
}

// syncMembers runs an informer on the managed objects of the type in every
// member with a usable client, stops those of members gone or changed, and
// forgets what it remembered of members removed.
func (c *TypeController) syncMembers(ctx context.Context) {
	clusters := c.clusters.Clusters()
	existing := make(map[string]bool, len(clusters))
	for _, cluster := range clusters {
		existing[cluster.Name] = true
	}
	c.forgetClusters(existing)
	if c.deletionOnly {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for _, cluster := range clusters {
		if cluster.Client == nil {
			continue
		}
		seen[cluster.Name] = true
		if m, ok := c.members[cluster.Name]; ok && m.fingerprint == cluster.Fingerprint {
			continue
		} else if ok {
			m.cancel()
		}
		c.members[cluster.Name] = c.startMemberInformer(ctx, cluster)
	}
	for name, m := range c.members {
		if !seen[name] {
			m.cancel()
			delete(c.members, name)
		}
	}
}

func (c *TypeController) startMemberInformer(ctx context.Context, cluster Cluster) *memberInformer {
	ctx, cancel := context.WithCancel(ctx)
	informer := dynamicinformer.NewFilteredDynamicInformer(cluster.Client, c.target, "", 0, cache.Indexers{},
		func(options *metav1.ListOptions) { options.LabelSelector = ManagedLabel + "=true" })
	_ = informer.Informer().SetTransform(compactMemberObject)
	handler := func(obj any) {
		if key, ok := c.memberKey(obj); ok {
			c.queue.Add(key)
		}
	}
	// A create or update fedhub just made comes back as an event: only a
	// version fedhub did not write needs a reconcile.
	changed := func(obj any) {
		if m, ok := obj.(metav1.Object); ok && c.ownWrite(cluster.Name, m) {
			return
		}
		handler(obj)
	}
	_, _ = informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: handler,
	})
	go informer.Informer().RunWithContext(ctx)
	go func() {
		// Reconciles that found the cache filling wait for it; past the
		// grace they run again and report what they cannot know.
		waitCtx, stop := context.WithTimeout(ctx, memberSyncGrace)
		synced := cache.WaitForCacheSync(waitCtx.Done(), informer.Informer().HasSynced)
		stop()
		if ctx.Err() != nil {
			return
		}
		c.enqueueWaiting()
		// A cache that fills only later (a member admin, or fedhubctl
		// enable, granted list and watch; the member came back) makes every
		// object that reported CachedRetrievalFailed try again now rather
		// than at the end of its backoff, which may be minutes away.
		if !synced && cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
			c.EnqueueAll()
		}
	}()
	return &memberInformer{started: time.Now(), fingerprint: cluster.Fingerprint, client: cluster.Client, store: informer.Informer().GetStore(),
		synced: informer.Informer().HasSynced, cancel: cancel}
}

// wait notes that the reconcile of key waits for a member cache. A cache
// that filled (or ran out of grace) since the reconcile looked has already
// queued the waiting objects: then key is queued at once.
func (c *TypeController) wait(key string) {
	c.mu.Lock()
	if c.waiting == nil {
		c.waiting = map[string]bool{}
	}
	c.waiting[key] = true
	filling := false
	for _, m := range c.members {
		filling = filling || !m.synced() && time.Since(m.started) < memberSyncGrace
	}
	c.mu.Unlock()
	if !filling {
		c.enqueueWaiting()
	}
}

// enqueueWaiting queues the objects waiting for a member cache.
func (c *TypeController) enqueueWaiting() {
	c.mu.Lock()
	waiting := c.waiting
	c.waiting = nil
	c.mu.Unlock()
	for key := range waiting {
		c.queue.Add(key)
	}
}

// member returns the informer of a cluster, if it runs and has synced.
func (c *TypeController) member(name string) (*memberInformer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[name]
	if !ok {
		return nil, fmt.Errorf("no client for cluster %s", name)
	}
	if !m.synced() {
		if time.Since(m.started) < memberSyncGrace {
			return nil, errMemberSyncing
		}
		return nil, fmt.Errorf("the cache of cluster %s has not synced in %s", name, memberSyncGrace)
	}
	return m, nil
}

func (c *TypeController) processNext(ctx context.Context, key string) {
	started := time.Now()
	requeue, err := c.reconcile(ctx, key)
	observeReconcile(c.federated.Resource, started, err)
	switch {
	case errors.Is(err, errMemberSyncing):
		// Queued again once the member's cache has filled.
		c.queue.Forget(key)
		c.wait(key)
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Reconcile failed; retrying with backoff", "key", key, "err", err.Error())
		c.queue.AddRateLimited(key)
	case requeue > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeue)
	default:
		c.queue.Forget(key)
	}
}
