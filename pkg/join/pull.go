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
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

const (
	// MinBootstrapTTL is the shortest token the host's TokenRequest API issues.
	MinBootstrapTTL = 10 * time.Minute
	// DefaultBootstrapTTL is how long a bootstrap token is valid unless asked otherwise.
	DefaultBootstrapTTL = time.Hour
)

// BootstrapAccount is the host ServiceAccount whose token registers cluster.
func BootstrapAccount(cluster string) string {
	return agentidentity.BootstrapServiceAccountPrefix + cluster
}

// AgentAccount is the host ServiceAccount fedhub creates for cluster's agent once approved.
func AgentAccount(cluster string) string {
	return agentidentity.AgentServiceAccountPrefix + cluster
}

// TokenOptions say which bootstrap token to create in the host.
type TokenOptions struct {
	// ClusterName is the pull cluster the token registers.
	ClusterName string
	// TTL is the token's lifetime; MinBootstrapTTL at least, DefaultBootstrapTTL when zero.
	TTL time.Duration
	// AutoApprove makes the registration the token creates approved at once.
	AutoApprove bool
	// Host reaches the host cluster as an administrator.
	Host     kubernetes.Interface
	DryRun   bool
	Progress io.Writer
}

// BootstrapToken is a token of a cluster's bootstrap ServiceAccount.
type BootstrapToken struct {
	Token string
	// Expires is when the host stops accepting it.
	Expires time.Time
}

// CreateBootstrapToken creates or updates the ServiceAccount
// fedhub-agents/bootstrap-NAME (annotated auto-approve when asked, the
// annotation removed otherwise) and returns a TokenRequest token of it.
func CreateBootstrapToken(ctx context.Context, o TokenOptions) (*BootstrapToken, error) {
	j := &journal{progress: o.Progress, dryRun: o.DryRun}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultBootstrapTTL
	}
	if ttl < MinBootstrapTTL {
		j.printf("a token lives %s at least; using that instead of %s", MinBootstrapTTL, ttl)
		ttl = MinBootstrapTTL
	}
	name := BootstrapAccount(o.ClusterName)
	what := fmt.Sprintf("host: ServiceAccount %s/%s", agentidentity.AgentNamespace, name)
	if o.AutoApprove {
		what += " (auto-approve)"
	}
	accounts := o.Host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace)
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: agentidentity.AgentNamespace}}
	if o.AutoApprove {
		account.Annotations = map[string]string{agentidentity.AutoApproveAnnotation: "true"}
	}
	_, err := accounts.Create(ctx, account, metav1.CreateOptions{DryRun: j.dryRunValue()})
	switch {
	case err == nil:
		j.printf("%s created", what)
	case apierrors.IsAlreadyExists(err):
		if err := updateAutoApprove(ctx, j, accounts, name, o.AutoApprove); err != nil {
			return nil, fmt.Errorf("updating %s: %w", what, err)
		}
		j.printf("%s updated", what)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("creating %s: the host has no namespace %s: install fedhub's artifacts first: %w", what, agentidentity.AgentNamespace, err)
	default:
		return nil, fmt.Errorf("creating %s: %w", what, err)
	}
	if o.DryRun {
		j.printf("host: token of ServiceAccount %s/%s for %s", agentidentity.AgentNamespace, name, ttl)
		return &BootstrapToken{Token: "dry-run", Expires: time.Now().Add(ttl)}, nil
	}
	seconds := int64(ttl / time.Second)
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	issued, err := accounts.CreateToken(ctx, name, request, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token of %s: %w", what, err)
	}
	token := &BootstrapToken{Token: issued.Status.Token, Expires: issued.Status.ExpirationTimestamp.Time}
	j.printf("host: token of ServiceAccount %s/%s, valid until %s", agentidentity.AgentNamespace, name, token.Expires.UTC().Format(time.RFC3339))
	return token, nil
}

// updateAutoApprove sets or removes the auto-approve annotation of an existing ServiceAccount.
func updateAutoApprove(ctx context.Context, j *journal, accounts objectClient[*corev1.ServiceAccount], name string, autoApprove bool) error {
	account, err := accounts.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	_, annotated := account.Annotations[agentidentity.AutoApproveAnnotation]
	switch {
	case autoApprove:
		if account.Annotations == nil {
			account.Annotations = map[string]string{}
		}
		account.Annotations[agentidentity.AutoApproveAnnotation] = "true"
	case annotated:
		delete(account.Annotations, agentidentity.AutoApproveAnnotation)
	default:
		return nil
	}
	_, err = accounts.Update(ctx, account, metav1.UpdateOptions{DryRun: j.dryRunValue()})
	return err
}

