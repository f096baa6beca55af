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
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/join"
)

// memberProbeTimeout bounds how long unjoin tries to reach the member before
// cleaning up only the host and fedhub.
const memberProbeTimeout = 10 * time.Second

func newUnjoinCommand(o *GlobalOptions) *cobra.Command {
	var clusterContext string
	var ignoreNotFound bool
	cmd := &cobra.Command{
		Use:   "unjoin NAME",
		Short: "Remove a member cluster from the federation",
		Long: "unjoin deletes the KubeFedCluster NAME, its Secret in the host and the federation's " +
			"identity in the member (and the member namespace if join created it). It deletes no " +
			"workload: it lists the federated objects still placed on the cluster and the objects the " +
			"federation created in the member, which stay there. An unreachable member is reported and " +
			"only the host and fedhub are cleaned up. A NAME that is not a KubeFedCluster is an error " +
			"unless --ignore-not-found is given.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if clusterContext == "" {
				clusterContext = name
			}
			host, err := o.Host()
			if err != nil {
				return err
			}
			// Unjoin refuses an unknown name too; asking first spares the
			// member's probe and its "cannot be reached" line before the error.
			_, err = host.Fedhub.CoreV1beta1().KubeFedClusters(o.FederationNamespace).Get(cmd.Context(), name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && !ignoreNotFound {
				return err
			}
			member := o.reachableMember(cmd.Context(), clusterContext)
			report, err := join.Unjoin(cmd.Context(), join.UnjoinOptions{
				ClusterName: name, FederationNamespace: o.FederationNamespace, Member: member,
				Host: host.Kube, Federation: host.Fedhub, FederationDynamic: host.Dynamic, DryRun: o.DryRun, Progress: o.Out,
				IgnoreNotFound: ignoreNotFound,
			})
			if report != nil {
				o.printReport(name, report)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&clusterContext, "cluster-context", "", "Kubeconfig context of the member cluster; by default NAME.")
	cmd.Flags().BoolVar(&ignoreNotFound, "ignore-not-found", false,
		"Treat a NAME that is not a KubeFedCluster as unjoined already: exit 0 and remove what join left of NAME in the host and the member.")
	return cmd
}

// reachableMember returns the member's configuration, or nil (and says why)
// when it cannot be reached.
func (o *GlobalOptions) reachableMember(ctx context.Context, clusterContext string) *rest.Config {
	config, err := o.RESTConfig(clusterContext)
	if err == nil {
		probe := rest.CopyConfig(config)
		probe.Timeout = memberProbeTimeout
		var client kubernetes.Interface
		if client, err = kubernetes.NewForConfig(probe); err == nil {
			_, err = client.Discovery().ServerVersion()
		}
	}
	if err != nil {
		o.printf("the member cannot be reached (%v): its objects are neither removed nor listed", err)
		return nil
	}
	return config
}

func (o *GlobalOptions) printReport(name string, report *join.Report) {
	if len(report.StillPlaced) > 0 {
		o.printf("federated objects whose placement still selects %s (nothing is propagated there any more):", name)
		for _, line := range report.StillPlaced {
			o.printf("  %s", line)
		}
	}
	if len(report.LeftInMember) > 0 {
		o.printf("left in %s (created by the federation, not deleted):", name)
		for _, line := range report.LeftInMember {
			o.printf("  %s", line)
		}
	}
	if len(report.StillPlaced) == 0 && len(report.LeftInMember) == 0 {
		o.printf("nothing of the federation is left on %s", name)
	}
}
