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
)

// Controllers are the reconcilers fedhub-apiserver can run.
var Controllers = []string{clusterhealth.ControllerName}

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
	if !controllerEnabled(c.Controllers, clusterhealth.ControllerName) {
		return nil
	}
	return server.AddPostStartHook("fedhub-reconcilers", func(hookContext genericapiserver.PostStartHookContext) error {
		return c.startClusterHealth(hookContext, hookContext.LoopbackClientConfig)
	})
}

func (c CompletedConfig) startClusterHealth(ctx context.Context, loopback *rest.Config) error {
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
		// KubeFed kept credentials and cluster events in the host's
		// federation namespace; kubectl describe finds them there.
		hostFactory = kubeinformers.NewSharedInformerFactoryWithOptions(host, 0, kubeinformers.WithNamespace(FederationNamespace))
		secrets = hostFactory.Core().V1().Secrets()
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: host.CoreV1().Events(FederationNamespace)})
	}
	recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + clusterhealth.ControllerName})
	controller, err := clusterhealth.NewController(FederationNamespace, client, factory.Core().V1beta1().KubeFedClusters(),
		factory.Core().V1beta1().KubeFedConfigs(), secrets, recorder)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if hostFactory != nil {
		hostFactory.Start(ctx.Done())
	}
	go func() {
		controller.Run(ctx, 2)
		factory.Shutdown()
		if hostFactory != nil {
			hostFactory.Shutdown()
		}
		broadcaster.Shutdown()
	}()
	return nil
}
