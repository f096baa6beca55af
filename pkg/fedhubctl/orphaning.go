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
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// orphanAnnotation set to "true" on a federated object makes its deletion
// leave the objects in member clusters in place (KubeFed's semantics).
const orphanAnnotation = "kubefed.io/orphan"

type orphaningOptions struct {
	*GlobalOptions
	namespace string
}

func newOrphaningDeletionCommand(o *GlobalOptions) *cobra.Command {
	g := &orphaningOptions{GlobalOptions: o}
	cmd := &cobra.Command{
		Use:   "orphaning-deletion enable|disable|status TYPE NAME",
		Short: "Keep or remove member objects when a federated object is deleted",
		Long: "orphaning-deletion manages the kubefed.io/orphan annotation of a federated object. When it is " +
			"enabled, deleting the federated object leaves the objects it propagated in the member clusters; " +
			"when it is disabled (the default), they are deleted with it. TYPE names the target type as " +
			"kubectl names types, or the Federated<Kind>.",
		Example: "  " + o.commandName() + " orphaning-deletion enable deployment web -n shop\n" +
			"  " + o.commandName() + " orphaning-deletion status FederatedDeployment web -n shop",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return fmt.Errorf("unknown action %q: use enable, disable or status", args[0])
		},
	}
	cmd.PersistentFlags().StringVarP(&g.namespace, "namespace", "n", "default", "Namespace of the federated object; ignored for cluster-scoped federated types.")
	cmd.AddCommand(
		g.action("enable", "Keep member objects when the federated object is deleted", g.enable),
		g.action("disable", "Delete member objects with the federated object (the default)", g.disable),
		g.action("status", "Print enabled or disabled", g.status),
	)
	return cmd
}

// federatedTarget is one federated object, addressed for requests and messages.
type federatedTarget struct {
	client dynamic.ResourceInterface
	name   string
	ref    string
}

type orphaningAction func(ctx context.Context, target *federatedTarget) error

func (g *orphaningOptions) action(use, short string, act orphaningAction) *cobra.Command {
	return &cobra.Command{
		Use:   use + " TYPE NAME",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := g.resolve(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return act(cmd.Context(), target)
		},
	}
}

func (g *orphaningOptions) resolve(ctx context.Context, typeArg, name string) (*federatedTarget, error) {
	host, err := g.Host()
	if err != nil {
		return nil, err
	}
	typeConfig, err := g.findTypeConfig(ctx, host, typeArg)
	if err != nil {
		return nil, err
	}
	namespace := federatedNamespace(typeConfig, g.namespace, name)
	return &federatedTarget{
		client: federatedResource(host.Dynamic, typeConfig, namespace),
		name:   name,
		ref:    objectRef(typeConfig.Spec.FederatedType.Kind, namespace, name),
	}, nil
}

func (g *orphaningOptions) enable(ctx context.Context, target *federatedTarget) error {
	if err := g.patchOrphan(ctx, target, "true"); err != nil {
		return err
	}
	g.printf("orphaning deletion enabled for %s%s: deleting it leaves its objects in member clusters", target.ref, g.dryRunSuffix())
	return nil
}

func (g *orphaningOptions) disable(ctx context.Context, target *federatedTarget) error {
	if err := g.patchOrphan(ctx, target, nil); err != nil {
		return err
	}
	g.printf("orphaning deletion disabled for %s%s: deleting it deletes its objects in member clusters", target.ref, g.dryRunSuffix())
	return nil
}

func (g *orphaningOptions) status(ctx context.Context, target *federatedTarget) error {
	obj, err := target.client.Get(ctx, target.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if obj.GetAnnotations()[orphanAnnotation] == "true" {
		g.printf("enabled")
	} else {
		g.printf("disabled")
	}
	return nil
}

// patchOrphan sets the annotation to value; nil removes it.
func (g *orphaningOptions) patchOrphan(ctx context.Context, target *federatedTarget, value any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{orphanAnnotation: value}}})
	if err != nil {
		return err
	}
	_, err = target.client.Patch(ctx, target.name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: g.DryRunValue()})
	return err
}
