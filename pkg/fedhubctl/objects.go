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
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
)

// federatedResource is the client for typeConfig's federated objects in
// namespace; namespace is ignored for cluster-scoped federated types.
func federatedResource(client dynamic.Interface, typeConfig *corev1beta1.FederatedTypeConfig, namespace string) dynamic.ResourceInterface {
	resource := client.Resource(typeConfig.Spec.FederatedType.GroupVersionResource())
	if typeConfig.Spec.FederatedType.Scope != corev1beta1.NamespaceScoped {
		return resource
	}
	return resource.Namespace(namespace)
}

// federatedNamespace is where the federated object of a target object named
// name in namespace lives: a FederatedNamespace lives in the namespace it
// federates, cluster-scoped federated objects nowhere.
func federatedNamespace(typeConfig *corev1beta1.FederatedTypeConfig, namespace, name string) string {
	switch {
	case typeConfig.Spec.FederatedType.Scope != corev1beta1.NamespaceScoped:
		return ""
	case typeconfig.IsNamespace(typeConfig.Spec.TargetType):
		return name
	default:
		return namespace
	}
}

// listFederated lists typeConfig's federated objects in every namespace; a
// type the server does not serve (yet) has none.
func listFederated(ctx context.Context, client dynamic.Interface, typeConfig *corev1beta1.FederatedTypeConfig) ([]unstructured.Unstructured, error) {
	list, err := client.Resource(typeConfig.Spec.FederatedType.GroupVersionResource()).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s objects: %w", typeConfig.Spec.FederatedType.Kind, err)
	}
	return list.Items, nil
}

// objectRef names an object in messages: Kind namespace/name, or Kind name.
func objectRef(kind, namespace, name string) string {
	return kind + " " + namespacedName(namespace, name)
}

func namespacedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// listedObjectsLimit bounds how many objects a message names.
const listedObjectsLimit = 10

// describeObjects names objects as namespace/name, with the finalizers that
// hold those being deleted, and at most listedObjectsLimit of them.
func describeObjects(objects []unstructured.Unstructured) string {
	var names []string
	for i := range objects {
		if i == listedObjectsLimit {
			names = append(names, fmt.Sprintf("and %d more", len(objects)-listedObjectsLimit))
			break
		}
		name := namespacedName(objects[i].GetNamespace(), objects[i].GetName())
		if finalizers := objects[i].GetFinalizers(); len(finalizers) > 0 {
			name += " (finalizers: " + strings.Join(finalizers, ", ") + ")"
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// commandName is how the user invoked fedhubctl, for hints that name a command to run.
func (o *GlobalOptions) commandName() string {
	if o.CommandName == "" {
		return "fedhubctl"
	}
	return o.CommandName
}

// dryRunSuffix marks messages about changes the server only validated.
func (o *GlobalOptions) dryRunSuffix() string {
	if o.DryRun {
		return " (dry run)"
	}
	return ""
}
