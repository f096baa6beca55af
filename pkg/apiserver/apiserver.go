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

// Package apiserver assembles fedhub-apiserver from the generic API server and
// fedhub's REST storage.
package apiserver

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/apis/agent"
	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/apis/apps"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	"github.com/fedhub/fedhub/apis/core"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/apis/scheduling"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
	generatedopenapi "github.com/fedhub/fedhub/generated/openapi"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/clusterproxy"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/leaderelection"
	"github.com/fedhub/fedhub/pkg/reconciler/helmrelease"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	schedulingreconciler "github.com/fedhub/fedhub/pkg/reconciler/scheduling"
	"github.com/fedhub/fedhub/pkg/tunnel"
	"github.com/fedhub/fedhub/registry/agent/clusterregistration"
	"github.com/fedhub/fedhub/registry/agent/work"
	"github.com/fedhub/fedhub/registry/apps/federatedhelmrelease"
	"github.com/fedhub/fedhub/registry/core/federatedtypeconfig"
	"github.com/fedhub/fedhub/registry/core/kubefedcluster"
	"github.com/fedhub/fedhub/registry/core/kubefedconfig"
	"github.com/fedhub/fedhub/registry/scheduling/replicaschedulingpreference"
	federatedtypes "github.com/fedhub/fedhub/registry/types"
)

// Config is the generic server configuration plus fedhub's own.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	// Controllers selects the reconcilers to run, as --controllers does.
	Controllers []string
	// Propagation tunes the propagation controllers.
	Propagation propagation.Tuning
	// Capacity tunes the scheduler's capacity estimate.
	Capacity schedulingreconciler.CapacityTuning
	// HelmCharts are how FederatedHelmReleases' charts are fetched.
	HelmCharts helm.FetcherOptions
	// LeaderElection, when set, runs the reconcilers only while this replica leads.
	LeaderElection *LeaderElection
	// TunnelPeers, when set, lets every replica reach the pull tunnels the others hold.
	TunnelPeers *TunnelPeers
}

// CompletedConfig is a Config with every default filled; only it can build a server.
type CompletedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	// HostConfig reaches the host cluster; nil in standalone mode.
	HostConfig *restclient.Config
	// Controllers selects the reconcilers to run.
	Controllers []string
	// Propagation tunes the propagation controllers.
	Propagation propagation.Tuning
	// Capacity tunes the scheduler's capacity estimate.
	Capacity schedulingreconciler.CapacityTuning
	// HelmCharts are how FederatedHelmReleases' charts are fetched.
	HelmCharts helm.FetcherOptions
	// LeaderElection, when set, runs the reconcilers only while this replica leads.
	LeaderElection *LeaderElection
	// TunnelPeers, when set, lets every replica reach the pull tunnels the others hold.
	TunnelPeers *TunnelPeers
}

// Server is a running fedhub-apiserver.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

// Complete fills the defaults the generic server derives from the configuration.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{GenericConfig: c.GenericConfig.Complete(), HostConfig: c.GenericConfig.ClientConfig, Controllers: c.Controllers,
		Propagation: c.Propagation, Capacity: c.Capacity, HelmCharts: c.HelmCharts, LeaderElection: c.LeaderElection, TunnelPeers: c.TunnelPeers}
}

