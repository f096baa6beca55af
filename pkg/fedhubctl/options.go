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

// Package fedhubctl is the command line that joins member clusters, enables
// federated types and federates existing objects. It runs as fedhubctl or, when
// installed as kubectl-fedhub, as the kubectl plugin "kubectl fedhub".
package fedhubctl

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/join"
)

// GlobalOptions are the flags every subcommand shares.
type GlobalOptions struct {
	// Kubeconfig is the kubeconfig file; empty follows kubectl's rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string
	// HostContext is the kubeconfig context of the host cluster; empty is the current context.
	HostContext string
	// FederationNamespace holds KubeFedClusters, their Secrets and FederatedTypeConfigs.
	FederationNamespace string
	// DryRun sends every write as a server-side dry run: validated, never persisted.
	DryRun bool

	// CommandName is how the user invoked us: fedhubctl or kubectl fedhub; examples use it.
	CommandName string

	Out, ErrOut io.Writer
}

// AddFlags registers the global flags.
func (o *GlobalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to the kubeconfig file; by default kubectl's ($KUBECONFIG or ~/.kube/config).")
	fs.StringVar(&o.HostContext, "host-cluster-context", o.HostContext, "Kubeconfig context of the host cluster that fedhub is registered with; by default the current context.")
	fs.StringVar(&o.FederationNamespace, "kubefed-namespace", join.DefaultFederationNamespace, "Namespace of the federation's control-plane objects (KubeFedClusters, their Secrets, FederatedTypeConfigs).")
	fs.BoolVar(&o.DryRun, "dry-run", o.DryRun, "Send every change as a server-side dry run: print what would happen, change nothing.")
}

// RESTConfig returns the client configuration of a kubeconfig context; "" is the current context.
func (o *GlobalOptions) RESTConfig(context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if context == "" {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		return nil, fmt.Errorf("kubeconfig context %q: %w", context, err)
	}
	return config, nil
}

// HostClients reach the host cluster and, through its aggregator, fedhub.
type HostClients struct {
	Config    *rest.Config
	Kube      kubernetes.Interface
	Fedhub    clientset.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
}

// Host returns clients for the host context.
func (o *GlobalOptions) Host() (*HostClients, error) {
	config, err := o.RESTConfig(o.HostContext)
	if err != nil {
		return nil, err
	}
	c := &HostClients{Config: config}
	if c.Kube, err = kubernetes.NewForConfig(config); err != nil {
		return nil, err
	}
	if c.Fedhub, err = clientset.NewForConfig(config); err != nil {
		return nil, err
	}
	if c.Dynamic, err = dynamic.NewForConfig(config); err != nil {
		return nil, err
	}
	c.Discovery = c.Kube.Discovery()
	return c, nil
}

// DryRunValue is what goes into the DryRun field of create, update, patch and delete options.
func (o *GlobalOptions) DryRunValue() []string {
	if o.DryRun {
		return []string{"All"}
	}
	return nil
}

// printf writes one line of progress to Out.
func (o *GlobalOptions) printf(format string, args ...any) {
	fmt.Fprintf(o.Out, format+"\n", args...)
}
