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

package server

import (
	"k8s.io/apiserver/pkg/admission"
	genericapiserver "k8s.io/apiserver/pkg/server"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/generated/informers/externalversions"
	"github.com/fedhub/fedhub/pkg/admission/clusteraccess"
	"github.com/fedhub/fedhub/pkg/agentauth"
)

// admissionInitializers give fedhub's admission plugins what they read from
// fedhub itself: the KubeFedClusters, from an informer on the loopback
// client that starts with the server. It runs once the delegated authorizer
// is built and before the plugins receive it: the agents' authorizer is put
// in front of it here, so that the plugins and every handler use both.
func admissionInitializers(config *genericapiserver.RecommendedConfig) ([]admission.PluginInitializer, error) {
	client, err := versioned.NewForConfig(config.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	informers := externalversions.NewSharedInformerFactory(client, 0)
	if err := authorizeAgents(config, informers); err != nil {
		return nil, err
	}
	clusters := informers.Core().V1beta1().KubeFedClusters()
	initializer := clusteraccess.ClusterListerInitializer{Lister: clusters.Lister(), Synced: clusters.Informer().HasSynced}
	if err := config.AddPostStartHook("fedhub-admission-informers", func(ctx genericapiserver.PostStartHookContext) error {
		informers.Start(ctx.Done())
		return nil
	}); err != nil {
		return nil, err
	}
	return []admission.PluginInitializer{initializer}, nil
}

// authorizeAgents puts pkg/agentauth in front of the delegated authorizer:
// fedhub, not the host's RBAC, decides what the agents' ServiceAccounts may
// do. It reads the ClusterRegistrations from a loopback informer that starts
// with the admission plugins' informers; until it has synced, agents are refused.
func authorizeAgents(config *genericapiserver.RecommendedConfig, informers externalversions.SharedInformerFactory) error {
	if config.Authorization.Authorizer == nil {
		return nil
	}
	registrations := informers.Agent().V1alpha1().ClusterRegistrations()
	agents := agentauth.New(corev1beta1.DefaultFederationNamespace, registrations.Lister(), registrations.Informer().HasSynced)
	authz, err := agents.InFrontOf(config.Authorization.Authorizer)
	if err != nil {
		return err
	}
	config.Authorization.Authorizer = authz
	return nil
}
