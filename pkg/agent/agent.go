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

package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/agent/identity"
	"github.com/fedhub/fedhub/pkg/agent/tunnel"
	"github.com/fedhub/fedhub/pkg/agent/work"
	"github.com/fedhub/fedhub/pkg/helm"
)

const (
	// unjoinedFile in the state directory remembers the bootstrap token of a
	// cluster that was unjoined, so that a restarted agent does not join it
	// again with that token.
	unjoinedFile = "unjoined"
	// memberQPS and memberBurst bound the agent's requests to the member. A
	// new object costs two (a read, since an unmanaged object of that name
	// may exist, and the apply); at 50 per second the pull burst of make
	// bench was held at 27 objects/s by the client alone.
	memberQPS   = 200
	memberBurst = 400
)

// Run runs the agent until ctx ends (nil), the cluster is unjoined (nil,
// once the member objects are deleted or orphaned as asked), or the host
// refuses the agent's identity without the agent having seen an unjoin
// (an error; the member is left as it is).
func Run(ctx context.Context, o *Options) error {
	logger := klog.FromContext(ctx).WithValues("cluster", o.ClusterName)
	ctx = klog.NewContext(ctx, logger)
	memberConfig, err := memberConfig(o.MemberKubeconfig)
	if err != nil {
		return fmt.Errorf("the member's configuration: %w", err)
	}
	memberDynamic, err := dynamic.NewForConfig(memberConfig)
	if err != nil {
		return err
	}
	memberDiscovery, err := discovery.NewDiscoveryClientForConfig(memberConfig)
	if err != nil {
		return err
	}
	memberMetadata, err := metadata.NewForConfig(memberConfig)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("the state directory: %w", err)
	}
	if err := refuseUnjoinedBootstrap(o); err != nil {
		return err
	}

	id, err := identity.Obtain(ctx, identity.Options{
		ClusterName: o.ClusterName, Namespace: o.FederationNamespace, HubKubeconfig: o.HubKubeconfig,
		StateDir: o.StateDir, APIEndpoint: memberConfig.Host, Expiration: o.TokenExpiration,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	hub, err := versioned.NewForConfig(id.Config())
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go id.Run(ctx)

	registration := newRegistrationWatch(hub, o.FederationNamespace, o.ClusterName)
	go registration.informer.Run(ctx.Done())

	// The capacity estimate's eyes in the member (docs/scheduling.md): the
	// node watch runs from the start, as room that grows after replicas
	// moved away is what brings them back.
	memberClient, err := kubernetes.NewForConfig(memberConfig)
	if err != nil {
		return err
	}
	pods := work.NewMemberPods(ctx, memberClient, func() { logger.V(2).Info("The member's nodes gained room") })

	leaseEnded := make(chan error, 1)
	l := &lease{
		cluster: o.ClusterName, duration: o.LeaseDuration,
		registrations: hub.AgentV1alpha1().ClusterRegistrations(o.FederationNamespace),
		lister:        registration.lister,
		member:        clusterInfo{discovery: memberDiscovery, metadata: memberMetadata, rest: memberDiscovery.RESTClient()},
		now:           time.Now,
		roomGrewAt:    pods.RoomGrewAt,
	}
	go func() { leaseEnded <- l.run(ctx) }()

	// The tunnel through which fedhub reaches the member's API for hub
	// users (the proxy subresource of KubeFedClusters).
	memberProxy, err := tunnel.NewMemberProxy(memberConfig)
	if err != nil {
		return fmt.Errorf("the member proxy of the tunnel: %w", err)
	}
	go tunnel.Run(ctx, tunnel.Options{Cluster: o.ClusterName, Namespace: o.FederationNamespace, Hub: id.Config(), Handler: memberProxy})

	workCtx, stopWorks := context.WithCancel(ctx)
	defer stopWorks()
	works := work.NewController(workCtx, o.ClusterName, o.FederationNamespace, hub, memberDynamic)
	works.ReportPods(pods)
	releases := work.NewReleaseInstaller(memberConfig, helm.FetcherOptions{AllowLoopback: o.HelmAllowLoopback})
	works.InstallReleases(releases)
	worksDone := make(chan struct{})
	go func() {
		defer close(worksDone)
		works.Run(workCtx, o.Workers)
	}()
	logger.Info("fedhub-agent is running", "version", agentVersion(), "member", memberConfig.Host,
		"leaseDuration", o.LeaseDuration, "workers", o.Workers)

	select {
	case <-ctx.Done():
		logger.Info("Stopping")
		stopWorks()
		<-worksDone
		return nil
	case err := <-leaseEnded:
		stopWorks()
		<-worksDone
		if err != nil && ctx.Err() == nil {
			// The registration's watch may bring the unjoin a moment later.
			select {
			case u := <-registration.ended:
				return finishUnjoin(ctx, o, u, works, memberDynamic, releases)
			case <-time.After(time.Second):
			}
		}
		return err
	case u := <-registration.ended:
		stopWorks()
		<-worksDone
		return finishUnjoin(ctx, o, u, works, memberDynamic, releases)
	}
}

// finishUnjoin carries out an unjoin on the member objects of every Work
// the agent knows, with the member's own credentials.
func finishUnjoin(ctx context.Context, o *Options, u unjoin, works *work.Controller, member dynamic.Interface,
	releases work.ReleaseInstaller) error {
	logger := klog.FromContext(ctx)
	if !u.known {
		return fmt.Errorf("the cluster's registration is gone, and the agent missed its last state: " +
			"it cannot know whether the member's objects were to be deleted or orphaned, and leaves the member as it is")
	}
	action := "deleting"
	if u.orphan {
		action = "orphaning"
	}
	if !works.Synced() {
		logger.Info("Unjoined before the agent had listed its Works; only the Works seen are handled")
	}
	list := works.Works()
	logger.Info("The cluster was unjoined; "+action+" the member objects of its Works", "unjoin", u.mode, "works", len(list))
	handled, errs := work.Sweep(ctx, work.NewUncachedMember(member), list, u.orphan)
	uninstalled, releaseErrs := work.SweepReleases(ctx, releases, list, u.orphan)
	handled, errs = handled+uninstalled, append(errs, releaseErrs...)
	for _, err := range errs {
		logger.Error(err, "Unjoin: a member object could not be "+strings.TrimSuffix(action, "ing")+"ed")
	}
	if err := rememberUnjoined(o); err != nil {
		logger.Error(err, "Recording the unjoin in the state directory")
	}
	logger.Info("Unjoined; exiting", "handled", handled, "failed", len(errs))
	return nil
}

// memberConfig is the member's client configuration: the kubeconfig, else
// the in-cluster configuration.
func memberConfig(kubeconfig string) (*rest.Config, error) {
	var c *rest.Config
	var err error
	if kubeconfig != "" {
		c, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		c, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	c.QPS, c.Burst = memberQPS, memberBurst
	c.UserAgent = "fedhub-agent/" + agentVersion()
	return c, nil
}

// rememberUnjoined drops the revoked identity and records the bootstrap
// token the cluster joined with.
func rememberUnjoined(o *Options) error {
	_ = os.Remove(filepath.Join(o.StateDir, identity.FileName))
	hash, err := bootstrapHash(o.HubKubeconfig)
	if err != nil || hash == "" {
		return err
	}
	return os.WriteFile(filepath.Join(o.StateDir, unjoinedFile), []byte(hash+"\n"), 0o600)
}

// refuseUnjoinedBootstrap refuses to start with the bootstrap token of a
// cluster that was unjoined: a restarted agent would join it again.
func refuseUnjoinedBootstrap(o *Options) error {
	recorded, err := os.ReadFile(filepath.Join(o.StateDir, unjoinedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	hash, err := bootstrapHash(o.HubKubeconfig)
	if err != nil || hash == "" || hash != strings.TrimSpace(string(recorded)) {
		return nil
	}
	return fmt.Errorf("cluster %s was unjoined; its bootstrap token in %s is not used again: "+
		"create a new one (fedhubctl token create %s, or join %s --mode pull) to join again",
		o.ClusterName, o.HubKubeconfig, o.ClusterName, o.ClusterName)
}

// bootstrapHash is the SHA-256 of the bootstrap kubeconfig's token; empty
// without one.
func bootstrapHash(kubeconfig string) (string, error) {
	if kubeconfig == "" {
		return "", nil
	}
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil || c.BearerToken == "" {
		return "", err
	}
	sum := sha256.Sum256([]byte(c.BearerToken))
	return hex.EncodeToString(sum[:]), nil
}
