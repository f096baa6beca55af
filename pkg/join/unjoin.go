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

package join

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/placement"
)

// ManagedLabel marks the objects the federation created in members.
const ManagedLabel = typesv1beta1.ManagedLabel

// UnjoinOptions say which member to remove from which federation.
type UnjoinOptions struct {
	ClusterName         string
	FederationNamespace string
	// Member reaches the member as an administrator; nil when it cannot be
	// reached: then only the host and fedhub are cleaned up.
	Member *rest.Config
	Host   kubernetes.Interface
	// Federation and FederationDynamic reach fedhub (the latter for federated objects).
	Federation        clientset.Interface
	FederationDynamic dynamic.Interface
	DryRun            bool
	Progress          io.Writer
	// IgnoreNotFound makes a name that is not a KubeFedCluster no error: what
	// join left of that name in the host and the member is still removed
	// (after an unjoin that failed part-way, say). Without it such a name is
	// the server's NotFound, as with kubectl delete, and nothing is touched:
	// a mistyped name must not delete a host Secret that happens to match it.
	IgnoreNotFound bool
}

// Report is what an unjoin removed and what it knowingly left in place.
type Report struct {
	Removed []string
	// StillPlaced are federated objects whose placement still names or selects the cluster.
	StillPlaced []string
	// LeftInMember are objects the federation created in the member; unjoin does not delete workloads.
	LeftInMember []string
}

// Unjoin removes what Join created: the KubeFedCluster, its Secret in the
// host and the federation's identity in the member. It deletes no workload:
// it reports the federated objects still placed on the cluster and the
// objects the federation created in the member, which stay there.
func Unjoin(ctx context.Context, o UnjoinOptions) (*Report, error) {
	if o.FederationNamespace == "" {
		o.FederationNamespace = DefaultFederationNamespace
	}
	j := &journal{progress: o.Progress, dryRun: o.DryRun}
	report := &Report{}
	cluster, err := o.Federation.CoreV1beta1().KubeFedClusters(o.FederationNamespace).Get(ctx, o.ClusterName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && !o.IgnoreNotFound:
		// The server's own Status, so the CLI says what kubectl delete says.
		return nil, err
	case apierrors.IsNotFound(err):
		j.printf("fedhub: KubeFedCluster %s/%s does not exist", o.FederationNamespace, o.ClusterName)
		cluster = &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: o.ClusterName, Namespace: o.FederationNamespace},
			Spec: corev1beta1.KubeFedClusterSpec{SecretRef: corev1beta1.LocalSecretReference{Name: o.ClusterName}}}
	case err != nil:
		return nil, fmt.Errorf("fedhub: %w", err)
	}
	typeConfigs, err := o.Federation.CoreV1beta1().FederatedTypeConfigs(o.FederationNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("fedhub: reading the federated types: %w", err)
	}
	var errs []error
	if report.StillPlaced, err = o.stillPlaced(ctx, cluster, typeConfigs.Items); err != nil {
		errs = append(errs, err)
	}
	remove := func(what string, del func(metav1.DeleteOptions) error) {
		err := del(metav1.DeleteOptions{DryRun: j.dryRunValue()})
		switch {
		case err == nil:
			j.printf("%s removed", what)
			report.Removed = append(report.Removed, what)
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("removing %s: %w", what, err))
		}
	}
	remove(fmt.Sprintf("fedhub: KubeFedCluster %s/%s", o.FederationNamespace, o.ClusterName), func(opts metav1.DeleteOptions) error {
		return o.Federation.CoreV1beta1().KubeFedClusters(o.FederationNamespace).Delete(ctx, o.ClusterName, opts)
	})
	remove(fmt.Sprintf("host: Secret %s/%s", o.FederationNamespace, cluster.Spec.SecretRef.Name), func(opts metav1.DeleteOptions) error {
		return o.Host.CoreV1().Secrets(o.FederationNamespace).Delete(ctx, cluster.Spec.SecretRef.Name, opts)
	})
	if o.Member != nil {
		if err := o.cleanMember(ctx, j, typeConfigs.Items, report, remove); err != nil {
			errs = append(errs, err)
		}
	}
	return report, errors.Join(errs...)
}