// BootstrapKubeconfig is a kubeconfig that reaches the host as host does
// (address, CA, proxy), with token as its only credential: what
// fedhub-agent's --hub-kubeconfig reads.
func BootstrapKubeconfig(host *rest.Config, cluster, token string) (*clientcmdapi.Config, error) {
	tls := rest.CopyConfig(host)
	if err := rest.LoadTLSFiles(tls); err != nil {
		return nil, fmt.Errorf("the host's CA: %w", err)
	}
	user := BootstrapAccount(cluster)
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["host"] = &clientcmdapi.Cluster{
		Server: host.Host, CertificateAuthorityData: tls.CAData,
		InsecureSkipTLSVerify: host.Insecure, TLSServerName: host.ServerName,
		ProxyURL: proxyURL(host),
	}
	kubeconfig.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	kubeconfig.Contexts[user] = &clientcmdapi.Context{Cluster: "host", AuthInfo: user}
	kubeconfig.CurrentContext = user
	return kubeconfig, nil
}

// PullJoinOptions say which pull cluster to prepare, and where its agent's
// bootstrap kubeconfig goes.
type PullJoinOptions struct {
	TokenOptions
	FederationNamespace string
	// HostConfig is the host's address and CA, copied into the kubeconfig.
	HostConfig *rest.Config
	// Federation reaches fedhub, to refuse a name joined in push mode.
	Federation clientset.Interface
	// KubeconfigPath is where the bootstrap kubeconfig is written (mode 0600).
	KubeconfigPath string
	// AgentManifestsPath, when set, is where the member-side manifests of the
	// agent (AgentManifests, holding the bootstrap kubeconfig) are written
	// (mode 0600), with AgentImage (DefaultAgentImage when empty).
	AgentManifestsPath string
	AgentImage         string
}

// JoinPull prepares a pull cluster: a bootstrap token (CreateBootstrapToken)
// written as a kubeconfig for the agent. It touches no member: the agent,
// started beside the member, registers it, and fedhub creates the
// KubeFedCluster once the registration is approved.
func JoinPull(ctx context.Context, o PullJoinOptions) (*BootstrapToken, error) {
	if o.FederationNamespace == "" {
		o.FederationNamespace = DefaultFederationNamespace
	}
	cluster, err := o.Federation.CoreV1beta1().KubeFedClusters(o.FederationNamespace).Get(ctx, o.ClusterName, metav1.GetOptions{})
	switch {
	case err == nil && !cluster.IsPull():
		return nil, fmt.Errorf("KubeFedCluster %s/%s is joined in push mode: unjoin it first", o.FederationNamespace, o.ClusterName)
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("fedhub: %w", err)
	}
	j := &journal{progress: o.Progress, dryRun: o.DryRun}
	var rules []rbacv1.PolicyRule
	if o.AgentManifestsPath != "" {
		// The agent's rights in the member are those push join grants
		// fedhub: the least propagation needs, for the types enabled now.
		if rules, err = ReconcilerRules(ctx, o.Federation, o.FederationNamespace); err != nil {
			return nil, fmt.Errorf("fedhub: reading the federated types: %w", err)
		}
		if len(rules) == len(baseRules) {
			j.printf("warning: no federated types are enabled yet, so the agent's ClusterRole lets it manage no objects; write the manifests again once they are")
		}
	}
	token, err := CreateBootstrapToken(ctx, o.TokenOptions)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := BootstrapKubeconfig(o.HostConfig, o.ClusterName, token.Token)
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		j.printf("bootstrap kubeconfig %s not written", o.KubeconfigPath)
		if o.AgentManifestsPath != "" {
			j.printf("agent manifests %s not written", o.AgentManifestsPath)
		}
		return token, nil
	}
	if err := clientcmd.WriteToFile(*kubeconfig, o.KubeconfigPath); err != nil {
		return nil, err
	}
	j.printf("bootstrap kubeconfig written to %s", o.KubeconfigPath)
	if o.AgentManifestsPath == "" {
		return token, nil
	}
	serialized, err := clientcmd.Write(*kubeconfig)
	if err != nil {
		return nil, err
	}
	manifests, err := AgentManifests(AgentManifestOptions{
		ClusterName: o.ClusterName, FederationNamespace: o.FederationNamespace, Image: o.AgentImage,
		Rules: rules, BootstrapKubeconfig: serialized, TokenExpires: token.Expires,
	})
	if err != nil {
		return nil, fmt.Errorf("agent manifests: %w", err)
	}
	if err := writePrivate(o.AgentManifestsPath, manifests); err != nil {
		return nil, fmt.Errorf("agent manifests: %w", err)
	}
	j.printf("agent manifests for %s written to %s", o.ClusterName, o.AgentManifestsPath)
	return token, nil
}

// Approve sets spec.approved of the ClusterRegistration name. A name that is
// not a registration is the server's NotFound.
func Approve(ctx context.Context, federation clientset.Interface, namespace, name string, dryRun bool, progress io.Writer) error {
	if namespace == "" {
		namespace = DefaultFederationNamespace
	}
	j := &journal{progress: progress, dryRun: dryRun}
	registrations := federation.AgentV1alpha1().ClusterRegistrations(namespace)
	_, err := registrations.Patch(ctx, name, "application/merge-patch+json", []byte(`{"spec":{"approved":true}}`),
		metav1.PatchOptions{DryRun: j.dryRunValue()})
	if err != nil {
		return err
	}
	j.printf("fedhub: ClusterRegistration %s/%s approved", namespace, name)
	return nil
}

