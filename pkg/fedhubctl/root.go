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
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// NewCommand returns the root command. invokedAs is the program's name
// (os.Args[0]); as kubectl-fedhub the usage lines read "kubectl fedhub".
func NewCommand(invokedAs string, out, errOut io.Writer) *cobra.Command {
	use, displayName := "fedhubctl", "fedhubctl"
	if strings.HasPrefix(filepath.Base(invokedAs), "kubectl-") {
		use, displayName = "fedhub", "kubectl fedhub"
	}
	o := &GlobalOptions{Out: out, ErrOut: errOut, CommandName: displayName}
	cmd := &cobra.Command{
		Use:         use,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: displayName},
		Short:       "Join clusters to a fedhub federation and federate types and objects",
		Long: "fedhubctl manages a fedhub federation through its host cluster: it joins and unjoins " +
			"member clusters, enables and disables federated types, federates existing objects and " +
			"controls orphaning deletion; 'kubeconfig' and 'get' reach member clusters through the hub, " +
			"with the host's credentials and each member's RBAC. Everything else is plain kubectl, for example " +
			"'kubectl get kubefedclusters -n kube-federation-system -o wide'.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newJoinCommand(o),
		newUnjoinCommand(o),
		newEnableCommand(o),
		newDisableCommand(o),
		newFederateCommand(o),
		newOrphaningDeletionCommand(o),
		newTokenCommand(o),
		newApproveCommand(o),
		newKubeconfigCommand(o),
		newGetCommand(o),
	)
	return cmd
}
