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

package apiserver

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	etcdtransport "go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	corev1 "k8s.io/api/core/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	kubeinformers "k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	clientsetscheme "github.com/fedhub/fedhub/generated/clientset/versioned/scheme"
	informers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/leaderelection"
	"github.com/fedhub/fedhub/pkg/reconciler"
	"github.com/fedhub/fedhub/pkg/reconciler/clusterhealth"
	"github.com/fedhub/fedhub/pkg/reconciler/helmrelease"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/pkg/reconciler/registration"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
)

// Controllers are the reconcilers fedhub-apiserver can run.
var Controllers = []string{clusterhealth.ControllerName, propagation.ControllerName, scheduling.ControllerName, registration.ControllerName,
	helmrelease.ControllerName}

// controllerEnabled follows kube-controller-manager's --controllers syntax:
// "*" enables all, "name" one, "-name" disables one.
func controllerEnabled(list []string, name string) bool {
	if slices.Contains(list, "-"+name) {
		return false
	}
	return slices.Contains(list, name) || slices.Contains(list, "*")
}

// LeaderElection says how the replicas sharing fedhub's etcd elect the one
// that runs the reconcilers.
type LeaderElection struct {
	// Etcd reaches fedhub's etcd, as its storage does.
	Etcd storagebackend.TransportConfig
	// Key is the election's prefix in etcd.
	Key string
	// LeaseDuration is the TTL of the election's lease.
	LeaseDuration time.Duration
}

// hostQPS and hostBurst bound the reconcilers' requests to the host: reads
// of member credentials and, mostly, events.
const (
	hostQPS   = 100
	hostBurst = 200
)

// resignTimeout bounds how long shutting down waits for the reconcilers to
// stop and the election to be given up; past it the lease simply expires.
const resignTimeout = 10 * time.Second

// installReconcilers starts the enabled controllers once the server serves,
// reading fedhub through the loopback client and the host's credentials
// Secrets and events through the host client. With leader election they run
// only while this replica leads; on shutdown they stop, in-flight member
// writes are abandoned (the next leader compares before it writes), and the
// election is given up before the server stops.
func (c CompletedConfig) installReconcilers(server *genericapiserver.GenericAPIServer) error {
	enabled := enabledControllers{
		health:    controllerEnabled(c.Controllers, clusterhealth.ControllerName),
		propagate: controllerEnabled(c.Controllers, propagation.ControllerName),
		schedule:  controllerEnabled(c.Controllers, scheduling.ControllerName),
		// Pull clusters' agents connect through the host; without one there are none.
		register: c.HostConfig != nil && controllerEnabled(c.Controllers, registration.ControllerName),
		helm:     c.helmControllerRuns(),
	}
	if enabled == (enabledControllers{}) {
		return nil
	}
	// The post-start hook's context ends only once the HTTP server stops,
	// which waits for the pre-shutdown hooks: the pre-shutdown hook itself
	// cancels the reconcilers, then waits for them to stop and for the
	// election to be given up, so that a standby takes over at once.
	var cancelRun atomic.Pointer[context.CancelFunc]
	stopped := make(chan struct{})
	if err := server.AddPostStartHook("fedhub-reconcilers", func(hookContext genericapiserver.PostStartHookContext) error {
		ctx, cancel := context.WithCancel(hookContext)
		cancelRun.Store(&cancel)
		run := func(ctx context.Context) error {
			return c.runReconcilers(ctx, hookContext.LoopbackClientConfig, enabled)
		}
		if c.LeaderElection == nil {
			go func() {
				defer close(stopped)
				if err := run(ctx); err != nil {
					klog.FromContext(ctx).Error(err, "Starting the reconcilers failed")
				}
			}()
			return nil
		}
		client, err := newEtcdClient(c.LeaderElection.Etcd)
		if err != nil {
			close(stopped)
			return err
		}
		leaderelection.RegisterMetrics()
		go func() {
			defer close(stopped)
			defer func() { _ = client.Close() }()
			leaderelection.Run(ctx, leaderelection.Config{Client: client, Key: c.LeaderElection.Key,
				Identity: leaderelection.DefaultIdentity(), LeaseDuration: c.LeaderElection.LeaseDuration}, run)
		}()
		return nil
	}); err != nil {
		return err
	}
	return server.AddPreShutdownHook("fedhub-reconcilers", func() error {
		cancel := cancelRun.Load()
		if cancel == nil {
			return nil
		}
		(*cancel)()
		select {
		case <-stopped:
		case <-time.After(resignTimeout):
			klog.Warning(reconcilersNotStoppedWarning)
		}
		return nil
	})
}

