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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	schedulingclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/scheduling/v1alpha1"
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
	fedhub      dynamic.Interface
	workloads   map[string]cache.GenericLister // by target kind
	recorder    record.EventRecorder
	factory     dynamicinformer.DynamicSharedInformerFactory
	queue       workqueue.TypedRateLimitingInterface[string]
	synced      []cache.InformerSynced
}

// NewController wires the controller; clusters are the KubeFedClusters of
// namespace.
func NewController(namespace string, preferences schedulinginformers.ReplicaSchedulingPreferenceInformer,
	status schedulingclient.ReplicaSchedulingPreferencesGetter, clusters coreinformers.KubeFedClusterInformer,
	fedhub dynamic.Interface, recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		namespace:   namespace,
		preferences: preferences.Lister(),
		status:      status,
		clusters:    clusters.Lister(),
		fedhub:      fedhub,
		workloads:   map[string]cache.GenericLister{},
		recorder:    recorder,
		factory:     dynamicinformer.NewDynamicSharedInformerFactory(fedhub, 0),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		synced: []cache.InformerSynced{preferences.Informer().HasSynced, clusters.Informer().HasSynced},
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
	// A workload's creation, deletion and spec changes (its placement, a
	// user's overrides) reach the preference of the same name; its status,
	// rewritten all through a rollout, does not change the plan.
	for kind, resource := range targetKinds {
		informer := c.factory.ForResource(resource)
		c.workloads[kind] = informer.Lister()
		c.synced = append(c.synced, informer.Informer().HasSynced)
		if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: c.enqueue,
			UpdateFunc: func(old, obj any) {
				if generationOf(old) != generationOf(obj) {
					c.enqueue(obj)
				}
			},
			DeleteFunc: c.enqueue,
		}); err != nil {
			return nil, err
		}
	}
	return c, nil
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

func (c *Controller) enqueueAll() {
	preferences, _ := c.preferences.List(labels.Everything())
	for _, p := range preferences {
		c.enqueue(p)
	}
}

// Run plans with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	logger.V(2).Info("Started")
	reconciler.RunWorkers(ctx, c.queue, workers, c.processNext)
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	logger := klog.FromContext(ctx).WithValues("key", key)
	err := c.sync(klog.NewContext(ctx, logger), key)
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
	return true
}
