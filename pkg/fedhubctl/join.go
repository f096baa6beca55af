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
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/pkg/member"
)

// Join modes: fedhub dials the member (push), or the member's agent connects out (pull).
const (
	modePush = "push"
	modePull = "pull"
)

func newJoinCommand(o *GlobalOptions) *cobra.Command {
	var clusterContext, secretName, mode, bootstrapKubeconfig, agentManifests, agentImage string
	var clusterAdmin, errorOnExisting, autoApprove bool
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "join NAME [--cluster-context CONTEXT | --mode pull]",
		Short: "Register a member cluster with the federation",
		Long: "join creates, in the member, the namespace, a ServiceAccount with its token Secret and a " +
			"ClusterRole with the least rights the federation needs (managing the enabled federated types, " +
			"reading nodes, namespaces and health); in the host, the Secret holding that token; and in " +
			"fedhub, the KubeFedCluster NAME. Running it again updates what exists. A join that fails " +
			"part-way removes what it created. The Secret records the member's endpoint in its " +
			"annotation " + member.APIEndpointAnnotation + ", and fedhub sends the token to no other endpoint: " +
			"after moving the member, join it again.\n\n" +
			"With --mode pull nothing in the member is touched and fedhub holds no credential for it: join " +
			"creates a bootstrap token (as 'token create' does), writes it as a kubeconfig for fedhub-agent " +
			"and prints the fedhub-agent command to run beside the member. The agent registers the cluster; " +
			"once the registration is approved (--auto-approve, or 'approve NAME') fedhub creates the " +
			"KubeFedCluster NAME with spec.mode Pull. With --agent-manifests FILE it also writes the objects " +
			"that run the agent in the member as a Deployment (to apply there with kubectl apply -f FILE): " +
			"its namespace, ServiceAccount and ClusterRole with the least rights propagation needs for the " +
			"types enabled now, a Secret with the bootstrap kubeconfig and a PersistentVolumeClaim for its " +
			"identity.",
		Example: "  " + o.CommandName + " join cluster2 --cluster-context cluster2 --host-cluster-context cluster1\n" +
			"  " + o.CommandName + " join cluster3 --mode pull --auto-approve\n" +
			"  " + o.CommandName + " join cluster4 --mode pull --auto-approve --agent-manifests cluster4-agent.yaml \\\n" +
			"      --agent-image registry.example.com/fedhub-agent:v1\n" +
			"  kubectl --context cluster4 apply -f cluster4-agent.yaml",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			switch mode {
			case modePull:
				for _, flag := range []string{"cluster-context", "secret-name", "cluster-admin", "error-on-existing"} {
					if cmd.Flags().Changed(flag) {
						return fmt.Errorf("--%s is for --mode push: a pull cluster's credentials stay with its agent", flag)
					}
				}
				if cmd.Flags().Changed("agent-image") && agentManifests == "" {
					return fmt.Errorf("--agent-image is for --agent-manifests")
				}
				return o.joinPull(cmd, pullJoin{name: name, kubeconfig: bootstrapKubeconfig, autoApprove: autoApprove, ttl: ttl,
					agentManifests: agentManifests, agentImage: agentImage})
			case modePush:
				for _, flag := range []string{"bootstrap-kubeconfig", "auto-approve", "ttl", "agent-manifests", "agent-image"} {
					if cmd.Flags().Changed(flag) {
						return fmt.Errorf("--%s is for --mode pull", flag)
					}
				}
			default:
				return fmt.Errorf("--mode %q: want push or pull", mode)
			}
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
	cmd.Flags().StringVar(&mode, "mode", modePush, "push: fedhub reaches the member with credentials join creates; pull: the member's fedhub-agent connects out to fedhub.")
	cmd.Flags().StringVar(&bootstrapKubeconfig, "bootstrap-kubeconfig", "", "With --mode pull: where the agent's bootstrap kubeconfig is written; by default NAME-bootstrap.kubeconfig.")
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "With --mode pull: approve the cluster's registration at once.")
	cmd.Flags().DurationVar(&ttl, "ttl", join.DefaultBootstrapTTL, "With --mode pull: how long the bootstrap token is valid (10m at least); the agent must register within it.")
	cmd.Flags().StringVar(&agentManifests, "agent-manifests", "", "With --mode pull: also write to this file (mode 0600: it holds the bootstrap token) the manifests that run fedhub-agent in the member as a Deployment, to apply there with kubectl apply -f.")
	cmd.Flags().StringVar(&agentImage, "agent-image", join.DefaultAgentImage, "With --agent-manifests: the fedhub-agent image (the default is a placeholder: this project publishes no image).")
	return cmd
}

// pullJoin is what join --mode pull was asked for.
type pullJoin struct {
	name, kubeconfig           string
	autoApprove                bool
	ttl                        time.Duration
	agentManifests, agentImage string
}

// joinPull writes the bootstrap kubeconfig of a pull cluster's agent and
// prints how to run the agent.
func (o *GlobalOptions) joinPull(cmd *cobra.Command, p pullJoin) error {
	name, kubeconfig := p.name, p.kubeconfig
	if kubeconfig == "" {
		kubeconfig = name + "-bootstrap.kubeconfig"
	}
	if absolute, err := filepath.Abs(kubeconfig); err == nil {
		kubeconfig = absolute
	}
	manifests := p.agentManifests
	if manifests != "" {
		if absolute, err := filepath.Abs(manifests); err == nil {
			manifests = absolute
		}
	}
	host, err := o.Host()
	if err != nil {
		return err
	}
	_, err = join.JoinPull(cmd.Context(), join.PullJoinOptions{
		TokenOptions: join.TokenOptions{ClusterName: name, TTL: p.ttl, AutoApprove: p.autoApprove,
			Host: host.Kube, DryRun: o.DryRun, Progress: o.Out},
		FederationNamespace: o.FederationNamespace, HostConfig: host.Config, Federation: host.Fedhub,
		KubeconfigPath: kubeconfig, AgentManifestsPath: manifests, AgentImage: p.agentImage,
	})
	if err != nil {
		return err
	}
	if manifests != "" {
		o.printf("apply in %s, as its administrator (the agent's pod must reach the host at %s):", name, host.Config.Host)
		o.printf("  kubectl --context %s apply -f %s", name, manifests)
	} else {
		o.printf("run beside %s, with a kubeconfig of %s's administrator:", name, name)
		o.printf("  %s", strings.Join(AgentCommand(name, kubeconfig, "MEMBER.kubeconfig", "/var/lib/fedhub-agent/"+name, o.FederationNamespace), " "))
	}
	if !p.autoApprove {
		o.printf("then approve its registration: %s approve %s", o.CommandName, name)
	}
	o.printf("'kubectl get kubefedclusters -n %s' shows %s once it is approved and its agent reports", o.FederationNamespace, name)
	return nil
}

// AgentCommand is the fedhub-agent command line of a pull cluster.
func AgentCommand(name, hubKubeconfig, memberKubeconfig, stateDir, federationNamespace string) []string {
	args := []string{"fedhub-agent", "--cluster-name", name, "--hub-kubeconfig", hubKubeconfig,
		"--member-kubeconfig", memberKubeconfig, "--state-dir", stateDir}
	if federationNamespace != "" && federationNamespace != join.DefaultFederationNamespace {
		args = append(args, "--federation-namespace", federationNamespace)
	}
	return args
}