// reconcilersNotStoppedWarning is logged when shutting down gave up waiting for the reconcilers.
const reconcilersNotStoppedWarning = "The reconcilers did not stop in time; the election lease will expire by itself"

// newEtcdClient reaches the etcd the storage uses, with its TLS files.
func newEtcdClient(transport storagebackend.TransportConfig) (*clientv3.Client, error) {
	config := clientv3.Config{Endpoints: transport.ServerList, DialTimeout: 20 * time.Second, Logger: zap.NewNop()}
	if transport.CertFile != "" || transport.KeyFile != "" || transport.TrustedCAFile != "" {
		tlsInfo := etcdtransport.TLSInfo{CertFile: transport.CertFile, KeyFile: transport.KeyFile, TrustedCAFile: transport.TrustedCAFile}
		tlsConfig, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		config.TLS = tlsConfig
	}
	return clientv3.New(config)
}

// enabledControllers says which reconcilers --controllers enables.
type enabledControllers struct {
	health, propagate, schedule, register, helm bool
}

// runReconcilers runs the enabled controllers until ctx ends and returns once
// every one has stopped.
func (c CompletedConfig) runReconcilers(ctx context.Context, loopback *rest.Config, enabled enabledControllers) error {
	client, err := clientset.NewForConfig(loopback)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(FederationNamespace),
		informers.WithTransform(reconciler.StripManagedFields))
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(4)
	var secrets coreinformers.SecretInformer
	var hostFactory kubeinformers.SharedInformerFactory
	if c.HostConfig != nil {
		// client-go's default of 5 requests per second would throttle events:
		// a wave of member writes records hundreds a second, the recorder's
		// queue (1000) fills and drops them, and later events wait minutes.
		hostConfig := rest.CopyConfig(c.HostConfig)
		hostConfig.QPS, hostConfig.Burst = hostQPS, hostBurst
		host, err := kubernetes.NewForConfig(hostConfig)
		if err != nil {
			return err
		}
		// KubeFed kept credentials and cluster events in the host's federation
		// namespace, and events of federated objects in theirs; kubectl
		// describe finds them there.
		hostFactory = kubeinformers.NewSharedInformerFactoryWithOptions(host, 0, kubeinformers.WithNamespace(FederationNamespace))
		secrets = hostFactory.Core().V1().Secrets()
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: host.CoreV1().Events("")})
	}
	// Preferences live in the teams' namespaces; everything else in the federation's.
	allNamespaces := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(reconciler.StripManagedFields))
	var runs []func()
	if enabled.health {
		recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + clusterhealth.ControllerName})
		controller, err := clusterhealth.NewController(FederationNamespace, client, factory.Core().V1beta1().KubeFedClusters(),
			factory.Core().V1beta1().KubeFedConfigs(), secrets, recorder)
		if err != nil {
			return err
		}
		if c.HostConfig != nil {
			// Pull members' agents connect through the host; without one there are none.
			if err := controller.WatchAgentLeases(factory.Agent().V1alpha1().ClusterRegistrations()); err != nil {
				return err
			}
		}
		runs = append(runs, func() { controller.Run(ctx, 2) })
	}
	if enabled.propagate {
		manager, err := c.propagation(loopback, client, factory, secrets, broadcaster)
		if err != nil {
			return err
		}
		runs = append(runs, func() { manager.Run(ctx) })
	}
	if enabled.schedule {
		fedhub, err := dynamic.NewForConfig(loopback)
		if err != nil {
			return err
		}
		recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + scheduling.ControllerName})
		controller, err := scheduling.NewController(FederationNamespace, allNamespaces.Scheduling().V1alpha1().ReplicaSchedulingPreferences(),
			client.SchedulingV1alpha1(), factory.Core().V1beta1().KubeFedClusters(), factory.Core().V1beta1().FederatedTypeConfigs(), fedhub, recorder)
		if err != nil {
			return err
		}
		if secrets != nil {
			// Push members' credentials are on the host; without one there are none to read.
			controller.EstimateCapacity(secrets, c.Capacity)
			// Pull members' agents connect through the host and report in their Works.
			if err := controller.EstimatePullCapacity(factory.Agent().V1alpha1().Works(), factory.Agent().V1alpha1().ClusterRegistrations()); err != nil {
				return err
			}
		}
		runs = append(runs, func() { controller.Run(ctx, 2) })
	}
	if enabled.helm {
		recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + helmrelease.ControllerName})
		controller, err := helmrelease.NewController(allNamespaces.Apps().V1alpha1().FederatedHelmReleases(), client.AppsV1alpha1(),
			factory.Core().V1beta1().KubeFedClusters(), secrets, c.GenericConfig.Authorization.Authorizer, recorder, c.HelmCharts)
		if err != nil {
			return err
		}
		// Pull members get their releases through Works, checked here
		// against the host's RBAC for kinds as the host's discovery names them.
		hostDiscovery, err := discovery.NewDiscoveryClientForConfig(c.HostConfig)
		if err != nil {
			return err
		}
		hostMapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(hostDiscovery))
		if err := controller.DeliverToAgents(factory.Agent().V1alpha1().Works(), client.AgentV1alpha1(), FederationNamespace, hostMapper); err != nil {
			return err
		}
		runs = append(runs, func() { controller.Run(ctx, 2) })
	}
	if enabled.register {
		run, err := c.registration(ctx, client, factory, broadcaster)
		if err != nil {
			return err
		}
		runs = append(runs, run)
	}
	factory.Start(ctx.Done())
	allNamespaces.Start(ctx.Done())
	if hostFactory != nil {
		hostFactory.Start(ctx.Done())
	}
	var running sync.WaitGroup
	for _, run := range runs {
		running.Go(run)
	}
	<-ctx.Done()
	running.Wait()
	factory.Shutdown()
	allNamespaces.Shutdown()
	if hostFactory != nil {
		hostFactory.Shutdown()
	}
	broadcaster.Shutdown()
	return nil
}

