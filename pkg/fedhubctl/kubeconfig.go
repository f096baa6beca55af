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

package fedhubctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// ClusterProxyPath is the path, below the host's server URL, at which the
// host (through fedhub) serves the API of the member cluster name.
func ClusterProxyPath(federationNamespace, name string) string {
	return "/apis/" + corev1beta1.SchemeGroupVersion.String() + "/namespaces/" + federationNamespace +
		"/kubefedclusters/" + name + "/proxy"
}

func newKubeconfigCommand(o *GlobalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Write a kubeconfig that reaches the member cluster NAME through the host",
		Long: "kubeconfig writes a kubeconfig with one context, NAME, whose server is the proxy of the " +
			"KubeFedCluster NAME on the host (" + ClusterProxyPath("<kubefed-namespace>", "NAME") + " below the " +
			"host's address), with the host's CA, and whose user is the host context's user (its client " +
			"certificate, token or exec plugin, copied; certificate files are embedded). Requests made with it " +
			"are authorized twice: by the host, on kubefedclusters/proxy for NAME, and by the member, which sees " +
			"the hub user prefixed with \"fedhub:\". NAME must be a KubeFedCluster.",
		Example: "  " + o.CommandName + " kubeconfig member-1 -o member-1.kubeconfig\n" +
			"  kubectl --kubeconfig member-1.kubeconfig get pods -A",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := o.Host()
			if err != nil {
				return err
			}
			raw, err := o.rawKubeconfig()
			if err != nil {
				return err
			}
			config, err := memberKubeconfig(cmd.Context(), host.Fedhub, raw, o.HostContext, o.FederationNamespace, args[0])
			if err != nil {
				return err
			}
			if output != "" {
				// WriteToFile creates the file with mode 0600: it holds credentials.
				return clientcmd.WriteToFile(*config, output)
			}
			data, err := clientcmd.Write(*config)
			if err != nil {
				return err
			}
			_, err = o.Out.Write(data)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write the kubeconfig to this file (mode 0600) instead of printing it.")
	return cmd
}

// rawKubeconfig loads the kubeconfig as kubectl does, with relative file
// paths resolved.
func (o *GlobalOptions) rawKubeconfig() (clientcmdapi.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).RawConfig()
	if err != nil {
		return clientcmdapi.Config{}, fmt.Errorf("kubeconfig: %w", err)
	}
	return raw, nil
}

// memberKubeconfig checks that name is a KubeFedCluster and returns a
// kubeconfig whose only context, name, reaches it through the host context's
// proxy URL with that context's user.
func memberKubeconfig(ctx context.Context, fedhub clientset.Interface, raw clientcmdapi.Config, hostContext, federationNamespace, name string) (*clientcmdapi.Config, error) {
	// The server's NotFound, as kubectl reports it.
	if _, err := fedhub.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
		return nil, err
	}
	return proxyKubeconfig(raw, hostContext, federationNamespace, name)
}

// proxyKubeconfig builds the kubeconfig of memberKubeconfig from raw; ""
// for hostContext is raw's current context.
func proxyKubeconfig(raw clientcmdapi.Config, hostContext, federationNamespace, name string) (*clientcmdapi.Config, error) {
	if hostContext == "" {
		hostContext = raw.CurrentContext
	}
	if hostContext == "" {
		return nil, fmt.Errorf("kubeconfig has no current context; name the host's with --host-cluster-context")
	}
	raw = *raw.DeepCopy()
	raw.CurrentContext = hostContext
	// Keeps the host context, its cluster and user alone, and fails when one is missing.
	if err := clientcmdapi.MinifyConfig(&raw); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// Embeds certificate and key files, so the kubeconfig works where it is copied to.
	if err := clientcmdapi.FlattenConfig(&raw); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	entry := raw.Contexts[hostContext]
	hostCluster := raw.Clusters[entry.Cluster]
	user := raw.AuthInfos[entry.AuthInfo]

	cluster := hostCluster.DeepCopy()
	cluster.Server = strings.TrimSuffix(hostCluster.Server, "/") + ClusterProxyPath(federationNamespace, name)
	cluster.LocationOfOrigin = ""
	user = user.DeepCopy()
	user.LocationOfOrigin = ""

	config := clientcmdapi.NewConfig()
	config.Clusters[name] = cluster
	config.AuthInfos[entry.AuthInfo] = user
	config.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: entry.AuthInfo}
	config.CurrentContext = name
	return config, nil
}
