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

// Package server holds fedhub-apiserver's options and start-up: flags,
// completion, validation, the embedded etcd and the standalone mode.
package server

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"
	cliflag "k8s.io/component-base/cli/flag"
	netutils "k8s.io/utils/net"

	generatedopenapi "github.com/fedhub/fedhub/generated/openapi"
	"github.com/fedhub/fedhub/pkg/admission/agentregistration"
	"github.com/fedhub/fedhub/pkg/admission/clusteraccess"
	"github.com/fedhub/fedhub/pkg/admission/clustersecret"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/leaderelection"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
	"github.com/fedhub/fedhub/pkg/tunnel/peers"
)

// etcdPathPrefix is where fedhub keeps its objects in etcd.
const etcdPathPrefix = "/registry/fedhub"

// Options are fedhub-apiserver's command-line options.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions

	// Standalone serves without a host cluster: fedhub is its own certificate
	// authority and admits only system:masters.
	Standalone bool
	// WriteKubeconfig is where standalone mode writes an admin kubeconfig.
	WriteKubeconfig string
	// EmbeddedEtcdDir is the data directory of the etcd started in-process when
	// no --etcd-servers are given.
	EmbeddedEtcdDir string
	// AlternateDNS are extra names for the serving certificate, e.g. the
	// <service>.<namespace>.svc name the host's aggregator verifies.
	AlternateDNS []string
	// Controllers selects the embedded reconcilers, as kube-controller-manager's --controllers does.
	Controllers []string
	// HelmCharts are how FederatedHelmReleases' charts are fetched.
	HelmCharts helm.FetcherOptions
	// Propagation tunes the propagation controllers.
	Propagation propagation.Tuning
	// Capacity tunes the scheduler's estimate of the members' capacity.
	Capacity scheduling.CapacityTuning
	// LeaderElect makes the replicas elect, through etcd, the one that runs the reconcilers.
	LeaderElect bool
	// LeaderElectLeaseDuration is the TTL of the election's etcd lease.
	LeaderElectLeaseDuration time.Duration
	// PeerAddress is the IP or host name at which the other replicas reach
	// this one (at --secure-port) for streams through the pull tunnels it holds.
	PeerAddress string
}

// NewOptions returns options with fedhub's defaults.
func NewOptions() *Options {
	o := &Options{
		RecommendedOptions: genericoptions.NewRecommendedOptions(etcdPathPrefix,
			apiserver.Codecs.LegacyCodec(apiserver.StorageVersions...)),
		EmbeddedEtcdDir: "apiserver.local.config/etcd",
		Controllers:     []string{"*"},
		Propagation:     propagation.DefaultTuning(),
		Capacity:        scheduling.DefaultCapacityTuning(),

		LeaderElect:              true,
		LeaderElectLeaseDuration: 15 * time.Second,
	}
	o.RecommendedOptions.Etcd.StorageConfig.EncodeVersioner = apiserver.StorageVersions
	// No --etcd-servers means the embedded etcd; RecommendedOptions has no
	// such default.
	o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList = nil
	// Which clusters a user may target is decided after the webhooks, on the
	// object as it will be stored.
	clusteraccess.Register(o.RecommendedOptions.Admission.Plugins)
	o.RecommendedOptions.Admission.RecommendedPluginOrder = append(o.RecommendedOptions.Admission.RecommendedPluginOrder, clusteraccess.PluginName)
	clustersecret.Register(o.RecommendedOptions.Admission.Plugins)
	o.RecommendedOptions.Admission.RecommendedPluginOrder = append(o.RecommendedOptions.Admission.RecommendedPluginOrder, clustersecret.PluginName)
	// A bootstrap token registers its own cluster only, approved as its
	// ServiceAccount says (docs/pull.md).
	agentregistration.Register(o.RecommendedOptions.Admission.Plugins)
	o.RecommendedOptions.Admission.RecommendedPluginOrder = append(o.RecommendedOptions.Admission.RecommendedPluginOrder, agentregistration.PluginName)
	return o
}