// propagation builds the manager of the per-type propagation controllers.
func (c CompletedConfig) propagation(loopback *rest.Config, client clientset.Interface, factory informers.SharedInformerFactory,
	secrets coreinformers.SecretInformer, broadcaster record.EventBroadcaster) (*propagation.Manager, error) {
	propagation.RegisterMetrics()
	fedhub, err := dynamic.NewForConfig(loopback)
	if err != nil {
		return nil, err
	}
	var works *propagation.WorkStore
	if c.HostConfig != nil {
		// Works are published for pull members, whose agents connect through the host.
		works = propagation.NewWorkStore(FederationNamespace, client.AgentV1alpha1(), factory.Agent().V1alpha1().Works())
	}
	clusters, err := propagation.NewClusterSet(FederationNamespace, c.Propagation, factory.Core().V1beta1().KubeFedClusters(), secrets, works)
	if err != nil {
		return nil, err
	}
	recorder := propagation.NewBudgetedRecorder(broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + propagation.ControllerName}),
		c.Propagation.EventQPS, c.Propagation.EventBurst)
	manager, err := propagation.NewManager(FederationNamespace, fedhub, client.CoreV1beta1(), factory.Core().V1beta1().FederatedTypeConfigs(),
		factory.Core().V1beta1().KubeFedConfigs(), clusters, recorder)
	if err != nil {
		return nil, err
	}
	return manager, nil
}