// UnjoinAnnotation on a ClusterRegistration being deleted tells its agent
// what to do with the member objects of its Works: UnjoinDelete or UnjoinOrphan.
const UnjoinAnnotation = "agent.fedhub.io/unjoin"

const (
	// UnjoinDelete: the agent deletes every member object of its Works.
	UnjoinDelete = "delete"
	// UnjoinOrphan: the agent leaves them in place, without the managed label.
	UnjoinOrphan = "orphan"
)

// IsPullCluster tells whether name is joined in pull mode: its KubeFedCluster
// says so, or there is no KubeFedCluster but a ClusterRegistration (not
// approved yet, say). A name that is neither is the KubeFedCluster's NotFound.
func IsPullCluster(ctx context.Context, federation clientset.Interface, namespace, name string) (bool, error) {
	if namespace == "" {
		namespace = DefaultFederationNamespace
	}
	cluster, err := federation.CoreV1beta1().KubeFedClusters(namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return cluster.IsPull(), nil
	}
	if !apierrors.IsNotFound(err) {
		return false, err
	}
	_, regErr := federation.AgentV1alpha1().ClusterRegistrations(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case regErr == nil:
		return true, nil
	case apierrors.IsNotFound(regErr):
		return false, err
	default:
		return false, regErr
	}
}

// PullUnjoinOptions say which pull cluster to remove. UnjoinOptions.Member is not used.
type PullUnjoinOptions struct {
	UnjoinOptions
	// Orphan asks the agent to leave the member objects in place (unlabelled)
	// instead of deleting them.
	Orphan bool
}

// UnjoinPull removes a pull cluster: it annotates its ClusterRegistration
// with what the agent is to do with the member objects, deletes it, deletes
// the agent's and the bootstrap ServiceAccounts in the host (every token of
// them is refused from then on) and the KubeFedCluster. It never reaches the
// member: the agent, watching its registration, cleans up there and exits.
// The report lists the federated objects still placed on the cluster.
func UnjoinPull(ctx context.Context, o PullUnjoinOptions) (*Report, error) {
	if o.FederationNamespace == "" {
		o.FederationNamespace = DefaultFederationNamespace
	}
	j := &journal{progress: o.Progress, dryRun: o.DryRun}
	report := &Report{}
	ns, name := o.FederationNamespace, o.ClusterName
	clusters := o.Federation.CoreV1beta1().KubeFedClusters(ns)
	registrations := o.Federation.AgentV1alpha1().ClusterRegistrations(ns)
	cluster, clusterErr := clusters.Get(ctx, name, metav1.GetOptions{})
	if clusterErr != nil {
		if !apierrors.IsNotFound(clusterErr) {
			return nil, fmt.Errorf("fedhub: %w", clusterErr)
		}
		cluster = nil
	}
	_, err := registrations.Get(ctx, name, metav1.GetOptions{})
	registered := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("fedhub: %w", err)
	}
	if cluster == nil && !registered && !o.IgnoreNotFound {
		// The server's own Status, as kubectl delete prints it.
		return nil, clusterErr
	}
	var errs []error
	if cluster != nil {
		typeConfigs, err := o.Federation.CoreV1beta1().FederatedTypeConfigs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("fedhub: reading the federated types: %w", err)
		}
		if report.StillPlaced, err = o.stillPlaced(ctx, cluster, typeConfigs.Items); err != nil {
			errs = append(errs, err)
		}
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
	if registered {
		registration := fmt.Sprintf("fedhub: ClusterRegistration %s/%s", ns, name)
		// The agent reads the annotation from the deleted object its watch
		// delivers, so it is written first.
		ask := UnjoinDelete
		if o.Orphan {
			ask = UnjoinOrphan
		}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, UnjoinAnnotation, ask)
		if _, err := registrations.Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{DryRun: j.dryRunValue()}); err != nil {
			return nil, fmt.Errorf("annotating %s: %w", registration, err)
		}
		j.printf("%s annotated %s=%s", registration, UnjoinAnnotation, ask)
		remove(registration, func(opts metav1.DeleteOptions) error { return registrations.Delete(ctx, name, opts) })
	}
	accounts := o.Host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace)
	for _, account := range []string{AgentAccount(name), BootstrapAccount(name)} {
		remove(fmt.Sprintf("host: ServiceAccount %s/%s", agentidentity.AgentNamespace, account), func(opts metav1.DeleteOptions) error {
			return accounts.Delete(ctx, account, opts)
		})
	}
	what := fmt.Sprintf("fedhub: KubeFedCluster %s/%s", ns, name)
	remove(what, func(opts metav1.DeleteOptions) error {
		err := clusters.Delete(ctx, name, opts)
		if apierrors.IsNotFound(err) && cluster != nil {
			// fedhub's registration controller was quicker.
			j.printf("%s removed (by fedhub, with its registration)", what)
			report.Removed = append(report.Removed, what)
		}
		return err
	})
	return report, errors.Join(errs...)
}
