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
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

type federateOptions struct {
	*GlobalOptions
	namespace string
	contents  bool
	output    string
}

func newFederateCommand(o *GlobalOptions) *cobra.Command {
	f := &federateOptions{GlobalOptions: o}
	cmd := &cobra.Command{
		Use:   "federate TYPE NAME",
		Short: "Federate an existing host object: create its Federated<Kind>",
		Long: "federate reads an object from the host and creates the federated object that places it in " +
			"every member cluster. Its template is the object without status, identity and the fields each " +
			"member allocates itself (a Service's cluster IPs and node ports, a ServiceAccount's token Secrets). " +
			"The type must be enabled ('enable TYPE'). With --contents, a namespace is federated together with " +
			"every object of every enabled namespaced type in it, except those Kubernetes creates in each " +
			"cluster and those that have an owner.",
		Example: "  " + o.commandName() + " federate deployment web -n shop\n" +
			"  " + o.commandName() + " federate namespace shop --contents\n" +
			"  " + o.commandName() + " federate service web -n shop -o yaml > federated-web.yaml",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "Namespace of the object; ignored for cluster-scoped types.")
	cmd.Flags().BoolVar(&f.contents, "contents", false, "With a namespace: also federate every object of every enabled namespaced type in it.")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "Print the federated objects as yaml or json instead of creating them.")
	return cmd
}

// federatedPair is a federated object with the FederatedTypeConfig that serves it.
type federatedPair struct {
	typeConfig *corev1beta1.FederatedTypeConfig
	object     *unstructured.Unstructured
}

func (f *federateOptions) run(ctx context.Context, typeArg, name string) error {
	if f.output != "" && f.output != "yaml" && f.output != "json" {
		return fmt.Errorf("unsupported output format %q: use yaml or json", f.output)
	}
	host, err := f.Host()
	if err != nil {
		return err
	}
	mapping, err := f.resolveHostType(ctx, host, typeArg)
	if err != nil {
		return err
	}
	typeConfigs, err := f.listTypeConfigs(ctx, host)
	if err != nil {
		return err
	}
	typeConfig, err := enabledTypeConfig(mapping, typeConfigs, f.commandName(), typeArg)
	if err != nil {
		return err
	}
	if f.contents && !typeconfig.IsNamespace(typeConfig.Spec.TargetType) {
		return fmt.Errorf("--contents is only valid with namespaces, not %s", typeConfig.Spec.TargetType.Kind)
	}
	pairs, err := f.federatedObjects(ctx, host, typeConfig, typeConfigs, name)
	if err != nil {
		return err
	}
	if f.output != "" {
		return printObjects(f.Out, f.output, pairs)
	}
	return f.createAll(ctx, host, pairs)
}

// enabledTypeConfig returns the FederatedTypeConfig that federates the mapped type.
func enabledTypeConfig(mapping *meta.RESTMapping, typeConfigs []corev1beta1.FederatedTypeConfig, tool, typeArg string) (*corev1beta1.FederatedTypeConfig, error) {
	gk := mapping.GroupVersionKind.GroupKind()
	if fedhubGroups[gk.Group] {
		return nil, fmt.Errorf("%s belongs to fedhub's own API and cannot be federated", gk)
	}
	for i := range typeConfigs {
		target := typeConfigs[i].Spec.TargetType
		if target.Group == gk.Group && target.Kind == gk.Kind {
			return &typeConfigs[i], nil
		}
	}
	return nil, fmt.Errorf("type %s is not enabled for federation; run '%s enable %s'", typeArg, tool, typeArg)
}

// federatedObjects builds the federated object of the named object and, with
// --contents, those of the namespace's contents. Objects are read in the
// FederatedTypeConfig's target version, which the templates are checked
// against, not necessarily the version the host prefers.
func (f *federateOptions) federatedObjects(ctx context.Context, host *HostClients,
	typeConfig *corev1beta1.FederatedTypeConfig, typeConfigs []corev1beta1.FederatedTypeConfig, name string) ([]federatedPair, error) {
	target := typeConfig.Spec.TargetType
	resource := host.Dynamic.Resource(target.GroupVersionResource())
	var obj *unstructured.Unstructured
	var err error
	if target.Scope == corev1beta1.NamespaceScoped {
		obj, err = resource.Namespace(f.namespace).Get(ctx, name, metav1.GetOptions{})
	} else {
		obj, err = resource.Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	pairs := []federatedPair{{typeConfig, federatedObject(typeConfig, obj)}}
	if !f.contents {
		return pairs, nil
	}
	contents, err := namespaceContents(ctx, host, name, typeConfigs)
	return append(pairs, contents...), err
}

// namespaceContents federates the objects in namespace of every enabled
// namespaced type the host serves.
func namespaceContents(ctx context.Context, host *HostClients, namespace string, typeConfigs []corev1beta1.FederatedTypeConfig) ([]federatedPair, error) {
	var pairs []federatedPair
	for i := range typeConfigs {
		typeConfig := &typeConfigs[i]
		target := typeConfig.Spec.TargetType
		if target.Scope != corev1beta1.NamespaceScoped || fedhubGroups[target.Group] {
			continue
		}
		list, err := host.Dynamic.Resource(target.GroupVersionResource()).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue // a type only members serve has no objects in the host
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", target.GroupVersionResource().GroupResource(), namespace, err)
		}
		for j := range list.Items {
			if contentsSkipReason(target, &list.Items[j]) == "" {
				pairs = append(pairs, federatedPair{typeConfig, federatedObject(typeConfig, &list.Items[j])})
			}
		}
	}
	return pairs, nil
}

// createAll creates every federated object, going on past failures so that one
// existing object does not hold back the others.
func (f *federateOptions) createAll(ctx context.Context, host *HostClients, pairs []federatedPair) error {
	var errs []error
	for _, pair := range pairs {
		ref := objectRef(pair.object.GetKind(), pair.object.GetNamespace(), pair.object.GetName())
		client := federatedResource(host.Dynamic, pair.typeConfig, pair.object.GetNamespace())
		_, err := client.Create(ctx, pair.object, metav1.CreateOptions{DryRun: f.DryRunValue()})
		switch {
		case apierrors.IsAlreadyExists(err):
			errs = append(errs, fmt.Errorf("%s already exists", ref))
		case err != nil:
			errs = append(errs, fmt.Errorf("creating %s: %w", ref, err))
		default:
			f.printf("%s created%s", ref, f.dryRunSuffix())
		}
	}
	return errors.Join(errs...)
}

// printObjects writes the federated objects as YAML documents or as JSON: one
// object alone, several as a v1 List, as kubectl prints them.
func printObjects(out io.Writer, format string, pairs []federatedPair) error {
	if format == "json" {
		return printJSON(out, pairs)
	}
	for i, pair := range pairs {
		data, err := yaml.Marshal(pair.object.Object)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(out, "---")
		}
		if _, err := out.Write(data); err != nil {
			return err
		}
	}
	return nil
}

func printJSON(out io.Writer, pairs []federatedPair) error {
	var value any
	if len(pairs) == 1 {
		value = pairs[0].object.Object
	} else {
		items := make([]any, 0, len(pairs))
		for _, pair := range pairs {
			items = append(items, pair.object.Object)
		}
		value = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	}
	data, err := json.MarshalIndent(value, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(data))
	return err
}
