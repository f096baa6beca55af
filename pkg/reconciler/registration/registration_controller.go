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

// Package registration runs the controller that turns pull-mode agents'
// ClusterRegistrations into KubeFedClusters (docs/pull.md): an approved
// registration has a KubeFedCluster of mode Pull; a cluster without an
// approved registration loses it, and its agent's host ServiceAccount; the
// Works of a cluster that has neither registration nor KubeFedCluster are
// deleted, since no agent will ever remove their finalizers.
package registration

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelistersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	coreinformersv1beta1 "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ControllerName names the controller in logs, events and --controllers.
const ControllerName = "registration"

// worksByCluster indexes Works by spec.clusterName.
const worksByCluster = "registration.spec.clusterName"

// Controller reconciles one cluster name at a time: its ClusterRegistration,
// KubeFedCluster, agent ServiceAccount and, when it has neither registration
// nor KubeFedCluster, its Works.
type Controller struct {
	namespace       string
	fedhub          versioned.Interface
	host            kubernetes.Interface
	registrations   agentlisters.ClusterRegistrationLister
	clusters        corelisters.KubeFedClusterLister
	works           cache.Indexer
	serviceAccounts corelistersv1.ServiceAccountLister
	recorder        record.EventRecorder
	queue           workqueue.TypedRateLimitingInterface[string]
	synced          []cache.InformerSynced
}

// NewController wires the controller: registrations, clusters and works are
// fedhub's, in namespace (the federation namespace); serviceAccounts are the
// host's, in the agents' namespace.
func NewController(namespace string, fedhub versioned.Interface, host kubernetes.Interface,
	registrations agentinformers.ClusterRegistrationInformer, clusters coreinformersv1beta1.KubeFedClusterInformer,
	works agentinformers.WorkInformer, serviceAccounts coreinformers.ServiceAccountInformer, recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		namespace:       namespace,
		fedhub:          fedhub,
		host:            host,
		registrations:   registrations.Lister(),
		clusters:        clusters.Lister(),
		works:           works.Informer().GetIndexer(),
		serviceAccounts: serviceAccounts.Lister(),
		recorder:        recorder,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		synced: []cache.InformerSynced{registrations.Informer().HasSynced, clusters.Informer().HasSynced,
			works.Informer().HasSynced, serviceAccounts.Informer().HasSynced},
	}
	if err := works.Informer().AddIndexers(cache.Indexers{worksByCluster: workClusterName}); err != nil {
		return nil, err
	}
	// Status writes (the agents' lease renewals every few seconds, health
	// reports) change nothing this controller reads.
	byName := cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueName,
		UpdateFunc: func(old, obj any) {
			if specChanged(old, obj) {
				c.enqueueName(obj)
			}
		},
		DeleteFunc: c.enqueueName,
	}
	if _, err := registrations.Informer().AddEventHandler(byName); err != nil {
		return nil, err
	}
	if _, err := clusters.Informer().AddEventHandler(byName); err != nil {
		return nil, err
	}
	if _, err := works.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueOrphanedWork,
		UpdateFunc: func(_, obj any) { c.enqueueOrphanedWork(obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := serviceAccounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueAgentAccount,
		UpdateFunc: func(_, obj any) { c.enqueueAgentAccount(obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// specChanged tells whether an update changed what sync reads of a
// registration or a KubeFedCluster: its spec or its deletion.
func specChanged(old, obj any) bool {
	switch obj := obj.(type) {
	case *agentv1alpha1.ClusterRegistration:
		old, ok := old.(*agentv1alpha1.ClusterRegistration)
		return !ok || old.Spec != obj.Spec || (old.DeletionTimestamp == nil) != (obj.DeletionTimestamp == nil)
	case *corev1beta1.KubeFedCluster:
		old, ok := old.(*corev1beta1.KubeFedCluster)
		return !ok || old.Spec.Mode != obj.Spec.Mode || old.Spec.APIEndpoint != obj.Spec.APIEndpoint ||
			(old.DeletionTimestamp == nil) != (obj.DeletionTimestamp == nil)
	}
	return true
}

// workClusterName indexes a Work by the cluster it is for.
func workClusterName(obj any) ([]string, error) {
	if work, ok := obj.(*agentv1alpha1.Work); ok && work.Spec.ClusterName != "" {
		return []string{work.Spec.ClusterName}, nil
	}
	return nil, nil
}

// enqueueName queues the cluster a registration or KubeFedCluster is named after.
func (c *Controller) enqueueName(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || namespace != c.namespace {
		return
	}
	c.queue.Add(name)
}

// enqueueOrphanedWork queues a Work's cluster when it has neither
// registration nor KubeFedCluster; other Works (the agents' status reports
// among them) are nothing to this controller.
func (c *Controller) enqueueOrphanedWork(obj any) {
	work, ok := obj.(*agentv1alpha1.Work)
	if !ok || work.Namespace != c.namespace || work.Spec.ClusterName == "" {
		return
	}
	cluster := work.Spec.ClusterName
	if _, err := c.registrations.ClusterRegistrations(c.namespace).Get(cluster); !apierrors.IsNotFound(err) {
		return
	}
	if _, err := c.clusters.KubeFedClusters(c.namespace).Get(cluster); !apierrors.IsNotFound(err) {
		return
	}
	c.queue.Add(cluster)
}

// enqueueAgentAccount queues the cluster of an agent ServiceAccount.
func (c *Controller) enqueueAgentAccount(obj any) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok || sa.Namespace != agentidentity.AgentNamespace {
		return
	}
	if cluster, ok := strings.CutPrefix(sa.Name, agentidentity.AgentServiceAccountPrefix); ok && cluster != "" {
		c.queue.Add(cluster)
	}
}

// Run reconciles with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	logger.V(2).Info("Started")
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.processNext, ReportPanic: c.reportPanic}, workers)
}

func (c *Controller) processNext(ctx context.Context, cluster string) {
	logger := klog.FromContext(ctx).WithValues("cluster", cluster)
	ctx = klog.NewContext(ctx, logger)
	err := c.sync(ctx, cluster)
	switch {
	case err == nil:
		c.queue.Forget(cluster)
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		logger.V(4).Info("The cache is behind; reconciling again", "err", err)
		c.queue.AddRateLimited(cluster)
	default:
		logger.Error(err, "Reconciling the cluster's registration failed; retrying")
		c.queue.AddRateLimited(cluster)
	}
}

// reportPanic records a Warning event on the cluster's registration, if it
// has one; registrations have no conditions.
func (c *Controller) reportPanic(_ context.Context, cluster, message string) error {
	registration, err := c.registrations.ClusterRegistrations(c.namespace).Get(cluster)
	if err != nil {
		return nil
	}
	c.recorder.Event(registration, corev1.EventTypeWarning, reconciler.ReasonReconcileError, message)
	return nil
}