// Flags returns the options as named flag sets, one per concern, for the help text.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	fs := fss.FlagSet("fedhub")
	fs.BoolVar(&o.Standalone, "standalone", o.Standalone,
		"Serve without a host cluster: generate a CA and serving certificate in --cert-dir, "+
			"authenticate client certificates signed by that CA and authorize only system:masters.")
	fs.StringVar(&o.WriteKubeconfig, "write-kubeconfig", o.WriteKubeconfig,
		"In standalone mode, write an admin kubeconfig (group system:masters) to this path.")
	fs.StringVar(&o.EmbeddedEtcdDir, "embedded-etcd-dir", o.EmbeddedEtcdDir,
		"Data directory of the embedded etcd started when --etcd-servers is empty.")
	fs.StringSliceVar(&o.AlternateDNS, "alternate-dns", o.AlternateDNS,
		"Extra DNS names for a generated serving certificate.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf(
		"Embedded reconcilers to run: '*' for all, 'name' to enable one, '-name' to disable one. Known: %s.",
		strings.Join(apiserver.Controllers, ", ")))
	pf := fss.FlagSet("propagation")
	pf.Float32Var(&o.Propagation.MemberQPS, "member-qps", o.Propagation.MemberQPS,
		"Requests per second fedhub may send to each member cluster, for all types together.")
	pf.IntVar(&o.Propagation.MemberBurst, "member-burst", o.Propagation.MemberBurst,
		"Requests fedhub may send to each member cluster in a burst above --member-qps.")
	pf.IntVar(&o.Propagation.WorkersPerType, "propagation-workers", o.Propagation.WorkersPerType,
		"Federated objects of one type reconciled at once; each writes to its clusters in parallel.")
	pf.Float32Var(&o.Propagation.EventQPS, "propagation-event-qps", o.Propagation.EventQPS,
		"Normal events (CreateInCluster, UpdateInCluster, DeleteInCluster) propagation records per second, for all types together; "+
			"beyond --propagation-event-burst the rest are not recorded and are counted in fedhub_propagation_events_skipped_total. "+
			"Warnings are always recorded. 0 records every Normal event.")
	pf.IntVar(&o.Propagation.EventBurst, "propagation-event-burst", o.Propagation.EventBurst,
		"Normal events propagation may record in a burst above --propagation-event-qps.")
	hf := fss.FlagSet("helm")
	hf.BoolVar(&o.HelmCharts.AllowLoopback, "helm-allow-loopback-repositories", o.HelmCharts.AllowLoopback,
		"Fetch the charts of FederatedHelmReleases from repositories on loopback addresses (tests, local development). "+
			"Link-local, unspecified and multicast addresses are always refused.")
	sf := fss.FlagSet("scheduling")
	sf.DurationVar(&o.Capacity.UnschedulableThreshold, "rsp-unschedulable-threshold", o.Capacity.UnschedulableThreshold,
		"How long a pod of a ReplicaSchedulingPreference's workload must stay unschedulable in a member before the member "+
			"is estimated to run only the workload's other pods, and the replicas it cannot run move to clusters with room (KubeFed's 60s).")
	sf.DurationVar(&o.Capacity.EstimateTTL, "rsp-capacity-estimate-ttl", o.Capacity.EstimateTTL,
		"How long such an estimate holds while no pod is unschedulable there and the member's nodes gain no room; "+
			"then a preference with rebalance: true tries its preferred layout again.")
	fs.StringVar(&o.PeerAddress, "peer-address", o.PeerAddress,
		"IP or host name at which the other fedhub replicas reach this one, at --secure-port, for the pull members' "+
			"tunnels it holds (docs/ha.md); every replica must serve the same certificate. Default: --bind-address, "+
			"or the host's default interface when that is unspecified. In a pod, use the pod IP.")
	lf := fss.FlagSet("leader election")
	lf.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Run the reconcilers only in the replica that holds an election in fedhub's etcd; every replica serves the API. "+
			"Turn off only when a single replica runs.")
	lf.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", o.LeaderElectLeaseDuration,
		"TTL of the election's etcd lease, in whole seconds: the longest a standby waits to take over from a leader that "+
			"stopped without resigning (killed, cut off from etcd). A leader that cannot renew it stops reconciling before it runs out.")
	o.RecommendedOptions.AddFlags(fss.FlagSet("generic"))
	utilfeature.DefaultMutableFeatureGate.AddFlag(fss.FlagSet("features"))
	return fss
}

