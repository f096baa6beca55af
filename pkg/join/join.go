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

// Package join registers a member cluster with the federation and removes it
// again: an identity for the reconciler in the member, its credentials in the
// host, and the KubeFedCluster in fedhub. fedhubctl, make run and the test
// harness all join through it, so the path users take is the path the tests take.
package join

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	fedmember "github.com/fedhub/fedhub/pkg/member"
)

// DefaultFederationNamespace is where KubeFed kept its clusters, credentials and configuration.
const DefaultFederationNamespace = corev1beta1.DefaultFederationNamespace

// CreatedByJoinAnnotation marks a member namespace that join created, so that
// unjoin removes only a namespace that was not there before.
const CreatedByJoinAnnotation = "fedhub.io/created-by-join"

// defaultTokenTimeout bounds the wait for the member's token controller.
const defaultTokenTimeout = 2 * time.Minute

// Options say which member to join to which federation, and how.
type Options struct {
	// ClusterName is the KubeFedCluster's name.
	ClusterName string
	// FederationNamespace holds the KubeFedCluster and its Secret in the host,
	// and the federation's identity in the member.
	FederationNamespace string
	// SecretName is the host Secret with the member's credentials; by default ClusterName.
	SecretName string
	// Member reaches the member cluster as an administrator.
	Member *rest.Config
	// Host reaches the host cluster, where the credentials Secret is kept.
	Host kubernetes.Interface
	// Federation reaches fedhub, directly or through the host.
	Federation clientset.Interface
	// ClusterAdmin binds the federation's identity to cluster-admin instead of
	// the least rights it needs (ReconcilerRules).
	ClusterAdmin bool
	// ErrorOnExisting refuses to join when an object join would create exists.
	ErrorOnExisting bool
	// DryRun sends every write as a server-side dry run.
	DryRun bool
	// TokenTimeout bounds the wait for the member to issue the token.
	TokenTimeout time.Duration
	// Progress receives one line per step.
	Progress io.Writer
}

func (o *Options) complete() {
	if o.FederationNamespace == "" {
		o.FederationNamespace = DefaultFederationNamespace
	}
	if o.SecretName == "" {
		o.SecretName = o.ClusterName
	}
	if o.TokenTimeout == 0 {
		o.TokenTimeout = defaultTokenTimeout
	}
}

// Identity is the name of the federation's ServiceAccount, ClusterRole and
// ClusterRoleBinding in a member joined as cluster.
func Identity(cluster string) string {
	return "fedhub-" + cluster
}

// Join creates, in the member, a namespace, a ServiceAccount with a token
// Secret and the reconciler's ClusterRole and binding; in the host, the
// Secret with that token; in fedhub, the KubeFedCluster. Existing objects are
// updated, so joining twice is harmless. When a step fails, what the join
// created is removed again.
func Join(ctx context.Context, o Options) (err error) {
	o.complete()
	member, err := kubernetes.NewForConfig(o.Member)
	if err != nil {
		return err
	}
	if err := rest.LoadTLSFiles(o.Member); err != nil {
		return fmt.Errorf("member %s: %w", o.ClusterName, err)
	}
	j := &journal{progress: o.Progress, dryRun: o.DryRun, errorOnExisting: o.ErrorOnExisting}
	defer func() {
		if err != nil {
			j.rollback(context.WithoutCancel(ctx))
		}
	}()
	rules := []rbacv1.PolicyRule(nil)
	if !o.ClusterAdmin {
		if rules, err = ReconcilerRules(ctx, o.Federation, o.FederationNamespace); err != nil {
			return fmt.Errorf("fedhub: reading the federated types: %w", err)
		}
		if len(rules) == len(baseRules) {
			j.printf("warning: no federated types are enabled yet, so %s may manage no objects; join again once they are", o.ClusterName)
		}
	}
	token, err := o.memberIdentity(ctx, j, member, rules)
	if err != nil {
		return fmt.Errorf("member %s: %w", o.ClusterName, err)
	}
	secret := o.credentialsSecret(token)
	if _, err := apply(ctx, j, fmt.Sprintf("host: Secret %s/%s", secret.Namespace, secret.Name), o.Host.CoreV1().Secrets(o.FederationNamespace), secret); err != nil {
		return err
	}
	cluster := o.kubeFedCluster()
	_, err = apply(ctx, j, fmt.Sprintf("fedhub: KubeFedCluster %s/%s", cluster.Namespace, cluster.Name), o.Federation.CoreV1beta1().KubeFedClusters(o.FederationNamespace), cluster)
	return err
}

// credentialsSecret is the host Secret holding the member's token. It records
// the endpoint the token was issued for, and the federation sends the token
// nowhere else (fedmember.APIEndpointAnnotation).
func (o Options) credentialsSecret(token []byte) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: o.SecretName, Namespace: o.FederationNamespace,
			Annotations: map[string]string{fedmember.APIEndpointAnnotation: o.Member.Host}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": token},
	}
	if len(o.Member.CAData) > 0 {
		secret.Data["ca.crt"] = o.Member.CAData
	}
	return secret
}

// kubeFedCluster is the KubeFedCluster that reaches the member with credentialsSecret.
func (o Options) kubeFedCluster() *corev1beta1.KubeFedCluster {
	return &corev1beta1.KubeFedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: o.ClusterName, Namespace: o.FederationNamespace},
		Spec: corev1beta1.KubeFedClusterSpec{
			APIEndpoint: o.Member.Host,
			CABundle:    o.Member.CAData,
			SecretRef:   corev1beta1.LocalSecretReference{Name: o.SecretName},
			ProxyURL:    proxyURL(o.Member),
		},
	}
}

