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

// Package scheduling runs the ReplicaSchedulingPreference controller: it
// plans how many replicas of a FederatedDeployment or FederatedReplicaSet each
// ready cluster runs, writes the plan into the workload's placement and
// /spec/replicas overrides, as KubeFed did, and reports it in the
// preference's status.
package scheduling

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	coreinformersv1 "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	schedulingclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/scheduling/v1alpha1"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	coreinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	schedulinginformers "github.com/fedhub/fedhub/generated/informers/externalversions/scheduling/v1alpha1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	schedulinglisters "github.com/fedhub/fedhub/generated/listers/scheduling/v1alpha1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ControllerName names the controller in logs, events and --controllers.
const ControllerName = "scheduling"

// targetKinds are the federated kinds a preference may schedule, with their resources.
var targetKinds = map[string]schema.GroupVersionResource{
	"FederatedDeployment": {Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"},
	"FederatedReplicaSet": {Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedreplicasets"},
}

// Controller reconciles ReplicaSchedulingPreferences, keyed namespace/name.
type Controller struct {
	namespace   string
	preferences schedulinglisters.ReplicaSchedulingPreferenceLister
	status      schedulingclient.ReplicaSchedulingPreferencesGetter
	clusters    corelisters.KubeFedClusterLister
	typeConfigs corelisters.FederatedTypeConfigLister
	fedhub      dynamic.Interface
	recorder    record.EventRecorder
	queue       workqueue.TypedRateLimitingInterface[string]
	synced      []cache.InformerSynced
	// typeConfigsChanged wakes the loop that follows which workload kinds are served.
	typeConfigsChanged chan struct{}

	mu sync.Mutex
	// workloads has an informer for each target kind that a
	// FederatedTypeConfig federates, and so that fedhub serves.
	workloads map[string]*workloadInformer

	// members reads the members for the capacity estimate; nil estimates
	// nothing and plans as if every cluster had room.
	members *Members
	// pull reads what pull members' agents report for the estimate; nil
	// estimates no pull member.
	pull   *pullReports
	tuning CapacityTuning
	// now is the clock of the estimates, replaced in tests.
	now func() time.Time
}

// workloadInformer caches the federated workloads of one kind.
type workloadInformer struct {
	lister cache.GenericLister
	synced cache.InformerSynced
	cancel context.CancelFunc
}

// NewController wires the controller; clusters and typeConfigs are those of
// namespace.
func NewController(namespace string, preferences schedulinginformers.ReplicaSchedulingPreferenceInformer,
	status schedulingclient.ReplicaSchedulingPreferencesGetter, clusters coreinformers.KubeFedClusterInformer,
	typeConfigs coreinformers.FederatedTypeConfigInformer, fedhub dynamic.Interface, recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		namespace:   namespace,
		preferences: preferences.Lister(),
		status:      status,
		clusters:    clusters.Lister(),
		typeConfigs: typeConfigs.Lister(),
		fedhub:      fedhub,
		recorder:    recorder,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		synced:             []cache.InformerSynced{preferences.Informer().HasSynced, clusters.Informer().HasSynced, typeConfigs.Informer().HasSynced},
		typeConfigsChanged: make(chan struct{}, 1),
		workloads:          map[string]*workloadInformer{},
		tuning:             DefaultCapacityTuning(),
		now:                time.Now,
	}
	if _, err := preferences.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	// Readiness and labels decide the candidate clusters of every preference.
	if _, err := clusters.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueAll() },
		UpdateFunc: func(any, any) { c.enqueueAll() },
		DeleteFunc: func(any) { c.enqueueAll() },
	}); err != nil {
		return nil, err
	}
	// A workload kind is served while a FederatedTypeConfig federates it.
	wake := func() {
		select {
		case c.typeConfigsChanged <- struct{}{}:
		default:
		}
	}
	if _, err := typeConfigs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { wake() },
		UpdateFunc: func(any, any) { wake() },
		DeleteFunc: func(any) { wake() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// EstimateCapacity has the controller estimate each push member's capacity
// for a workload from its pods that stay unschedulable, reading members with
// the credentials in secrets, and plan with it. Call it before Run.
func (c *Controller) EstimateCapacity(secrets coreinformersv1.SecretInformer, tuning CapacityTuning) {
	c.members, c.tuning = NewMembers(secrets.Lister()), tuning
	c.synced = append(c.synced, secrets.Informer().HasSynced)
}

// EstimatePullCapacity has the controller estimate each pull member's
// capacity too, from what its agent reports in the workload's Work and in
// the cluster's ClusterRegistration (both in the controller's namespace),
// with the tuning EstimateCapacity set. Call it before Run.
func (c *Controller) EstimatePullCapacity(works agentinformers.WorkInformer, registrations agentinformers.ClusterRegistrationInformer) error {
	c.pull = &pullReports{
		works:         works.Lister().Works(c.namespace),
		registrations: registrations.Lister().ClusterRegistrations(c.namespace),
	}
	c.synced = append(c.synced, works.Informer().HasSynced, registrations.Informer().HasSynced)
	if _, err := works.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: c.workReportChanged}); err != nil {
		return err
	}
	_, err := registrations.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: c.roomReportChanged})
	return err
}