// UsesEmbeddedEtcd is true when fedhub must start its own etcd.
func (o *Options) UsesEmbeddedEtcd() bool {
	return len(o.RecommendedOptions.Etcd.StorageConfig.Transport.ServerList) == 0
}

// Complete fills what the flags leave open. It opens the serving listener when
// --secure-port is 0, so that the chosen port is known before serving.
func (o *Options) Complete() error {
	secure := o.RecommendedOptions.SecureServing
	if secure.BindPort == 0 && secure.Listener == nil {
		host := "127.0.0.1"
		if secure.BindAddress != nil && !secure.BindAddress.IsUnspecified() {
			host = secure.BindAddress.String()
		}
		listener, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("opening a listener for --secure-port 0: %w", err)
		}
		secure.Listener = listener
		secure.BindPort = listener.Addr().(*net.TCPAddr).Port
	}
	if o.Standalone {
		// Nothing in standalone mode can answer delegated authentication,
		// authorization, admission webhooks or flow control: there is no host.
		o.RecommendedOptions.Authentication = nil
		o.RecommendedOptions.Authorization = nil
		o.RecommendedOptions.CoreAPI = nil
		o.RecommendedOptions.Admission = nil
		o.RecommendedOptions.Features.EnablePriorityAndFairness = false
	}
	return nil
}

// Validate reports every inconsistent option at once.
func (o *Options) Validate() error {
	var errs []error
	if o.UsesEmbeddedEtcd() {
		// The embedded etcd's address is only known once it runs; validate
		// everything else about etcd with a stand-in address.
		etcd := *o.RecommendedOptions.Etcd
		etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:2379"}
		recommended := *o.RecommendedOptions
		recommended.Etcd = &etcd
		errs = recommended.Validate()
	} else {
		errs = o.RecommendedOptions.Validate()
	}
	if o.WriteKubeconfig != "" && !o.Standalone {
		errs = append(errs, fmt.Errorf("--write-kubeconfig needs --standalone: with a host cluster, use the host's kubeconfig"))
	}
	for _, name := range o.Controllers {
		if known := strings.TrimPrefix(name, "-"); name != "*" && !slices.Contains(apiserver.Controllers, known) {
			errs = append(errs, fmt.Errorf("--controllers: unknown controller %q (known: %s)", name, strings.Join(apiserver.Controllers, ", ")))
		}
	}
	if o.LeaderElect && (o.LeaderElectLeaseDuration < leaderelection.MinLeaseDuration || o.LeaderElectLeaseDuration%time.Second != 0) {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration must be whole seconds, at least %s", leaderelection.MinLeaseDuration))
	}
	if o.Propagation.MemberQPS <= 0 || o.Propagation.MemberBurst < 1 || o.Propagation.WorkersPerType < 1 {
		errs = append(errs, fmt.Errorf("--member-qps must be positive, --member-burst and --propagation-workers at least 1"))
	}
	if o.Propagation.EventQPS < 0 || (o.Propagation.EventQPS > 0 && o.Propagation.EventBurst < 1) {
		errs = append(errs, fmt.Errorf("--propagation-event-qps must not be negative, and --propagation-event-burst at least 1 when it is positive"))
	}
	if o.Capacity.UnschedulableThreshold <= 0 || o.Capacity.EstimateTTL <= 0 {
		errs = append(errs, fmt.Errorf("--rsp-unschedulable-threshold and --rsp-capacity-estimate-ttl must be positive"))
	}
	if strings.Contains(o.PeerAddress, ":") && net.ParseIP(o.PeerAddress) == nil {
		errs = append(errs, fmt.Errorf("--peer-address must be an IP or a host name without a port (the port is --secure-port): %q", o.PeerAddress))
	}
	if o.UsesEmbeddedEtcd() && o.EmbeddedEtcdDir == "" {
		errs = append(errs, fmt.Errorf("--embedded-etcd-dir is required when --etcd-servers is empty"))
	}
	return utilerrors.NewAggregate(errs)
}

// ServerURL is the https address clients reach this server at.
func (o *Options) ServerURL() string {
	host := "127.0.0.1"
	if addr := o.RecommendedOptions.SecureServing.BindAddress; addr != nil && !addr.IsUnspecified() {
		host = addr.String()
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(o.RecommendedOptions.SecureServing.BindPort))
}

