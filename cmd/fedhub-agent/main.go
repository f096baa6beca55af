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

// Command fedhub-agent runs beside a pull-mode member cluster: it joins the
// federation with an identity of its own, keeps the cluster's lease and
// applies the cluster's Works to the member (docs/pull.md).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/pkg/agent"
)

func main() {
	os.Exit(cli.Run(newCommand()))
}

func newCommand() *cobra.Command {
	options := agent.NewOptions()
	logOptions := logs.NewOptions()
	cmd := &cobra.Command{
		Use:   "fedhub-agent",
		Short: "Join a member cluster to fedhub in pull mode and apply its Works",
		Long: "fedhub-agent runs beside a member cluster. It registers the cluster with fedhub through the " +
			"host (--hub-kubeconfig, the bootstrap kubeconfig of 'fedhubctl token create'), keeps an identity " +
			"of its own in --state-dir, renews the cluster's lease, and applies the Works fedhub stores for " +
			"the cluster to the member with server-side apply. It exits 0 once the cluster is unjoined.",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := options.Validate(); err != nil {
				return err
			}
			if err := logsapi.ValidateAndApply(logOptions, nil); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			return agent.Run(klog.NewContext(ctx, klog.Background()), options)
		},
	}
	var fss cliflag.NamedFlagSets
	options.AddFlags(fss.FlagSet("agent"))
	logsapi.AddFlags(logOptions, fss.FlagSet("logging"))
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}

// signalContext ends on SIGINT or SIGTERM; a second signal kills at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		<-signals
		os.Exit(1)
	}()
	return ctx, func() {
		signal.Stop(signals)
		cancel()
	}
}