// workReportChanged plans again the preference of a Work's workload when
// the agent's report on its pods changed; the agent rewrites a Work's
// status for many other reasons, which do not matter here.
func (c *Controller) workReportChanged(old, obj any) {
	before, okBefore := old.(*agentv1alpha1.Work)
	after, okAfter := obj.(*agentv1alpha1.Work)
	if !okBefore || !okAfter || equality.Semantic.DeepEqual(before.Status.Unschedulable, after.Status.Unschedulable) {
		return
	}
	if _, target := targetKinds[after.Spec.Source.Kind]; target && after.Spec.Source.Namespace != "" {
		c.queue.Add(after.Spec.Source.Namespace + "/" + after.Spec.Source.Name)
	}
}

// roomReportChanged plans again the preferences with an estimate for a
// pull cluster whose agent reports that its nodes gained room.
func (c *Controller) roomReportChanged(old, obj any) {
	before, okBefore := old.(*agentv1alpha1.ClusterRegistration)
	after, okAfter := obj.(*agentv1alpha1.ClusterRegistration)
	if okBefore && okAfter && !equality.Semantic.DeepEqual(before.Status.RoomGrewTime, after.Status.RoomGrewTime) {
		c.enqueueEstimated(after.Name)
	}
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func generationOf(obj any) int64 {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetGeneration()
	}
	return 0
}

// sameAuthorClusters tells whether two versions of a workload record the
// same author grant: a new author changes the candidates without changing
// the spec or its generation.
func sameAuthorClusters(old, obj any) bool {
	a, aOK := old.(metav1.Object)
	b, bOK := obj.(metav1.Object)
	if !aOK || !bOK {
		return false
	}
	before, hadBefore := a.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
	after, hasAfter := b.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
	return before == after && hadBefore == hasAfter
}

func (c *Controller) enqueueAll() {
	preferences, _ := c.preferences.List(labels.Everything())
	for _, p := range preferences {
		c.enqueue(p)
	}
}

// enqueueEstimated plans again the preferences with an estimate for cluster,
// whose nodes gained room.
func (c *Controller) enqueueEstimated(cluster string) {
	preferences, _ := c.preferences.List(labels.Everything())
	for _, p := range preferences {
		if findEstimate(p.Status.EstimatedCapacity, cluster) != nil {
			c.enqueue(p)
		}
	}
}

// requeueAt plans key again at a time an estimate may change: a pending
// pod crossing the threshold, or an estimate expiring.
func (c *Controller) requeueAt(key string, at time.Time) {
	if at.IsZero() {
		return
	}
	// A moment late, so that what is due has happened by then.
	c.queue.AddAfter(key, at.Sub(c.now())+time.Second)
}

// readinessOf is what of a workload's status the capacity estimate follows:
// its Ready condition and its ready replicas. Pods that cannot be scheduled
// keep it from becoming ready; replicas that moved make it ready.
func readinessOf(obj any) string {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return ""
	}
	ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
	return fmt.Sprintf("%t/%d", workloadReady(u), ready)
}