// peerAddress is --peer-address, or where this replica serves when unset,
// with --secure-port.
func (o *Options) peerAddress() (string, error) {
	secure := o.RecommendedOptions.SecureServing
	port := strconv.Itoa(secure.BindPort)
	if o.PeerAddress != "" {
		return net.JoinHostPort(o.PeerAddress, port), nil
	}
	ip := secure.BindAddress
	if ip == nil || ip.IsUnspecified() {
		chosen, err := utilnet.ResolveBindAddress(net.IPv4zero)
		if err != nil {
			return "", fmt.Errorf("choosing the address the other replicas reach this one at (set --peer-address): %w", err)
		}
		ip = chosen
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// shutdownWatchTerminationGracePeriod bounds how long shutting down waits
// for the watches it ends to drain.
const shutdownWatchTerminationGracePeriod = 2 * time.Second

// Config builds the server configuration. Etcd must already be reachable at
// the configured servers (see StartEmbeddedEtcd).
func (o *Options) Config() (*apiserver.Config, error) {
	if o.Standalone {
		if err := o.applyStandaloneCertificates(); err != nil {
			return nil, err
		}
	} else if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost",
		o.AlternateDNS, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating a self-signed serving certificate: %w", err)
	}

	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	serverConfig.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()

	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "fedhub"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "fedhub"

	if o.RecommendedOptions.Admission != nil {
		o.RecommendedOptions.ExtraAdmissionInitializers = admissionInitializers
	}
	if err := o.RecommendedOptions.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	// Watches that stay open (the host's garbage collector watches every
	// fedhub resource through the aggregator) would hold the HTTP server's
	// graceful stop, and the process, until its 60 s timeout: end them when
	// the server stops taking requests, as kube-apiserver does with
	// --shutdown-watch-termination-grace-period.
	serverConfig.ShutdownWatchTerminationGracePeriod = shutdownWatchTerminationGracePeriod
	// Proxied member requests (watches, exec, logs -f) and the agents'
	// tunnels stay open as long as they need.
	serverConfig.LongRunningFunc = apiserver.LongRunning
	if o.Standalone {
		if err := o.applyStandaloneAuth(&serverConfig.Config); err != nil {
			return nil, err
		}
	}
	config := &apiserver.Config{GenericConfig: serverConfig, Controllers: o.Controllers, Propagation: o.Propagation, Capacity: o.Capacity,
		HelmCharts: o.HelmCharts}
	if o.LeaderElect {
		storage := o.RecommendedOptions.Etcd.StorageConfig
		config.LeaderElection = &apiserver.LeaderElection{
			Etcd:          storage.Transport,
			Key:           path.Join("/", storage.Prefix, "leader-election", "reconcilers"),
			LeaseDuration: o.LeaderElectLeaseDuration,
		}
	}
	if !o.Standalone && serverConfig.ClientConfig != nil && serverConfig.Authorization.Authorizer != nil {
		if err := o.applyTunnelPeers(config); err != nil {
			return nil, err
		}
	}
	return config, nil
}

// applyTunnelPeers lets the replicas reach each other's pull tunnels: a
// directory in etcd beside the leader election's key, and fedhub's own
// host identity allowed to ask a peer for a stream.
func (o *Options) applyTunnelPeers(config *apiserver.Config) error {
	address, err := o.peerAddress()
	if err != nil {
		return err
	}
	host, err := kubernetes.NewForConfig(config.GenericConfig.ClientConfig)
	if err != nil {
		return err
	}
	self := peers.NewSelf(host.AuthenticationV1())
	authz, err := union.New(union.NamedAuthorizer{AuthorizerName: peers.AuthorizerName, Authorizer: peers.NewAuthorizer(self)},
		union.NamedAuthorizer{AuthorizerName: "fedhub", Authorizer: config.GenericConfig.Authorization.Authorizer})
	if err != nil {
		return err
	}
	config.GenericConfig.Authorization.Authorizer = authz
	storage := o.RecommendedOptions.Etcd.StorageConfig
	config.TunnelPeers = &apiserver.TunnelPeers{
		Etcd:          storage.Transport,
		Key:           path.Join("/", storage.Prefix, "tunnels"),
		Address:       address,
		LeaseDuration: o.LeaderElectLeaseDuration,
		Self:          self,
	}
	return nil
}
