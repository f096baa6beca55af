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
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/join"
)

// memberProbeTimeout bounds how long unjoin tries to reach the member before
// cleaning up only the host and fedhub.
const memberProbeTimeout = 10 * time.Second

func newUnjoinCommand(o *GlobalOptions) *cobra.Command {
	var clusterContext string
	var ignoreNotFound, orphan bool
	cmd := &cobra.Command{
		Use:   "unjoin NAME",
		Short: "Remove a member cluster from the federation",
		Long: "unjoin deletes the KubeFedCluster NAME, its Secret in the host and the federation's " +
			"identity in the member (and the member namespace if join created it). It deletes no " +
			"workload: it lists the federated objects still placed on the cluster and the objects the " +
			"federation created in the member, which stay there. An unreachable member is reported and " +
			"only the host and fedhub are cleaned up. A NAME that is not a KubeFedCluster is an error " +
			"unless --ignore-not-found is given.\n\n" +
			"A pull cluster (spec.mode Pull, or registered and not approved yet) is never reached: unjoin " +
			"annotates its ClusterRegistration with what the agent is to do, deletes it, deletes the agent's " +
			"and the bootstrap ServiceAccounts in the host (their tokens are refused at once) and the " +
			"KubeFedCluster. The agent then deletes the objects the federation created in the member, or " +
			"with --orphan leaves them without the kubefed.io/managed label, and exits.",
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
			pull, err := join.IsPullCluster(cmd.Context(), host.Fedhub, o.FederationNamespace, name)
			switch {
			case apierrors.IsNotFound(err) && !ignoreNotFound:
				return err
			case err != nil && !apierrors.IsNotFound(err):
				return err
			case pull:
				if cmd.Flags().Changed("cluster-context") {
					return fmt.Errorf("%s is a pull cluster: unjoin does not reach it, its agent cleans up; --cluster-context is for push clusters", name)
				}
				return o.unjoinPull(cmd.Context(), host, name, orphan, ignoreNotFound)
			case orphan:
				return fmt.Errorf("--orphan is for pull clusters; unjoining a push cluster deletes no workload anyway")
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
	cmd.Flags().BoolVar(&orphan, "orphan", false, "For a pull cluster: have its agent leave the objects the federation created in the member (unlabelled) instead of deleting them.")
	return cmd
}

// unjoinPull removes a pull cluster through its registration; the member is not reached.
func (o *GlobalOptions) unjoinPull(ctx context.Context, host *HostClients, name string, orphan, ignoreNotFound bool) error {
	report, err := join.UnjoinPull(ctx, join.PullUnjoinOptions{Orphan: orphan, UnjoinOptions: join.UnjoinOptions{
		ClusterName: name, FederationNamespace: o.FederationNamespace, Host: host.Kube,
		Federation: host.Fedhub, FederationDynamic: host.Dynamic, DryRun: o.DryRun, Progress: o.Out,
		IgnoreNotFound: ignoreNotFound,
	}})
	if report == nil {
		return err
	}
	if len(report.StillPlaced) > 0 {
		o.printf("federated objects whose placement still selects %s (nothing is propagated there any more):", name)
		for _, line := range report.StillPlaced {
			o.printf("  %s", line)
		}
	}
	if orphan {
		o.printf("the agent of %s leaves the objects the federation created there, without the %s label, and exits", name, join.ManagedLabel)
	} else {
		o.printf("the agent of %s deletes the objects the federation created there and exits", name)
	}
	return err
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