// stillPlaced lists the federated objects whose placement selects cluster.
func (o UnjoinOptions) stillPlaced(ctx context.Context, cluster *corev1beta1.KubeFedCluster, typeConfigs []corev1beta1.FederatedTypeConfig) ([]string, error) {
	var placed []string
	for _, tc := range typeConfigs {
		federated := tc.Spec.FederatedType
		resource := federated.GroupVersionResource()
		list, err := o.FederationDynamic.Resource(resource).List(ctx, metav1.ListOptions{})
		if err != nil {
			return placed, fmt.Errorf("fedhub: listing %s: %w", federated.PluralName, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			p, err := placement.Of(obj)
			if err != nil {
				continue // admission validates placement; an unreadable one places nothing
			}
			if selected, why, _ := p.Selects(cluster); selected {
				placed = append(placed, fmt.Sprintf("%s %s (%s)", federated.Kind, objectName(obj.GetNamespace(), obj.GetName()), why))
			}
		}
	}
	sort.Strings(placed)
	return placed, nil
}

// cleanMember lists the objects the federation created in the member, then
// removes the federation's identity, and the namespace if join created it
// and nothing the federation created is left in it.
func (o UnjoinOptions) cleanMember(ctx context.Context, j *journal, typeConfigs []corev1beta1.FederatedTypeConfig,
	report *Report, remove func(string, func(metav1.DeleteOptions) error)) error {
	member, err := kubernetes.NewForConfig(o.Member)
	if err != nil {
		return err
	}
	memberDynamic, err := dynamic.NewForConfig(o.Member)
	if err != nil {
		return err
	}
	leftInNamespace := false
	for _, tc := range typeConfigs {
		target := tc.Spec.TargetType
		resource := target.GroupVersionResource()
		list, err := memberDynamic.Resource(resource).List(ctx, metav1.ListOptions{LabelSelector: ManagedLabel + "=true"})
		if err != nil {
			continue // the member does not serve this type: nothing of it can be left there
		}
		for _, obj := range list.Items {
			report.LeftInMember = append(report.LeftInMember, target.Kind+" "+objectName(obj.GetNamespace(), obj.GetName()))
			leftInNamespace = leftInNamespace || obj.GetNamespace() == o.FederationNamespace
		}
	}
	sort.Strings(report.LeftInMember)
	in, identity := o.ClusterName+": ", Identity(o.ClusterName)
	remove(in+"ClusterRoleBinding "+identity, func(opts metav1.DeleteOptions) error {
		return member.RbacV1().ClusterRoleBindings().Delete(ctx, identity, opts)
	})
	remove(in+"ClusterRole "+identity, func(opts metav1.DeleteOptions) error {
		return member.RbacV1().ClusterRoles().Delete(ctx, identity, opts)
	})
	remove(fmt.Sprintf("%stoken Secret %s/%s", in, o.FederationNamespace, identity), func(opts metav1.DeleteOptions) error {
		return member.CoreV1().Secrets(o.FederationNamespace).Delete(ctx, identity, opts)
	})
	remove(fmt.Sprintf("%sServiceAccount %s/%s", in, o.FederationNamespace, identity), func(opts metav1.DeleteOptions) error {
		return member.CoreV1().ServiceAccounts(o.FederationNamespace).Delete(ctx, identity, opts)
	})
	namespace, err := member.CoreV1().Namespaces().Get(ctx, o.FederationNamespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("%sreading Namespace %s: %w", in, o.FederationNamespace, err)
	case namespace.Annotations[CreatedByJoinAnnotation] != o.ClusterName:
		report.LeftInMember = append(report.LeftInMember, "Namespace "+o.FederationNamespace+" (it existed before join)")
	case leftInNamespace:
		report.LeftInMember = append(report.LeftInMember, "Namespace "+o.FederationNamespace+" (federated objects are in it)")
	default:
		remove(in+"Namespace "+o.FederationNamespace, func(opts metav1.DeleteOptions) error {
			return member.CoreV1().Namespaces().Delete(ctx, o.FederationNamespace, opts)
		})
	}
	return nil
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
