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

// Package join registers a member cluster with the federation: an identity
// for the reconciler in the member, its credentials in the host, and the
// KubeFedCluster in fedhub. make run, the test harness and fedhubctl all join
// through it, so the path users take is the path the tests take.
package join

import (
	"context"
	"fmt"
	"io"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// DefaultFederationNamespace is where KubeFed kept its clusters, credentials and configuration.
const DefaultFederationNamespace = "kube-federation-system"

// tokenLifetime is how long a member credential is valid. The member's
// API server may shorten it; rotation is the operator's job until fedhub does it.
const tokenLifetime = 365 * 24 * 60 * 60

// ReconcilerRole is the member ClusterRole bound to the federation's identity:
// it may manage any namespaced or cluster-scoped object a federated type
// targets and read health endpoints, but it cannot escalate its own rights
// (no bind, escalate or impersonate).
var ReconcilerRole = []rbacv1.PolicyRule{
	{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{NonResourceURLs: []string{"/healthz", "/livez", "/readyz", "/version"}, Verbs: []string{"get"}},
}

// Options say which member to join to which federation.
type Options struct {
	// ClusterName is the KubeFedCluster's name.
	ClusterName string
	// FederationNamespace holds the KubeFedCluster and its Secret in the host; also used in the member.
	FederationNamespace string
	// Member reaches the member cluster as an administrator.
	Member *rest.Config
	// Host reaches the host cluster, where the credentials Secret is kept.
	Host kubernetes.Interface
	// Federation reaches fedhub, directly or through the host.
	Federation clientset.Interface
	// Progress receives one line per step.
	Progress io.Writer
}

// Join creates, in the member, a namespace, a ServiceAccount and the
// reconciler's ClusterRole and binding; in the host, the Secret with the
// ServiceAccount's token; in fedhub, the KubeFedCluster. Existing objects are
// updated, so joining twice is harmless.
func Join(ctx context.Context, o Options) error {
	if o.FederationNamespace == "" {
		o.FederationNamespace = DefaultFederationNamespace
	}
	member, err := kubernetes.NewForConfig(o.Member)
	if err != nil {
		return err
	}
	identity := "fedhub-" + o.ClusterName
	token, err := o.memberIdentity(ctx, member, identity)
	if err != nil {
		return fmt.Errorf("member %s: %w", o.ClusterName, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: o.ClusterName, Namespace: o.FederationNamespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"token": []byte(token), "ca.crt": o.Member.CAData},
	}
	if err := createOrUpdate(ctx, o.Host.CoreV1().Secrets(o.FederationNamespace), secret, o.step("host: Secret %s/%s", o.FederationNamespace, secret.Name)); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	cluster := &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: o.ClusterName, Namespace: o.FederationNamespace},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: o.Member.Host,
			CABundle:    o.Member.CAData,
			SecretRef:   corev1beta1.LocalSecretReference{Name: secret.Name},
		},
	}
	if err := createOrUpdate(ctx, o.Federation.CoreV1beta1().KubeFedClusters(o.FederationNamespace), cluster, o.step("fedhub: KubeFedCluster %s/%s", o.FederationNamespace, cluster.Name)); err != nil {
		return fmt.Errorf("fedhub: %w", err)
	}
	return nil
}

// memberIdentity creates the reconciler's identity in the member and returns a token for it.
func (o Options) memberIdentity(ctx context.Context, member kubernetes.Interface, identity string) (string, error) {
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.FederationNamespace}}
	if err := createOrUpdate(ctx, member.CoreV1().Namespaces(), namespace, o.step(o.ClusterName+": Namespace %s", namespace.Name)); err != nil {
		return "", err
	}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: identity, Namespace: o.FederationNamespace}}
	if err := createOrUpdate(ctx, member.CoreV1().ServiceAccounts(o.FederationNamespace), account, o.step(o.ClusterName+": ServiceAccount %s/%s", account.Namespace, account.Name)); err != nil {
		return "", err
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: identity}, Rules: ReconcilerRole}
	if err := createOrUpdate(ctx, member.RbacV1().ClusterRoles(), role, o.step(o.ClusterName+": ClusterRole %s", role.Name)); err != nil {
		return "", err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: identity},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: account.Name, Namespace: account.Namespace}},
	}
	if err := createOrUpdate(ctx, member.RbacV1().ClusterRoleBindings(), binding, o.step(o.ClusterName+": ClusterRoleBinding %s", binding.Name)); err != nil {
		return "", err
	}
	lifetime := int64(tokenLifetime)
	request, err := member.CoreV1().ServiceAccounts(o.FederationNamespace).CreateToken(ctx, account.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &lifetime}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for ServiceAccount %s: %w", account.Name, err)
	}
	o.step(o.ClusterName+": token for ServiceAccount %s/%s", account.Namespace, account.Name)()
	return request.Status.Token, nil
}

// step returns a function that prints one progress line.
func (o Options) step(format string, args ...any) func() {
	return func() {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
}

// objectClient is the part of a typed client createOrUpdate needs.
type objectClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// createOrUpdate creates obj, or replaces the existing object's content with it.
func createOrUpdate[T metav1.Object](ctx context.Context, client objectClient[T], obj T, done func()) error {
	_, err := client.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var existing T
		if existing, err = client.Get(ctx, obj.GetName(), metav1.GetOptions{}); err == nil {
			obj.SetResourceVersion(existing.GetResourceVersion())
			_, err = client.Update(ctx, obj, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return err
	}
	done()
	return nil
}
