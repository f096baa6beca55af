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
	"slices"

	corev1 "k8s.io/api/core/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/dynamic"
	kubeinformers "k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	clientsetscheme "github.com/fedhub/fedhub/generated/clientset/versioned/scheme"
	informers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/reconciler/clusterhealth"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
)

// Controllers are the reconcilers fedhub-apiserver can run.
var Controllers = []string{clusterhealth.ControllerName, propagation.ControllerName, scheduling.ControllerName}

// controllerEnabled follows kube-controller-manager's --controllers syntax:
// "*" enables all, "name" one, "-name" disables one.
func controllerEnabled(list []string, name string) bool {
	if slices.Contains(list, "-"+name) {
		return false
	}
	return slices.Contains(list, name) || slices.Contains(list, "*")
}

// installReconcilers starts the enabled controllers once the server serves,
// reading fedhub through the loopback client and the host's credentials
// Secrets and events through the host client.
func (c CompletedConfig) installReconcilers(server *genericapiserver.GenericAPIServer) error {
	enabled := enabledControllers{
		health:    controllerEnabled(c.Controllers, clusterhealth.ControllerName),
		propagate: controllerEnabled(c.Controllers, propagation.ControllerName),
		schedule:  controllerEnabled(c.Controllers, scheduling.ControllerName),
	}
	if enabled == (enabledControllers{}) {
		return nil
	}
	return server.AddPostStartHook("fedhub-reconcilers", func(hookContext genericapiserver.PostStartHookContext) error {
		return c.startReconcilers(hookContext, hookContext.LoopbackClientConfig, enabled)
	})
}

// enabledControllers says which reconcilers --controllers enables.
type enabledControllers struct {
	health, propagate, schedule bool
}

func (c CompletedConfig) startReconcilers(ctx context.Context, loopback *rest.Config, enabled enabledControllers) error {
	client, err := clientset.NewForConfig(loopback)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(FederationNamespace))
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(4)
	var secrets coreinformers.SecretInformer
	var hostFactory kubeinformers.SharedInformerFactory
	if c.HostConfig != nil {
		host, err := kubernetes.NewForConfig(c.HostConfig)
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
	allNamespaces := informers.NewSharedInformerFactory(client, 0)
	var runs []func()
	if enabled.health {
		recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + clusterhealth.ControllerName})
		controller, err := clusterhealth.NewController(FederationNamespace, client, factory.Core().V1beta1().KubeFedClusters(),
			factory.Core().V1beta1().KubeFedConfigs(), secrets, recorder)
		if err != nil {
			return err
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
			client.SchedulingV1alpha1(), factory.Core().V1beta1().KubeFedClusters(), fedhub, recorder)
		if err != nil {
			return err
		}
		runs = append(runs, func() { controller.Run(ctx, 2) })
	}
	factory.Start(ctx.Done())
	allNamespaces.Start(ctx.Done())
	if hostFactory != nil {
		hostFactory.Start(ctx.Done())
	}
	for _, run := range runs {
		go run()
	}
	go func() {
		<-ctx.Done()
		factory.Shutdown()
		allNamespaces.Shutdown()
		if hostFactory != nil {
			hostFactory.Shutdown()
		}
		broadcaster.Shutdown()
	}()
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
	clusters, err := propagation.NewClusterSet(FederationNamespace, c.Propagation, factory.Core().V1beta1().KubeFedClusters(), secrets)
	if err != nil {
		return nil, err
	}
	recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + propagation.ControllerName})
	manager, err := propagation.NewManager(FederationNamespace, fedhub, client.CoreV1beta1(), factory.Core().V1beta1().FederatedTypeConfigs(),
		factory.Core().V1beta1().KubeFedConfigs(), clusters, recorder)
	if err != nil {
		return nil, err
	}
	return manager, nil
}