// Run plans with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	// Before any preference is planned, so that none is told its kind is
	// not served while its FederatedTypeConfig is merely not looked at yet.
	c.syncWorkloadKinds(ctx)
	go c.followWorkloadKinds(ctx)
	if c.members != nil {
		c.members.start(ctx, c.enqueueEstimated)
	}
	logger.V(2).Info("Started")
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.processNext, ReportPanic: c.reportPanic}, workers)
}

// followWorkloadKinds runs an informer for each target kind while a
// FederatedTypeConfig federates it. A kind without one is not served, and
// waiting for its informer would stop every preference from being planned.
func (c *Controller) followWorkloadKinds(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for kind, w := range c.workloads {
				w.cancel()
				delete(c.workloads, kind)
			}
			c.mu.Unlock()
			return
		case <-c.typeConfigsChanged:
			c.syncWorkloadKinds(ctx)
		}
	}
}

// syncWorkloadKinds starts and stops the workload informers to match the
// FederatedTypeConfigs; the preferences of a kind that came or went are
// planned again.
func (c *Controller) syncWorkloadKinds(ctx context.Context) {
	typeConfigs, err := c.typeConfigs.FederatedTypeConfigs(c.namespace).List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	served := map[schema.GroupVersionResource]bool{}
	for _, tc := range typeConfigs {
		served[tc.Spec.FederatedType.GroupVersionResource()] = true
	}
	changed := false
	c.mu.Lock()
	for kind, resource := range targetKinds {
		w, running := c.workloads[kind]
		switch {
		case served[resource] && !running:
			c.workloads[kind] = c.startWorkloadInformer(ctx, resource)
			changed = true
		case !served[resource] && running:
			w.cancel()
			delete(c.workloads, kind)
			changed = true
		}
	}
	c.mu.Unlock()
	if changed {
		c.enqueueAll()
	}
}

// startWorkloadInformer follows the workloads of one kind once fedhub serves
// it (a moment after its FederatedTypeConfig appears), and plans every
// preference again once the cache holds them all.
func (c *Controller) startWorkloadInformer(ctx context.Context, resource schema.GroupVersionResource) *workloadInformer {
	ctx, cancel := context.WithCancel(ctx)
	informer := dynamicinformer.NewFilteredDynamicInformer(c.fedhub, resource, "", 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, nil)
	_ = informer.Informer().SetTransform(reconciler.StripManagedFields)
	// A workload's creation, deletion and spec changes (its placement, a
	// user's overrides) reach the preference of the same name; of its
	// status, rewritten all through a rollout, only its readiness matters,
	// to the capacity estimate.
	_, _ = informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, obj any) {
			if generationOf(old) != generationOf(obj) || !sameAuthorClusters(old, obj) ||
				((c.members != nil || c.pull != nil) && readinessOf(old) != readinessOf(obj)) {
				c.enqueue(obj)
			}
		},
		DeleteFunc: c.enqueue,
	})
	go func() {
		if err := reconciler.WaitUntilServed(ctx, c.fedhub, resource); err != nil {
			return
		}
		go informer.Informer().RunWithContext(ctx)
		if cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
			c.enqueueAll()
		}
	}()
	return &workloadInformer{lister: informer.Lister(), synced: informer.Informer().HasSynced, cancel: cancel}
}

// workloadLister is the cache of a target kind's workloads; served is
// false when no FederatedTypeConfig federates the kind, and synced is false
// while the cache is still filling.
func (c *Controller) workloadLister(kind string) (lister cache.GenericLister, served, synced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.workloads[kind]
	if !ok {
		return nil, false, false
	}
	return w.lister, true, w.synced()
}

func (c *Controller) processNext(ctx context.Context, key string) {
	logger := klog.FromContext(ctx).WithValues("key", key)
	ctx = klog.NewContext(ctx, logger)
	err := c.sync(ctx, key)
	if err == nil {
		err = c.clearReconcileError(ctx, key)
	}
	switch {
	case err == nil:
		c.queue.Forget(key)
	case apierrors.IsConflict(err):
		logger.V(4).Info("Conflict; planning again", "err", err)
		c.queue.AddRateLimited(key)
	default:
		logger.Error(err, "Scheduling replicas failed; retrying")
		c.queue.AddRateLimited(key)
	}
}
