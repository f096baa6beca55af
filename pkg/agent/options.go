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

// Package agent is fedhub-agent: it runs beside a pull-mode member, obtains
// an identity of its own on the host (package identity), keeps the cluster's
// lease in its ClusterRegistration, applies the cluster's Works to the
// member (package work), and carries out an unjoin (docs/pull.md).
package agent

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// Version is the agent's version as ClusterRegistration.status.agentVersion
// reports it; set with -ldflags "-X github.com/fedhub/fedhub/pkg/agent.Version=v1.2.3",
// else the module version or VCS revision the binary was built from.
var Version = ""

// minTokenExpiration is the shortest token lifetime the host grants.
const minTokenExpiration = 10 * time.Minute

// Options are fedhub-agent's flags.
type Options struct {
	ClusterName         string
	HubKubeconfig       string
	MemberKubeconfig    string
	StateDir            string
	FederationNamespace string
	LeaseDuration       time.Duration
	TokenExpiration     time.Duration
	Workers             int
	// HelmAllowLoopback lets Helm charts be fetched from loopback addresses.
	HelmAllowLoopback bool
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		FederationNamespace: corev1beta1.DefaultFederationNamespace,
		LeaseDuration:       40 * time.Second,
		TokenExpiration:     time.Hour,
		Workers:             8,
	}
}

// AddFlags adds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, "name of this member in the federation (its KubeFedCluster and ClusterRegistration); required")
	fs.StringVar(&o.HubKubeconfig, "hub-kubeconfig", o.HubKubeconfig, "kubeconfig of the host cluster with the bootstrap token (fedhubctl token create / join --mode pull); fedhub is reached through the host. Needed until the agent holds an identity in --state-dir")
	fs.StringVar(&o.MemberKubeconfig, "member-kubeconfig", o.MemberKubeconfig, "kubeconfig of the member cluster; the in-cluster configuration when empty")
	fs.StringVar(&o.StateDir, "state-dir", o.StateDir, "directory where the agent keeps its identity (identity.kubeconfig, mode 0600), so a restart reuses it after the bootstrap token expired; required")
	fs.StringVar(&o.FederationNamespace, "federation-namespace", o.FederationNamespace, "namespace of the ClusterRegistrations and Works")
	fs.DurationVar(&o.LeaseDuration, "lease-duration", o.LeaseDuration, "how long the cluster counts as reachable after a lease renewal; the agent renews every quarter of it")
	fs.DurationVar(&o.TokenExpiration, "token-expiration", o.TokenExpiration, "lifetime to ask for the agent's tokens (at least 10m); each is renewed after 80% of it")
	fs.IntVar(&o.Workers, "workers", o.Workers, "Works reconciled in parallel")
	fs.BoolVar(&o.HelmAllowLoopback, "helm-allow-loopback-repositories", o.HelmAllowLoopback, "fetch Helm charts from repositories on loopback addresses (tests, local development); link-local addresses are always refused")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.ClusterName == "" {
		errs = append(errs, fmt.Errorf("--cluster-name is required"))
	} else if msgs := validation.IsDNS1123Subdomain(o.ClusterName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-name %q: %s", o.ClusterName, msgs[0]))
	}
	if o.StateDir == "" {
		errs = append(errs, fmt.Errorf("--state-dir is required"))
	}
	if o.FederationNamespace == "" {
		errs = append(errs, fmt.Errorf("--federation-namespace must not be empty"))
	}
	if o.LeaseDuration < 4*time.Second {
		errs = append(errs, fmt.Errorf("--lease-duration must be at least 4s"))
	}
	if o.TokenExpiration < minTokenExpiration {
		errs = append(errs, fmt.Errorf("--token-expiration must be at least %v", minTokenExpiration))
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("--workers must be at least 1"))
	}
	return errors.Join(errs...)
}

// agentVersion is Version, else what the build recorded.
func agentVersion() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
