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

// Package clusterhealth keeps every KubeFedCluster's status true to its
// member: it probes each member's /healthz on its own schedule, applies the
// KubeFedConfig's thresholds, records version, zones and region, and writes
// the status only when it changed.
package clusterhealth

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ControllerName names the controller in logs, events and --controllers.
const ControllerName = "cluster-health"

// configName is the KubeFedConfig whose clusterHealthCheck applies.
const configName = "kubefed"

// Controller runs one prober per KubeFedCluster in the federation namespace.
// Probers run concurrently, so an unreachable member delays no other.
type Controller struct {
	namespace string
	client    clientset.Interface
	clusters  fedlisters.KubeFedClusterLister
	configs   fedlisters.KubeFedConfigLister
	// secrets is nil when fedhub runs without a host to keep credentials.
	secrets corelisters.SecretLister
	// registrations hold pull members' leases; nil without WatchAgentLeases.
	registrations agentlisters.ClusterRegistrationLister
	recorder      record.EventRecorder
	queue         workqueue.TypedRateLimitingInterface[string]
	synced        []cache.InformerSynced

	mu      sync.Mutex
	probers map[string]*prober
}

// NewController wires the controller to its informers; secrets may be nil.
func NewController(namespace string, client clientset.Interface, clusters fedinformers.KubeFedClusterInformer,
	configs fedinformers.KubeFedConfigInformer, secrets coreinformers.SecretInformer, recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		namespace: namespace,
		client:    client,
		clusters:  clusters.Lister(),
		configs:   configs.Lister(),
		recorder:  recorder,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		synced:  []cache.InformerSynced{clusters.Informer().HasSynced, configs.Informer().HasSynced},
		probers: map[string]*prober{},
	}
	if _, err := clusters.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueCluster,
		UpdateFunc: func(old, new any) {
			// A status write of our own is no reason to probe again; a new spec is.
			o, oldOK := old.(*corev1beta1.KubeFedCluster)
			n, newOK := new.(*corev1beta1.KubeFedCluster)
			if !oldOK || !newOK || !equality.Semantic.DeepEqual(o.Spec, n.Spec) {
				c.enqueueCluster(new)
			}
		},
		DeleteFunc: c.enqueueCluster,
	}); err != nil {
		return nil, err
	}
	if secrets != nil {
		c.secrets = secrets.Lister()
		c.synced = append(c.synced, secrets.Informer().HasSynced)
		if _, err := secrets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueClustersOf,
			UpdateFunc: func(_, new any) { c.enqueueClustersOf(new) },
			DeleteFunc: c.enqueueClustersOf,
		}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Controller) enqueueCluster(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	namespace, name, _ := cache.SplitMetaNamespaceKey(key)
	if namespace == c.namespace {
		c.queue.Add(name)
	}
}

// enqueueClustersOf queues the clusters whose credentials a Secret holds.
func (c *Controller) enqueueClustersOf(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	clusters, _ := c.clusters.KubeFedClusters(c.namespace).List(everything)
	for _, cluster := range clusters {
		if cluster.Spec.SecretRef.Name == secret.Name {
			c.queue.Add(cluster.Name)
		}
	}
}

// Run starts probing and blocks until ctx ends; then every prober stops.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Starting controller", "namespace", c.namespace)
	defer logger.Info("Stopped controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	reconciler.RunWorkers(ctx, reconciler.Worker[string]{Controller: ControllerName, Queue: c.queue, Process: c.processNext, ReportPanic: c.reportPanic}, workers)
	c.mu.Lock()
	for name, p := range c.probers {
		p.stop()
		delete(c.probers, name)
	}
	c.mu.Unlock()
}

func (c *Controller) processNext(ctx context.Context, name string) {
	c.sync(ctx, name)
	c.queue.Forget(name)
}

// sync starts a prober for a new cluster, stops the prober of a deleted one,
// and has an existing one probe again at once because its configuration changed.
func (c *Controller) sync(ctx context.Context, name string) {
	_, err := c.clusters.KubeFedClusters(c.namespace).Get(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	p, running := c.probers[name]
	switch {
	case apierrors.IsNotFound(err):
		if running {
			p.stop()
			delete(c.probers, name)
			klog.FromContext(ctx).V(2).Info("Stopped probing a deleted cluster", "cluster", name)
		}
	case !running:
		c.probers[name] = c.startProber(ctx, name)
		klog.FromContext(ctx).V(2).Info("Started probing", "cluster", name)
	default:
		p.probeNow()
	}
}

// healthCheck is the timing and thresholds the KubeFedConfig asks for now.
func (c *Controller) healthCheck() HealthCheck {
	config, err := c.configs.KubeFedConfigs(c.namespace).Get(configName)
	if err != nil {
		return HealthCheckFrom(nil)
	}
	return HealthCheckFrom(config)
}

// secretFor returns the cluster's Secret, nil when it does not exist, or an
// error saying why it cannot be read at all.
func (c *Controller) secretFor(cluster *corev1beta1.KubeFedCluster) (*corev1.Secret, error) {
	if c.secrets == nil {
		// secretName already says "Secret ns/name".
		return nil, fmt.Errorf("fedhub runs without a host cluster, so %s cannot be read", c.secretName(cluster))
	}
	secret, err := c.secrets.Secrets(cluster.Namespace).Get(cluster.Spec.SecretRef.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return secret, err
}

// secretName names the cluster's Secret in messages, "Secret ns/name".
func (c *Controller) secretName(cluster *corev1beta1.KubeFedCluster) string {
	return "Secret " + cluster.Namespace + "/" + cluster.Spec.SecretRef.Name
}

// writeStatus stores a probe's status. A conflict means the cache was behind:
// the status is worked out again from the stored object.
func (c *Controller) writeStatus(ctx context.Context, cluster *corev1beta1.KubeFedCluster, o observation) (*corev1beta1.KubeFedCluster, error) {
	clusters := c.client.CoreV1beta1().KubeFedClusters(cluster.Namespace)
	for attempt := 0; ; attempt++ {
		desired := desiredStatus(cluster.Status, o, metav1.Now())
		if !statusChanged(cluster.Status, desired) {
			return cluster, nil
		}
		updated := cluster.DeepCopy()
		updated.Status = desired
		written, err := clusters.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || attempt > 0 {
			return written, err
		}
		if cluster, err = clusters.Get(ctx, cluster.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
	}
}

// recordTransition tells users, as an event on the cluster, that its health changed.
func (c *Controller) recordTransition(cluster *corev1beta1.KubeFedCluster, from health, o observation) {
	if from == o.health {
		return
	}
	ready := conditionsFor(o)[0]
	eventType := corev1.EventTypeWarning
	if o.health == healthReady {
		eventType = corev1.EventTypeNormal
	}
	c.recorder.Eventf(cluster, eventType, *ready.Reason, "Cluster %s is %s: %s", cluster.Name, o.health, *ready.Message)
}

// String names a health in events and logs.
func (h health) String() string {
	switch h {
	case healthReady:
		return "ready"
	case healthNotReady:
		return "not ready"
	case healthOffline:
		return "offline"
	case healthMalformed:
		return "misconfigured"
	case healthUnhandled:
		return "not known: fedhub failed to probe it"
	}
	return "unknown"
}

// pokeDelay spreads the probes that a burst of changes asks for.
const pokeDelay = 100 * time.Millisecond