// New builds the server and installs the core.kubefed.io, scheduling.kubefed.io,
// agent.fedhub.io and apps.fedhub.io groups.
func (c CompletedConfig) New() (*Server, error) {
	if c.GenericConfig.RESTOptionsGetter != nil {
		c.GenericConfig.RESTOptionsGetter = tooLargeAsStatus{RESTOptionsGetter: c.GenericConfig.RESTOptionsGetter}
	}
	genericServer, err := c.GenericConfig.New("fedhub-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	s := &Server{GenericAPIServer: genericServer}
	federated, err := c.installFederatedTypes(genericServer)
	if err != nil {
		return nil, err
	}
	coreGroup := func() (*genericapiserver.APIGroupInfo, error) { return c.coreGroup(federated) }
	for _, group := range []func() (*genericapiserver.APIGroupInfo, error){coreGroup, c.schedulingGroup, c.agentGroup, c.appsGroup} {
		info, err := group()
		if err != nil {
			return nil, err
		}
		if err := genericServer.InstallAPIGroup(info); err != nil {
			return nil, err
		}
	}
	if err := c.installReconcilers(genericServer); err != nil {
		return nil, err
	}
	if err := c.installTunnelPeers(genericServer); err != nil {
		return nil, err
	}
	return s, nil
}

// installFederatedTypes serves types.kubefed.io from a handler that follows
// the FederatedTypeConfigs, which a loopback informer watches once the server runs.
func (c CompletedConfig) installFederatedTypes(server *genericapiserver.GenericAPIServer) (*federatedtypes.Handler, error) {
	targets := federatedtypes.NewTargetSchemas(generatedopenapi.GetOpenAPIDefinitions)
	if host := c.HostConfig; host != nil {
		// With a host, CRD targets are checked against their CRDs there.
		withHost, err := targets.WithHost(host)
		if err != nil {
			return nil, err
		}
		targets = withHost
	}
	discovery := server.AggregatedDiscoveryGroupManager
	var publisher *servedKindsPublisher
	if host := c.HostConfig; host != nil && discovery != nil {
		// Standalone mode has no host and no aggregator to tell.
		client, err := dynamic.NewForConfig(host)
		if err != nil {
			return nil, err
		}
		publisher = newServedKindsPublisher(client, leaderelection.DefaultIdentity())
		discovery = notifyingDiscovery{ResourceManager: discovery, publisher: publisher}
	}
	handler := federatedtypes.NewHandler(federatedtypes.Config{
		Scheme:            Scheme,
		Codecs:            Codecs,
		RESTOptionsGetter: c.GenericConfig.RESTOptionsGetter,
		Authorizer:        c.GenericConfig.Authorization.Authorizer,
		Admission:         c.GenericConfig.AdmissionControl,
		MaxRequestBody:    c.GenericConfig.MaxRequestBodyBytes,
		MinRequestTimeout: time.Duration(c.GenericConfig.MinRequestTimeout) * time.Second,
		Discovery:         discovery,
		TargetSchemas:     targets,
		SyncFinalizer:     c.syncFinalizer(),
	})
	prefix := "/apis/" + federatedtypes.GroupVersion.Group
	server.Handler.NonGoRestfulMux.Handle(prefix, handler)
	server.Handler.NonGoRestfulMux.UnlistedHandlePrefix(prefix+"/", handler)
	server.DiscoveryGroupManager.AddGroup(federatedtypes.APIGroup())
	server.RegisterDestroyFunc(handler.Destroy)
	if publisher != nil {
		if err := server.AddPostStartHook("fedhub-host-discovery", func(hookContext genericapiserver.PostStartHookContext) error {
			go publisher.run(hookContext)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return handler, server.AddPostStartHook("fedhub-federated-types", func(hookContext genericapiserver.PostStartHookContext) error {
		// OpenAPI services exist once the server is prepared to run, before post-start hooks.
		openAPI := &federatedtypes.OpenAPIServices{V2: server.OpenAPIVersionedService, V3: server.OpenAPIV3VersionedService, Static: server.StaticOpenAPISpec}
		return followTypeConfigs(hookContext, hookContext.LoopbackClientConfig, handler, openAPI)
	})
}

// coreGroup serves core.kubefed.io; deleting an FTC is refused while the
// federated kind it enables has objects.
func (c CompletedConfig) coreGroup(federated *federatedtypes.Handler) (*genericapiserver.APIGroupInfo, error) {
	optsGetter := c.GenericConfig.RESTOptionsGetter
	clusters, clusterStatus, err := kubefedcluster.NewREST(Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	configs, err := kubefedconfig.NewREST(Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	typeConfigStore, typeConfigStatus, err := federatedtypeconfig.NewREST(Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	typeConfigs := federatedtypeconfig.WithDeleteProtection(typeConfigStore, func(ctx context.Context, typeConfig *core.FederatedTypeConfig) ([]string, error) {
		return federated.ObjectsOf(ctx, typeConfig.UID, 5)
	})
	proxy, err := c.clusterProxy()
	if err != nil {
		return nil, err
	}
	// The proxy subresource's ClusterProxyOptions are decoded with Scheme,
	// which also knows every option of metav1.ParameterCodec.
	info := genericapiserver.NewDefaultAPIGroupInfo(core.GroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	info.NegotiatedSerializer = GroupSerializer
	info.VersionedResourcesStorageMap[corev1beta1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"kubefedclusters":             clusters,
		"kubefedclusters/status":      clusterStatus,
		"kubefedclusters/proxy":       kubefedcluster.NewProxyREST(clusters, proxy),
		"kubefedconfigs":              configs,
		"federatedtypeconfigs":        typeConfigs,
		"federatedtypeconfigs/status": typeConfigStatus,
	}
	return &info, nil
}

// clusterProxy reaches members for kubefedclusters/proxy: push members with
// the credentials of their Secret in the host, pull members through the
// tunnels their agents hold open to this process.
func (c CompletedConfig) clusterProxy() (*clusterproxy.Proxy, error) {
	var host kubernetes.Interface
	if c.HostConfig != nil {
		client, err := kubernetes.NewForConfig(restclient.CopyConfig(c.HostConfig))
		if err != nil {
			return nil, err
		}
		host = client
	}
	return clusterproxy.New(host, tunnel.Default), nil
}

func (c CompletedConfig) schedulingGroup() (*genericapiserver.APIGroupInfo, error) {
	preferences, preferenceStatus, err := replicaschedulingpreference.NewREST(Scheme, c.GenericConfig.RESTOptionsGetter)
	if err != nil {
		return nil, err
	}
	info := genericapiserver.NewDefaultAPIGroupInfo(scheduling.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	info.NegotiatedSerializer = GroupSerializer
	info.VersionedResourcesStorageMap[schedulingv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"replicaschedulingpreferences":        preferences,
		"replicaschedulingpreferences/status": preferenceStatus,
	}
	return &info, nil
}

// agentGroup serves agent.fedhub.io, pull mode's registrations and Works.
// Agent tokens are minted in the host; without one the token subresource
// refuses every request.
func (c CompletedConfig) agentGroup() (*genericapiserver.APIGroupInfo, error) {
	optsGetter := c.GenericConfig.RESTOptionsGetter
	registrations, registrationStatus, err := clusterregistration.NewREST(Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	works, workStatus, err := work.NewREST(Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	var minter clusterregistration.TokenMinter
	if c.HostConfig != nil {
		host, err := kubernetes.NewForConfig(restclient.CopyConfig(c.HostConfig))
		if err != nil {
			return nil, err
		}
		minter = agentidentity.NewHostMinter(host)
	}
	info := genericapiserver.NewDefaultAPIGroupInfo(agent.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	info.NegotiatedSerializer = GroupSerializer
	info.VersionedResourcesStorageMap[agentv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"clusterregistrations":        registrations,
		"clusterregistrations/status": registrationStatus,
		"clusterregistrations/token":  clusterregistration.NewTokenREST(registrations, minter),
		"works":                       works,
		"works/status":                workStatus,
	}
	// The pull tunnel (pkg/tunnel), named "attach" so that hosts treat it as long-running.
	info.VersionedResourcesStorageMap[agentv1alpha1.SchemeGroupVersion.Version]["clusterregistrations/"+tunnel.Subresource] =
		clusterregistration.NewTunnelREST(registrations, tunnel.Default, c.fedhubIdentity())
	return &info, nil
}

// appsGroup serves apps.fedhub.io, applications federated as a whole.
func (c CompletedConfig) appsGroup() (*genericapiserver.APIGroupInfo, error) {
	releases, releaseStatus, err := federatedhelmrelease.NewREST(Scheme, c.GenericConfig.RESTOptionsGetter, c.helmReleaseFinalizer())
	if err != nil {
		return nil, err
	}
	info := genericapiserver.NewDefaultAPIGroupInfo(apps.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	info.NegotiatedSerializer = GroupSerializer
	info.VersionedResourcesStorageMap[appsv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"federatedhelmreleases":        releases,
		"federatedhelmreleases/status": releaseStatus,
	}
	return &info, nil
}

// helmReleaseFinalizer is the finalizer new FederatedHelmReleases get: none
// unless the helm release controller runs, since no one else would ever
// remove it.
func (c CompletedConfig) helmReleaseFinalizer() string {
	if c.helmControllerRuns() {
		return appsv1alpha1.HelmReleaseCleanupFinalizer
	}
	return ""
}

// helmControllerRuns says whether the helm release controller runs: it needs
// a host, since members' credentials and the RBAC a release's objects are
// checked against are the host's.
func (c CompletedConfig) helmControllerRuns() bool {
	return c.HostConfig != nil && controllerEnabled(c.Controllers, helmrelease.ControllerName)
}

// syncFinalizer is the finalizer new federated objects get, so that the
// propagation controller need not add it: none when that controller does not run.
func (c CompletedConfig) syncFinalizer() string {
	if controllerEnabled(c.Controllers, propagation.ControllerName) {
		return propagation.Finalizer
	}
	return ""
}
