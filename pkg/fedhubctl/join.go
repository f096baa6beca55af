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
	"github.com/spf13/cobra"

	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/pkg/member"
)

func newJoinCommand(o *GlobalOptions) *cobra.Command {
	var clusterContext, secretName string
	var clusterAdmin, errorOnExisting bool
	cmd := &cobra.Command{
		Use:   "join NAME --cluster-context CONTEXT",
		Short: "Register a member cluster with the federation",
		Long: "join creates, in the member, the namespace, a ServiceAccount with its token Secret and a " +
			"ClusterRole with the least rights the federation needs (managing the enabled federated types, " +
			"reading nodes, namespaces and health); in the host, the Secret holding that token; and in " +
			"fedhub, the KubeFedCluster NAME. Running it again updates what exists. A join that fails " +
			"part-way removes what it created. The Secret records the member's endpoint in its " +
			"annotation " + member.APIEndpointAnnotation + ", and fedhub sends the token to no other endpoint: " +
			"after moving the member, join it again.",
		Example: "  " + o.CommandName + " join cluster2 --cluster-context cluster2 --host-cluster-context cluster1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if clusterContext == "" {
				clusterContext = name
			}
			member, err := o.RESTConfig(clusterContext)
			if err != nil {
				return err
			}
			host, err := o.Host()
			if err != nil {
				return err
			}
			if err := join.Join(cmd.Context(), join.Options{
				ClusterName: name, FederationNamespace: o.FederationNamespace, SecretName: secretName,
				Member: member, Host: host.Kube, Federation: host.Fedhub,
				ClusterAdmin: clusterAdmin, ErrorOnExisting: errorOnExisting, DryRun: o.DryRun, Progress: o.Out,
			}); err != nil {
				return err
			}
			o.printf("cluster %s joined; 'kubectl get kubefedclusters -n %s' shows its health", name, o.FederationNamespace)
			return nil
		},
	}
	cmd.Flags().StringVar(&clusterContext, "cluster-context", "", "Kubeconfig context of the member cluster; by default NAME.")
	cmd.Flags().StringVar(&secretName, "secret-name", "", "Name of the host Secret that holds the member's credentials; by default NAME.")
	cmd.Flags().BoolVar(&clusterAdmin, "cluster-admin", false, "Bind the federation's identity in the member to cluster-admin instead of the least rights it needs.")
	cmd.Flags().BoolVar(&errorOnExisting, "error-on-existing", false, "Fail when an object join would create exists already, instead of updating it.")
	return cmd
}
