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

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

func newEnableCommand(o *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "enable TYPE",
		Short: "Federate a type: create its FederatedTypeConfig",
		Long: "enable creates the FederatedTypeConfig that makes TYPE federated, so that its Federated<Kind> " +
			"is served. TYPE is named as kubectl names types (plural, singular, short name or kind, optionally " +
			"qualified by group or version and group) and may be a built-in type or a CRD that the host or any " +
			"member cluster serves; the version is the one that cluster prefers. Enabling a type that is " +
			"enabled already succeeds.",
		Example: "  " + o.commandName() + " enable deployments.apps\n" +
			"  " + o.commandName() + " enable deploy\n" +
			"  " + o.commandName() + " enable widgets.example.com",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.enable(cmd.Context(), args[0])
		},
	}
}

func (o *GlobalOptions) enable(ctx context.Context, arg string) error {
	host, err := o.Host()
	if err != nil {
		return err
	}
	served, err := o.resolveServedType(ctx, host, arg)
	if err != nil {
		return err
	}
	if err := checkFederable(served.mapping.Resource, served.resource.Verbs); err != nil {
		return err
	}
	typeConfig := typeconfig.ForTarget(o.FederationNamespace, targetResource(served.mapping))
	typeConfigs := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(o.FederationNamespace)
	_, err = typeConfigs.Create(ctx, typeConfig, metav1.CreateOptions{DryRun: o.DryRunValue()})
	if apierrors.IsAlreadyExists(err) {
		return o.alreadyEnabled(ctx, host, typeConfig)
	}
	if err != nil {
		return fmt.Errorf("creating FederatedTypeConfig %s: %w", namespacedName(typeConfig.Namespace, typeConfig.Name), err)
	}
	target, federated := typeConfig.Spec.TargetType, typeConfig.Spec.FederatedType
	o.printf("FederatedTypeConfig %s created%s: %s (%s, served by %s) is federated as %s",
		namespacedName(typeConfig.Namespace, typeConfig.Name), o.dryRunSuffix(),
		target.Kind, target.GroupVersionResource().GroupVersion(), served.servedBy, describeFederated(federated))
	// A member's federation identity holds rights for the types enabled when
	// it was joined; joining again is how it gets rights for this one.
	o.printf("members joined before get the rights to manage %s when joined again: %s join NAME", target.PluralName, o.commandName())
	return nil
}

// alreadyEnabled accepts an existing FederatedTypeConfig of the same target
// type, whatever its version, and refuses one that federates another type
// under the same name.
func (o *GlobalOptions) alreadyEnabled(ctx context.Context, host *HostClients, want *corev1beta1.FederatedTypeConfig) error {
	name := namespacedName(want.Namespace, want.Name)
	existing, err := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("FederatedTypeConfig %s exists but cannot be read: %w", name, err)
	}
	if !sameTarget(existing.Spec.TargetType, want.Spec.TargetType) {
		return fmt.Errorf("FederatedTypeConfig %s exists for another target type, %s, not %s",
			name, describeTarget(existing.Spec.TargetType), describeTarget(want.Spec.TargetType))
	}
	o.printf("FederatedTypeConfig %s already exists: %s is federated as %s",
		name, describeTarget(existing.Spec.TargetType), describeFederated(existing.Spec.FederatedType))
	return nil
}

// sameTarget compares what identifies a type; the version may differ.
func sameTarget(a, b corev1beta1.APIResource) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.PluralName == b.PluralName
}

func describeTarget(target corev1beta1.APIResource) string {
	return fmt.Sprintf("%s (%s)", target.Kind, target.GroupVersionResource().GroupVersion())
}

func describeFederated(federated corev1beta1.APIResource) string {
	return fmt.Sprintf("%s (%s)", federated.Kind, federated.GroupVersionResource().GroupResource())
}
