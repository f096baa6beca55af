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

	corev1 "k8s.io/api/core/v1"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	clientsetscheme "github.com/fedhub/fedhub/generated/clientset/versioned/scheme"
	informers "github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/reconciler/registration"
)

// registration builds the controller that keeps pull clusters' KubeFedClusters,
// agent ServiceAccounts and orphaned Works in line with the ClusterRegistrations
// (docs/pull.md). It reads fedhub through factory, which the caller starts,
// and the agents' ServiceAccounts through an informer on the host's agent
// namespace, which the returned run starts and stops. It needs a host.
func (c CompletedConfig) registration(ctx context.Context, client clientset.Interface, factory informers.SharedInformerFactory,
	broadcaster record.EventBroadcaster) (run func(), err error) {
	hostConfig := rest.CopyConfig(c.HostConfig)
	hostConfig.QPS, hostConfig.Burst = hostQPS, hostBurst
	host, err := kubernetes.NewForConfig(hostConfig)
	if err != nil {
		return nil, err
	}
	agents := kubeinformers.NewSharedInformerFactoryWithOptions(host, 0, kubeinformers.WithNamespace(agentidentity.AgentNamespace))
	recorder := broadcaster.NewRecorder(clientsetscheme.Scheme, corev1.EventSource{Component: "fedhub-" + registration.ControllerName})
	controller, err := registration.NewController(FederationNamespace, client, host, factory.Agent().V1alpha1().ClusterRegistrations(),
		factory.Core().V1beta1().KubeFedClusters(), factory.Agent().V1alpha1().Works(), agents.Core().V1().ServiceAccounts(), recorder)
	if err != nil {
		return nil, err
	}
	return func() {
		agents.Start(ctx.Done())
		controller.Run(ctx, 2)
		agents.Shutdown()
	}, nil
}
