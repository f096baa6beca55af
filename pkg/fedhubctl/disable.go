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
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

type disableOptions struct {
	*GlobalOptions
	deleteObjects bool
	timeout       time.Duration
}

func newDisableCommand(o *GlobalOptions) *cobra.Command {
	d := &disableOptions{GlobalOptions: o}
	cmd := &cobra.Command{
		Use:   "disable TYPE",
		Short: "Stop federating a type: delete its FederatedTypeConfig",
		Long: "disable deletes the FederatedTypeConfig of TYPE, named by the FederatedTypeConfig's name, " +
			"by a name of the target type as kubectl names types, or by its Federated<Kind>. A type whose " +
			"federated objects still exist is not disabled unless --delete-federated-objects is given: then " +
			"those objects are deleted first, in every namespace, and disable waits until they are gone.",
		Example: "  " + o.commandName() + " disable deployments.apps\n" +
			"  " + o.commandName() + " disable FederatedDeployment --delete-federated-objects",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return d.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().BoolVar(&d.deleteObjects, "delete-federated-objects", false, "Delete the type's federated objects in every namespace before disabling it.")
	cmd.Flags().DurationVar(&d.timeout, "timeout", 2*time.Minute, "How long to wait for the deleted federated objects to be gone.")
	return cmd
}

func (d *disableOptions) run(ctx context.Context, typeArg string) error {
	host, err := d.Host()
	if err != nil {
		return err
	}
	typeConfig, err := d.findTypeConfig(ctx, host, typeArg)
	if err != nil {
		return err
	}
	objects, err := listFederated(ctx, host.Dynamic, typeConfig)
	if err != nil {
		return err
	}
	if len(objects) > 0 && !d.deleteObjects {
		return fmt.Errorf("%d %s object(s) still exist: %s; delete them first, or run '%s disable %s --delete-federated-objects' to delete them all",
			len(objects), typeConfig.Spec.FederatedType.Kind, describeObjects(objects), d.commandName(), typeArg)
	}
	if len(objects) > 0 {
		if err := d.deleteFederated(ctx, host, typeConfig, objects); err != nil {
			return err
		}
	}
	return d.deleteTypeConfig(ctx, host, typeConfig, len(objects) > 0)
}

// deleteFederated deletes objects and waits until none of the type is left.
func (d *disableOptions) deleteFederated(ctx context.Context, host *HostClients, typeConfig *corev1beta1.FederatedTypeConfig, objects []unstructured.Unstructured) error {
	kind := typeConfig.Spec.FederatedType.Kind
	var errs []error
	for i := range objects {
		obj := &objects[i]
		ref := objectRef(kind, obj.GetNamespace(), obj.GetName())
		err := federatedResource(host.Dynamic, typeConfig, obj.GetNamespace()).Delete(ctx, obj.GetName(), metav1.DeleteOptions{DryRun: d.DryRunValue()})
		switch {
		case err == nil:
			d.printf("%s deleted%s", ref, d.dryRunSuffix())
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("deleting %s: %w", ref, err))
		}
	}
	if len(errs) > 0 || d.DryRun {
		return errors.Join(errs...)
	}
	return d.waitForNone(ctx, host, typeConfig)
}

// waitForNone waits until the type has no federated objects: deleted objects
// stay while finalizers, such as the sync controller's, remove them from members.
func (d *disableOptions) waitForNone(ctx context.Context, host *HostClients, typeConfig *corev1beta1.FederatedTypeConfig) error {
	var remaining []unstructured.Unstructured
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, time.Second, d.timeout, true, func(ctx context.Context) (bool, error) {
		remaining, lastErr = listFederated(ctx, host.Dynamic, typeConfig)
		return lastErr == nil && len(remaining) == 0, nil
	})
	if err == nil {
		return nil
	}
	if lastErr != nil {
		return fmt.Errorf("waiting for the %s objects to be deleted: %w", typeConfig.Spec.FederatedType.Kind, lastErr)
	}
	return fmt.Errorf("%s objects were still not deleted after %s: %s", typeConfig.Spec.FederatedType.Kind, d.timeout, describeObjects(remaining))
}

// deleteTypeConfig deletes the FederatedTypeConfig. In a dry run whose
// federated objects were only pretended deleted, the server still refuses
// because they exist; that refusal is what the dry run expects.
func (d *disableOptions) deleteTypeConfig(ctx context.Context, host *HostClients, typeConfig *corev1beta1.FederatedTypeConfig, deletedObjects bool) error {
	name := namespacedName(typeConfig.Namespace, typeConfig.Name)
	err := host.Fedhub.CoreV1beta1().FederatedTypeConfigs(typeConfig.Namespace).Delete(ctx, typeConfig.Name, metav1.DeleteOptions{DryRun: d.DryRunValue()})
	if err != nil && !(apierrors.IsConflict(err) && d.DryRun && deletedObjects) {
		return fmt.Errorf("deleting FederatedTypeConfig %s: %w", name, err)
	}
	d.printf("FederatedTypeConfig %s deleted%s: %s is no longer federated", name, d.dryRunSuffix(), typeConfig.Spec.TargetType.Kind)
	return nil
}