// memberIdentity creates the reconciler's identity in the member and returns its token.
func (o Options) memberIdentity(ctx context.Context, j *journal, member kubernetes.Interface, rules []rbacv1.PolicyRule) ([]byte, error) {
	in := o.ClusterName + ": "
	if err := o.ensureNamespace(ctx, j, member); err != nil {
		return nil, err
	}
	identity := Identity(o.ClusterName)
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: identity, Namespace: o.FederationNamespace}}
	if _, err := apply(ctx, j, in+"ServiceAccount "+o.FederationNamespace+"/"+identity, member.CoreV1().ServiceAccounts(o.FederationNamespace), account); err != nil {
		return nil, err
	}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}
	if !o.ClusterAdmin {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: identity}, Rules: rules}
		if _, err := apply(ctx, j, in+"ClusterRole "+identity, member.RbacV1().ClusterRoles(), role); err != nil {
			return nil, err
		}
		roleRef.Name = identity
	}
	if err := o.ensureBinding(ctx, j, member, roleRef); err != nil {
		return nil, err
	}
	return o.token(ctx, j, member)
}

// ensureNamespace creates the federation namespace unless it exists; one that
// existed before (the member may be the host itself) is never taken over.
func (o Options) ensureNamespace(ctx context.Context, j *journal, member kubernetes.Interface) error {
	what := o.ClusterName + ": Namespace " + o.FederationNamespace
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: o.FederationNamespace, Annotations: map[string]string{CreatedByJoinAnnotation: o.ClusterName},
	}}
	_, err := member.CoreV1().Namespaces().Create(ctx, namespace, metav1.CreateOptions{DryRun: j.dryRunValue()})
	switch {
	case err == nil:
		j.record(what, func(ctx context.Context) error {
			return member.CoreV1().Namespaces().Delete(ctx, namespace.Name, metav1.DeleteOptions{})
		})
		j.printf("%s created", what)
	case apierrors.IsAlreadyExists(err):
		j.printf("%s exists", what)
	default:
		return fmt.Errorf("creating %s: %w", what, err)
	}
	return nil
}

// ensureBinding binds the identity to roleRef. A binding's roleRef cannot
// change, so one bound to another role (joined before with or without
// cluster-admin) is replaced.
func (o Options) ensureBinding(ctx context.Context, j *journal, member kubernetes.Interface, roleRef rbacv1.RoleRef) error {
	identity := Identity(o.ClusterName)
	bindings := member.RbacV1().ClusterRoleBindings()
	if existing, err := bindings.Get(ctx, identity, metav1.GetOptions{}); err == nil && existing.RoleRef != roleRef && !o.ErrorOnExisting {
		if err := bindings.Delete(ctx, identity, metav1.DeleteOptions{DryRun: j.dryRunValue()}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing ClusterRoleBinding %s: %w", identity, err)
		}
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: identity},
		RoleRef:    roleRef,
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: identity, Namespace: o.FederationNamespace}},
	}
	_, err := apply(ctx, j, o.ClusterName+": ClusterRoleBinding "+identity+" to ClusterRole "+roleRef.Name, bindings, binding)
	return err
}

// token asks for a long-lived token Secret of the identity, as KubeFed did,
// and waits until the member's token controller fills it. An existing token
// Secret is kept: replacing it would revoke the token the host holds.
func (o Options) token(ctx context.Context, j *journal, member kubernetes.Interface) ([]byte, error) {
	identity := Identity(o.ClusterName)
	secrets := member.CoreV1().Secrets(o.FederationNamespace)
	what := fmt.Sprintf("%s: token Secret %s/%s", o.ClusterName, o.FederationNamespace, identity)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: identity, Namespace: o.FederationNamespace,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: identity}},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	_, err := secrets.Create(ctx, secret, metav1.CreateOptions{DryRun: j.dryRunValue()})
	switch {
	case err == nil:
		j.record(what, func(ctx context.Context) error { return secrets.Delete(ctx, identity, metav1.DeleteOptions{}) })
		j.printf("%s created", what)
	case apierrors.IsAlreadyExists(err) && j.errorOnExisting:
		return nil, fmt.Errorf("%s already exists (--error-on-existing)", what)
	case apierrors.IsAlreadyExists(err):
		j.printf("%s exists", what)
	default:
		return nil, fmt.Errorf("creating %s: %w", what, err)
	}
	if j.dryRun {
		return []byte("dry-run"), nil
	}
	var token []byte
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, o.TokenTimeout, true, func(ctx context.Context) (bool, error) {
		current, err := secrets.Get(ctx, identity, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = current.Data[corev1.ServiceAccountTokenKey]
		return len(token) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s has no token after %s (is the member's kube-controller-manager running its token controller?): %w", what, o.TokenTimeout, err)
	}
	j.printf("%s holds a token", what)
	return token, nil
}

// proxyURL is the proxy the member's kubeconfig names, for the KubeFedCluster.
func proxyURL(config *rest.Config) string {
	if config.Proxy == nil {
		return ""
	}
	endpoint, err := url.Parse(config.Host)
	if err != nil {
		return ""
	}
	proxy, err := config.Proxy(&http.Request{URL: endpoint})
	if err != nil || proxy == nil {
		return ""
	}
	return proxy.String()
}
