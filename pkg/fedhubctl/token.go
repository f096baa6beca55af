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
	"time"

	"github.com/spf13/cobra"

	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/pkg/join"
)

func newTokenCommand(o *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create bootstrap tokens for the agents of pull clusters",
	}
	cmd.AddCommand(newTokenCreateCommand(o))
	return cmd
}

func newTokenCreateCommand(o *GlobalOptions) *cobra.Command {
	var ttl time.Duration
	var autoApprove bool
	var output string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a token with which fedhub-agent registers the pull cluster NAME",
		Long: "token create makes, in the host, the ServiceAccount " + agentidentity.AgentNamespace + "/" +
			join.BootstrapAccount("NAME") + " (annotated " + agentidentity.AutoApproveAnnotation + "=true with " +
			"--auto-approve, the annotation removed without it) and a token of it valid for --ttl (10 minutes " +
			"at least). With -o it writes a kubeconfig for fedhub-agent's --hub-kubeconfig: the address and CA " +
			"of the host context in use, the token as its user; otherwise it prints the token.",
		Example: "  " + o.CommandName + " token create member-2 --auto-approve -o member-2-bootstrap.kubeconfig",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			host, err := o.Host()
			if err != nil {
				return err
			}
			options := join.TokenOptions{ClusterName: name, TTL: ttl, AutoApprove: autoApprove, Host: host.Kube, DryRun: o.DryRun, Progress: o.Out}
			if output == "" {
				// stdout carries the token alone, for scripts.
				options.Progress = o.ErrOut
				token, err := join.CreateBootstrapToken(cmd.Context(), options)
				if err != nil {
					return err
				}
				fmt.Fprintln(o.Out, token.Token)
				return nil
			}
			_, err = join.JoinPull(cmd.Context(), join.PullJoinOptions{
				TokenOptions: options, FederationNamespace: o.FederationNamespace,
				HostConfig: host.Config, Federation: host.Fedhub, KubeconfigPath: output,
			})
			return err
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", join.DefaultBootstrapTTL, "How long the token is valid; 10m at least.")
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "Approve the registration the token creates at once, instead of waiting for 'approve NAME'.")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write a bootstrap kubeconfig for fedhub-agent to this file (mode 0600) instead of printing the token.")
	return cmd
}

func newApproveCommand(o *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "approve NAME",
		Short: "Approve the registration of the pull cluster NAME",
		Long: "approve sets spec.approved of the ClusterRegistration NAME: fedhub then creates the " +
			"KubeFedCluster NAME (spec.mode Pull) and lets the cluster's agent obtain its own identity.",
		Example: "  " + o.CommandName + " approve member-2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := o.Host()
			if err != nil {
				return err
			}
			return join.Approve(cmd.Context(), host.Fedhub, o.FederationNamespace, args[0], o.DryRun, o.Out)
		},
	}
}
