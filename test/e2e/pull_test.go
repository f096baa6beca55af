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

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/utils/ptr"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/join"
	"github.com/fedhub/fedhub/test/framework"
)

const (
	// pullNamespace holds the pull tests' workload (testdata/pull).
	pullNamespace = "pull-e2e"
	// pullAgentLease is member-2's agent's --lease-duration: short, so that
	// a stopped agent's cluster turns unready within seconds.
	pullAgentLease = 8 * time.Second
	// revocationDeadline bounds "at once": how long a revoked token may still
	// pass while the host's and fedhub's caches catch up.
	revocationDeadline = 2 * time.Second
	// settleSpan is how long a restarted agent is watched for writes it
	// should not make: several lease renewals.
	settleSpan = 10 * time.Second
	// leaseReportBound is how soon after a lease expired the cluster must be
	// reported unready: a few health periods of 1 s.
	leaseReportBound = 5 * time.Second
)

var federatedDeployments = schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}

// TestPull runs pull mode (docs/pull.md) end to end on one federation of its
// own: a host, member-1 joined in push mode and member-2 in pull mode with
// its fedhub-agent (an 8 s lease), both full members whose kwok nodes run
// pods, and a 1 s cluster health period. The cases share it in order; the
// last one unjoins member-2.
func TestPull(t *testing.T) {
	p := startPullFederation(t)

	t.Run("registration: a bootstrap token registers its own cluster only, and gets an identity once approved", p.registration)
	t.Run("agent manifests: join --mode pull --agent-manifests writes objects the member accepts", p.agentManifests)
	rolledOut := t.Run("rollout: a FederatedDeployment is ready on the push and the pull member", p.rollout)
	t.Run("no credential for the pull member is stored in the host or served by fedhub", p.noCredential)
	t.Run("scoping: the agent's identity reaches its own cluster's Works only", p.scoping)
	if !rolledOut {
		t.Fatal("the remaining cases need the workload of the rollout case")
	}
	t.Run("drift: a change made in the pull member is restored and reported", p.drift)
	t.Run("agent stopped: the cluster turns unready, nothing is deleted, and a restart rewrites nothing", p.agentStopped)
	t.Run("replica scheduling spreads a deployment over the push and the pull member", p.replicaScheduling)
	t.Run("unjoin: the agent's identity is revoked, it removes its objects from the member and exits", p.unjoin)
}

// startOwnPullFederation starts a federation of the test's own, named for
// its directory: options with two full members (one node each), member-2
// joined in pull mode with the agent lease of these tests, and its agent
// built from this tree when TestMain built fedhub. The processes stop when
// the test ends; their logs stay when it failed.
// agentBinary is the fedhub-agent to run with binaries: theirs when make
// test gave the binaries, else one built from this tree into dir, as
// TestMain built fedhub-apiserver.
func agentBinary(dir string, binaries framework.Binaries) (string, error) {
	if os.Getenv("FEDHUB_AGENT") == "" && os.Getenv("FEDHUB_APISERVER") == "" {
		return binary(dir, "FEDHUB_AGENT", "fedhub-agent")
	}
	return binaries.FedhubAgent, nil
}

func startOwnPullFederation(t *testing.T, name string, options framework.FederationOptions) (*framework.Federation, string) {
	t.Helper()
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	binaries.FedhubAPIServer = fedhubAPIServer
	if binaries.FedhubAgent, err = agentBinary(t.TempDir(), binaries); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "fedhub-e2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	options.Binaries, options.Dir = binaries, dir
	options.Members, options.NodesPerMember, options.PullMembers = 2, 1, []int{2}
	options.Agent.LeaseDuration = pullAgentLease
	f, err := framework.StartFederation(context.Background(), options)
	if err != nil {
		t.Fatalf("starting the federation (process logs are in %s): %v", dir, err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("process logs are in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return f, dir
}

// pullFederation is the federation TestPull's cases share.
type pullFederation struct {
	f   *framework.Federation
	dir string
	// host and members are kubeconfigs: the host's administrator, and a
	// context per cluster (host, member-1, member-2).
	host, members string
}

func startPullFederation(t *testing.T) *pullFederation {
	t.Helper()
	start := time.Now()
	f, dir := startOwnPullFederation(t, "pull", framework.FederationOptions{})
	t.Logf("the federation with member-2 in pull mode was ready in %s", time.Since(start).Round(time.Second))
	p := &pullFederation{f: f, dir: dir,
		host: filepath.Join(dir, "kubeconfigs", "host.kubeconfig"), members: filepath.Join(dir, "kubeconfigs", "federation.kubeconfig")}
	if err := f.WriteKubeconfigs(filepath.Join(dir, "kubeconfigs")); err != nil {
		t.Fatal(err)
	}
	configureHealthCheck(t, f)
	waitDiscovers(t, p.host, "federatednamespaces", "federatedconfigmaps", "federateddeployments")
	return p
}

// registration: case 1.
func (p *pullFederation) registration(t *testing.T) {
	ctx := context.Background()
	const name, other = "member-x", "member-y"
	registrations := p.f.Client.AgentV1alpha1().ClusterRegistrations(federationNamespace)

	token := strings.TrimSpace(p.mustFedhubctlStdout(t, "token", "create", name))
	t.Cleanup(func() {
		// Whatever happened, the federation shared by the next cases must not keep member-x.
		if out, err := fedhubctlOutput(p.members, "unjoin", name, "--ignore-not-found"); err != nil {
			t.Errorf("fedhubctl unjoin %s: %v\n%s", name, err, out)
		}
	})
	bootstrapKubeconfig := tokenKubeconfig(t, p.f, name, token)
	bootstrap := tokenClients(t, p.f, token)

	// The registration fedhub-agent would create, asking to be approved.
	manifest := "apiVersion: agent.fedhub.io/v1alpha1\nkind: ClusterRegistration\nmetadata: {name: NAME, namespace: kube-federation-system}\n" +
		"spec: {apiEndpoint: 'https://NAME.example:6443', approved: true}\n"
	if out, errOut, err := kubectlStdin(bootstrapKubeconfig, strings.ReplaceAll(manifest, "NAME", name), "create", "-f", "-"); err != nil {
		t.Fatalf("the bootstrap identity of %s cannot create its registration: %v\n%s%s", name, err, out, errOut)
	}
	approved := mustKubectlAs(t, p.host, "get", "creg", name, "-n", federationNamespace, "-o", "jsonpath={.spec.approved}")
	if approved == "true" {
		t.Errorf("a registration created with a token without --auto-approve is approved")
	}
	if _, errOut, err := kubectlStdin(bootstrapKubeconfig, strings.ReplaceAll(manifest, "NAME", other), "create", "-f", "-"); err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("kubectl create clusterregistration %s with %s's bootstrap token: err=%v, want Forbidden: %s", other, name, err, errOut)
	}

	tokenRequest := &agentv1alpha1.AgentToken{Spec: agentv1alpha1.AgentTokenSpec{ExpirationSeconds: ptr.To[int64](600)}}
	fieldSelected := metav1.ListOptions{FieldSelector: "metadata.name=" + name}
	for _, check := range []accessCheck{
		{"create clusterregistrations " + other, http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Create(ctx, registration(other), metav1.CreateOptions{})
			return err
		}},
		{"create clusterregistrations/" + name + "/token before approval", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).CreateToken(ctx, name, tokenRequest, metav1.CreateOptions{})
			return err
		}},
		{"create clusterregistrations/member-2/token (another, approved cluster)", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).CreateToken(ctx, "member-2", tokenRequest, metav1.CreateOptions{})
			return err
		}},
		{"get clusterregistrations/member-2", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
			return err
		}},
		{"patch clusterregistrations/" + name + " spec.approved", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Patch(ctx, name, types.MergePatchType,
				[]byte(`{"spec":{"approved":true}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"list clusterregistrations without a selector", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get clusterregistrations/" + name, http.StatusOK, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, name, metav1.GetOptions{})
			return err
		}},
		{"list clusterregistrations with fieldSelector metadata.name=" + name, http.StatusOK, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).List(ctx, fieldSelected)
			return err
		}},
		{"list kubefedclusters", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.CoreV1beta1().KubeFedClusters(federationNamespace).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list federateddeployments in every namespace", http.StatusForbidden, func() error {
			_, err := bootstrap.dynamic.Resource(federatedDeployments).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list works", http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list works of " + name, http.StatusForbidden, func() error {
			_, err := bootstrap.fedhub.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=" + name})
			return err
		}},
		{"list the host's secrets in " + federationNamespace, http.StatusForbidden, func() error {
			_, err := bootstrap.host.CoreV1().Secrets(federationNamespace).List(ctx, metav1.ListOptions{})
			return err
		}},
	} {
		check.expect(t, "bootstrap-"+name)
	}
	if _, err := p.f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("KubeFedCluster %s before its registration is approved: %v, want NotFound", name, err)
	}

	out := p.mustFedhubctlStdout(t, "approve", name)
	t.Logf("fedhubctl approve %s: %s", name, strings.TrimSpace(out))
	var minted *agentv1alpha1.AgentToken
	eventuallyWithin(t, 30*time.Second, "the bootstrap identity obtains the agent's token once approved", func() (string, bool) {
		var err error
		minted, err = bootstrap.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).CreateToken(ctx, name, tokenRequest, metav1.CreateOptions{})
		return describeCode(err), err == nil
	}, "")
	if minted.Status.Token == "" {
		t.Fatalf("the /token answer holds no token: %+v", minted.Status)
	}
	if left := time.Until(minted.Status.ExpirationTimestamp.Time); left <= 0 || left > 11*time.Minute {
		t.Errorf("the agent's token expires in %s, want the 10 minutes asked for", left)
	}
	agentKubeconfig := tokenKubeconfig(t, p.f, name+"-agent", minted.Status.Token)
	who := mustKubectlAs(t, agentKubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if want := "system:serviceaccount:fedhub-agents:agent-" + name; who != want {
		t.Errorf("the minted token authenticates as %q, want %q", who, want)
	}
	if got := mustKubectlAs(t, agentKubeconfig, "get", "creg", name, "-n", federationNamespace, "-o", "name"); strings.TrimSpace(got) != "clusterregistration.agent.fedhub.io/"+name {
		t.Errorf("the agent's identity gets its registration as %q", got)
	}
	eventually(t, "fedhub creates the KubeFedCluster "+name+" in pull mode, naming no Secret", func() (string, bool) {
		out, _, err := kubectlAs(p.host, "get", "kfc", name, "-n", federationNamespace, "-o", "jsonpath={.spec.mode} secretRef={.spec.secretRef.name}")
		return out, err == nil
	}, "Pull secretRef=")

	// Clean up as an administrator would, and check the identity is gone at once.
	out = mustFedhubctl(t, p.members, "unjoin", name)
	t.Logf("fedhubctl unjoin %s:\n%s", name, out)
	agent := tokenClients(t, p.f, minted.Status.Token)
	eventuallyWithin(t, revocationDeadline, "the unjoined agent's token is refused", func() (string, bool) {
		_, err := agent.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, name, metav1.GetOptions{})
		code := httpCode(err)
		return describeCode(err), code == http.StatusUnauthorized || code == http.StatusForbidden
	}, "")
	eventually(t, "ClusterRegistration and KubeFedCluster "+name+" are gone", func() (string, bool) {
		_, regErr := registrations.Get(ctx, name, metav1.GetOptions{})
		_, clusterErr := p.f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, name, metav1.GetOptions{})
		return describeCode(regErr) + " " + describeCode(clusterErr), apierrors.IsNotFound(regErr) && apierrors.IsNotFound(clusterErr)
	}, "")
}

// agentManifests: case 1b. fedhubctl join --mode pull --agent-manifests
// writes the objects that run fedhub-agent in a member as a Deployment; a
// server-side dry run in member-1 (decoding, strict field validation,
// defaulting, admission, Pod Security) accepts every one, and nothing but
// their namespace is created: no agent runs.
func (p *pullFederation) agentManifests(t *testing.T) {
	const name = "member-y"
	dir := t.TempDir()
	manifests, bootstrap := filepath.Join(dir, name+"-agent.yaml"), filepath.Join(dir, name+"-bootstrap.kubeconfig")
	t.Cleanup(func() {
		// No registration was made, so unjoin has nothing to find: the
		// bootstrap ServiceAccount is what join left in the host.
		if _, errOut, err := kubectlAs(p.host, "delete", "serviceaccount", join.BootstrapAccount(name), "-n", "fedhub-agents", "--ignore-not-found"); err != nil {
			t.Errorf("deleting the bootstrap ServiceAccount of %s: %v\n%s", name, err, errOut)
		}
		if _, errOut, err := kubectlAs(p.members, "--context", "member-1", "delete", "namespace", join.AgentMemberNamespace, "--ignore-not-found", "--wait=false"); err != nil {
			t.Errorf("deleting member-1's namespace %s: %v\n%s", join.AgentMemberNamespace, err, errOut)
		}
	})
	out := mustFedhubctl(t, p.members, "join", name, "--mode", "pull", "--bootstrap-kubeconfig", bootstrap,
		"--agent-manifests", manifests, "--agent-image", "registry.example.com/fedhub-agent:e2e")
	t.Logf("fedhubctl join %s --mode pull --agent-manifests:\n%s", name, out)
	if want := "kubectl --context " + name + " apply -f " + manifests; !strings.Contains(out, want) {
		t.Errorf("fedhubctl does not say %q", want)
	}
	info, err := os.Stat(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the agent manifests, which hold the bootstrap token, have mode %v, want 0600", info.Mode().Perm())
	}
	data, err := os.ReadFile(manifests)
	if err != nil {
		t.Fatal(err)
	}

	// A dry run cannot create objects in a namespace that does not exist
	// (NamespaceLifecycle): the file's Namespace is applied for real, so its
	// Pod Security labels also apply to the Deployment's dry run.
	var namespace string
	for _, document := range strings.Split(string(data), "\n---\n") {
		if strings.Contains(document, "\nkind: Namespace\n") {
			namespace = document
		}
	}
	if namespace == "" {
		t.Fatalf("the agent manifests hold no Namespace:\n%s", data)
	}
	if out, errOut, err := kubectlStdin(p.members, namespace, "--context", "member-1", "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply of the agent's Namespace: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := kubectlAs(p.members, "--context", "member-1", "apply", "--dry-run=server", "--validate=strict", "-f", manifests)
	if err != nil {
		t.Fatalf("kubectl --context member-1 apply --dry-run=server --validate=strict -f %s: %v\n%s%s", manifests, err, out, errOut)
	}
	t.Logf("kubectl --context member-1 apply --dry-run=server --validate=strict:\n%s%s", out, errOut)
	if strings.Contains(errOut, "PodSecurity") {
		t.Errorf("the agent's pod does not meet the restricted Pod Security Standard its namespace enforces:\n%s", errOut)
	}
	for _, object := range []string{
		"namespace/fedhub-agent",
		"serviceaccount/fedhub-agent",
		"clusterrole.rbac.authorization.k8s.io/fedhub-agent",
		"clusterrolebinding.rbac.authorization.k8s.io/fedhub-agent",
		"secret/fedhub-agent-bootstrap",
		"persistentvolumeclaim/fedhub-agent-state",
		"deployment.apps/fedhub-agent",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(object) + ` (created|configured|unchanged) \(server dry run\)$`).MatchString(out) {
			t.Errorf("kubectl apply --dry-run=server did not accept %s:\n%s", object, out)
		}
	}
	if _, errOut, err := kubectlAs(p.members, "--context", "member-1", "get", "deployment", "fedhub-agent", "-n", join.AgentMemberNamespace); err == nil || !strings.Contains(errOut, "NotFound") {
		t.Errorf("the dry run created the Deployment fedhub-agent in member-1: %v %s", err, errOut)
	}
}

// rollout: case 2.
func (p *pullFederation) rollout(t *testing.T) {
	mustKubectlAs(t, p.host, "create", "namespace", pullNamespace)
	mustKubectlAs(t, p.host, "apply", "-f", "testdata/pull/workload.yaml")
	mustKubectlAs(t, p.host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", pullNamespace, "--timeout=180s")

	for _, member := range []string{"member-1", "member-2"} {
		out := mustKubectlAs(t, p.members, "--context", member, "get", "deployment", "web", "-n", pullNamespace, "-o",
			`jsonpath={.status.readyReplicas} managed={.metadata.labels.kubefed\.io/managed}`)
		if out != "3 managed=true" {
			t.Errorf("%s's Deployment web: %q, want 3 ready replicas, managed", member, out)
		}
		out = mustKubectlAs(t, p.members, "--context", member, "get", "configmap", "settings", "-n", pullNamespace, "-o", "jsonpath={.data.color}")
		if out != "blue" {
			t.Errorf("%s's ConfigMap settings has color %q, want blue", member, out)
		}
	}
	table := mustKubectlAs(t, p.host, "get", "federateddeployments", "-n", pullNamespace)
	if !regexp.MustCompile(`(?m)^web\s+6/6\s+\S+\s+True\s*$`).MatchString(table) {
		t.Errorf("the table does not show web 6/6 ready and propagated:\n%s", table)
	}
	clusters := mustKubectlAs(t, p.host, "get", "kfc", "-n", federationNamespace, "-o", "wide")
	for member, want := range map[string]string{"member-1": "Push", "member-2": "Pull"} {
		if got := tableCell(clusters, member, "MODE"); got != want {
			t.Errorf("kubectl get kfc -o wide shows %s with MODE %q, want %s:\n%s", member, got, want, clusters)
		}
		if got := tableCell(clusters, member, "READY"); got != "True" {
			t.Errorf("kubectl get kfc -o wide shows %s with READY %q, want True:\n%s", member, got, clusters)
		}
	}
}

// noCredential: case 3.
func (p *pullFederation) noCredential(t *testing.T) {
	ctx := context.Background()
	member1, member2 := p.f.Members[0], p.f.Members[1]

	cluster := getCluster(t, p.f, "member-2")
	if cluster.Spec.SecretRef.Name != "" || cluster.Spec.Mode != corev1beta1.ClusterModePull {
		t.Errorf("KubeFedCluster member-2: mode %q, secretRef %q; want Pull and none", cluster.Spec.Mode, cluster.Spec.SecretRef.Name)
	}

	scan := newCredentialScan(t, p.dir, member2)
	// member-1's credential proves the scan finds what is there.
	control := newCredentialScan(t, p.dir, member1)

	secrets, err := p.f.Host.Client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var member1Secret bool
	for _, secret := range secrets.Items {
		where := "host Secret " + secret.Namespace + "/" + secret.Name
		endpoint := secret.Annotations["fedhub.io/api-endpoint"]
		if secret.Namespace == federationNamespace && secret.Name == "member-2" {
			t.Errorf("%s exists: it is named after the pull member", where)
		}
		if endpoint == member2.URL {
			t.Errorf("%s is annotated with member-2's endpoint %s", where, endpoint)
		}
		for _, found := range scan.inSecret(secret) {
			t.Errorf("%s holds %s", where, found)
		}
		if endpoint == member1.URL && len(control.inSecret(secret)) > 0 {
			member1Secret = true
		}
	}
	if !member1Secret {
		t.Errorf("no host Secret annotated with member-1's endpoint holds member-1's token: the scan finds nothing, or push mode is broken")
	}

	// Everything fedhub serves, as kubectl reads it through the host.
	var resources []string
	for _, apiService := range p.f.Fedhub.APIServices {
		_, group, _ := strings.Cut(apiService, ".")
		out := mustKubectlAs(t, p.host, "api-resources", "--api-group="+group, "--verbs=list", "-o", "name")
		resources = append(resources, strings.Fields(out)...)
	}
	for _, want := range []string{"kubefedclusters.core.kubefed.io", "clusterregistrations.agent.fedhub.io", "works.agent.fedhub.io", "federateddeployments.types.kubefed.io"} {
		if !slices.Contains(resources, want) {
			t.Errorf("the host's discovery does not list %s among fedhub's resources %v", want, resources)
		}
	}
	served := mustKubectlAs(t, p.host, "get", strings.Join(resources, ","), "-A", "-o", "json")
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(served), &list); err != nil {
		t.Fatal(err)
	}
	works := 0
	for _, item := range list.Items {
		if item["kind"] == "Work" {
			works++
		}
		metadata, _ := item["metadata"].(map[string]any)
		where := fmt.Sprintf("%v %v/%v", item["kind"], metadata["namespace"], metadata["name"])
		for _, found := range scan.inJSON(item) {
			t.Errorf("fedhub serves %s holding %s", where, found)
		}
	}
	if works == 0 {
		t.Errorf("fedhub serves no Work, though member-2 runs the workload: the scan did not see them")
	}
	t.Logf("scanned %d host Secrets and %d objects of %d fedhub resources", len(secrets.Items), len(list.Items), len(resources))

	// join's push artifacts are not in the pull member.
	if _, err := member2.Client.CoreV1().ServiceAccounts(federationNamespace).Get(ctx, join.Identity("member-2"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("member-2 has ServiceAccount %s/%s (err %v): push mode's identity", federationNamespace, join.Identity("member-2"), err)
	}
	if _, err := member2.Client.RbacV1().ClusterRoles().Get(ctx, join.Identity("member-2"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("member-2 has ClusterRole %s (err %v): push mode's rights", join.Identity("member-2"), err)
	}
	if _, err := member2.Client.RbacV1().ClusterRoleBindings().Get(ctx, join.Identity("member-2"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("member-2 has ClusterRoleBinding %s (err %v): push mode's rights", join.Identity("member-2"), err)
	}
}

// scoping: case 4.
func (p *pullFederation) scoping(t *testing.T) {
	ctx := context.Background()
	path := p.agentIdentityKubeconfig()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the agent's identity: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, mode)
	}
	agent := kubeconfigClients(t, path)
	who, err := agent.host.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:fedhub-agents:agent-member-2"; who.Status.UserInfo.Username != want {
		t.Errorf("identity.kubeconfig authenticates as %q, want %q", who.Status.UserInfo.Username, want)
	}

	admin := p.f.Client
	member1, err := admin.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "member-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	member2, err := admin.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ownRegistration, err := admin.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := admin.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Items) == 0 {
		t.Fatal("member-2 has no Works")
	}
	dryRun := []string{metav1.DryRunAll}
	registrations := agent.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace)
	works := agent.fedhub.AgentV1alpha1().Works(federationNamespace)
	var ownWorks int
	for _, check := range []accessCheck{
		{"list works with fieldSelector spec.clusterName=member-1", http.StatusForbidden, func() error {
			_, err := works.List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-1"})
			return err
		}},
		{"list works without a selector", http.StatusForbidden, func() error {
			_, err := works.List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch works without a selector", http.StatusForbidden, func() error {
			w, err := works.Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"get clusterregistrations/member-1", http.StatusForbidden, func() error {
			_, err := registrations.Get(ctx, "member-1", metav1.GetOptions{})
			return err
		}},
		{"update clusterregistrations/member-1", http.StatusForbidden, func() error {
			_, err := registrations.Update(ctx, registration("member-1"), metav1.UpdateOptions{DryRun: dryRun})
			return err
		}},
		{"update clusterregistrations/member-1/status", http.StatusForbidden, func() error {
			_, err := registrations.UpdateStatus(ctx, registration("member-1"), metav1.UpdateOptions{DryRun: dryRun})
			return err
		}},
		{"create clusterregistrations/member-1/token", http.StatusForbidden, func() error {
			_, err := registrations.CreateToken(ctx, "member-1", &agentv1alpha1.AgentToken{Spec: agentv1alpha1.AgentTokenSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
			return err
		}},
		{"update its own clusterregistrations/member-2 (spec)", http.StatusForbidden, func() error {
			_, err := registrations.Update(ctx, ownRegistration, metav1.UpdateOptions{DryRun: dryRun})
			return err
		}},
		{"update kubefedclusters/member-1/status", http.StatusForbidden, func() error {
			_, err := agent.fedhub.CoreV1beta1().KubeFedClusters(federationNamespace).UpdateStatus(ctx, member1, metav1.UpdateOptions{DryRun: dryRun})
			return err
		}},
		{"update its own kubefedclusters/member-2/status", http.StatusForbidden, func() error {
			_, err := agent.fedhub.CoreV1beta1().KubeFedClusters(federationNamespace).UpdateStatus(ctx, member2, metav1.UpdateOptions{DryRun: dryRun})
			return err
		}},
		{"get federateddeployments " + pullNamespace + "/web", http.StatusForbidden, func() error {
			_, err := agent.dynamic.Resource(federatedDeployments).Namespace(pullNamespace).Get(ctx, "web", metav1.GetOptions{})
			return err
		}},
		{"patch the spec of its own Work " + own.Items[0].Name, http.StatusForbidden, func() error {
			_, err := works.Patch(ctx, own.Items[0].Name, types.MergePatchType, []byte(`{"spec":{"orphan":true}}`), metav1.PatchOptions{DryRun: dryRun})
			return err
		}},
		{"delete its own Work " + own.Items[0].Name, http.StatusForbidden, func() error {
			return works.Delete(ctx, own.Items[0].Name, metav1.DeleteOptions{DryRun: dryRun})
		}},
		{"list the host's secrets in " + federationNamespace, http.StatusForbidden, func() error {
			_, err := agent.host.CoreV1().Secrets(federationNamespace).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list its own works (spec.clusterName=member-2)", http.StatusOK, func() error {
			list, err := works.List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
			if err == nil {
				ownWorks = len(list.Items)
			}
			return err
		}},
		{"get its own clusterregistrations/member-2", http.StatusOK, func() error {
			_, err := registrations.Get(ctx, "member-2", metav1.GetOptions{})
			return err
		}},
	} {
		check.expect(t, "agent-member-2")
	}
	if ownWorks != len(own.Items) {
		t.Errorf("the agent lists %d Works of member-2, the administrator %d", ownWorks, len(own.Items))
	}
}

// drift: case 5.
func (p *pullFederation) drift(t *testing.T) {
	mustKubectlAs(t, p.members, "--context", "member-2", "scale", "deployment", "web", "-n", pullNamespace, "--replicas=1")
	eventually(t, "member-2's Deployment is restored to 3 ready replicas", func() (string, bool) {
		out, _, err := kubectlAs(p.members, "--context", "member-2", "get", "deployment", "web", "-n", pullNamespace, "-o",
			"jsonpath={.spec.replicas}/{.status.readyReplicas}")
		return out, err == nil
	}, "3/3")
	driftEvent(t, p.host, "FederatedDeployment", "web")

	mustKubectlAs(t, p.members, "--context", "member-2", "patch", "configmap", "settings", "-n", pullNamespace, "--type=merge", "-p", `{"data":{"color":"red"}}`)
	eventually(t, "member-2's ConfigMap is restored", func() (string, bool) {
		out, _, err := kubectlAs(p.members, "--context", "member-2", "get", "configmap", "settings", "-n", pullNamespace, "-o", "jsonpath={.data.color}")
		return out, err == nil
	}, "blue")
	driftEvent(t, p.host, "FederatedConfigMap", "settings")
}

// driftEvent waits for the host's DriftCorrected event on the federated object naming member-2.
func driftEvent(t *testing.T, host, kind, name string) {
	t.Helper()
	eventually(t, "a DriftCorrected event on "+kind+" "+name+" names member-2", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "events", "-n", pullNamespace, "--field-selector",
			"reason=DriftCorrected,involvedObject.kind="+kind+",involvedObject.name="+name, "-o", `jsonpath={range .items[*]}{.message}{"\n"}{end}`)
		return out, err == nil && strings.Contains(out, "in cluster member-2")
	}, "")
}

// agentStopped: case 6.
func (p *pullFederation) agentStopped(t *testing.T) {
	ctx := context.Background()
	member2 := p.f.Members[1]
	t.Cleanup(func() {
		// The next cases need the agent.
		if exited, _ := member2.Agent.Exited(); exited {
			if err := member2.StartAgent(); err != nil {
				t.Error(err)
			} else if err := p.f.WaitClusterReady(ctx, "member-2"); err != nil {
				t.Error(err)
			}
		}
	})
	worksBefore := p.workGenerations(t)

	stopped := time.Now()
	member2.StopAgent()
	cluster := waitForHealth(t, p.f, "member-2", corev1beta1.ClusterReady, corev1.ConditionFalse, "ClusterNotReachable")
	t.Logf("member-2 turned unready %s after its agent stopped (lease %s): %s", time.Since(stopped).Round(100*time.Millisecond), pullAgentLease,
		ptr.Deref(condition(cluster, corev1beta1.ClusterReady).Message, ""))
	if offline := condition(cluster, corev1beta1.ClusterOffline); offline == nil || offline.Status != corev1.ConditionTrue {
		t.Errorf("member-2 is not Offline=True: %+v", cluster.Status.Conditions)
	}
	// Unready once the lease has run out, not before, and reported when it lapses.
	lease, err := p.f.Client.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Status.RenewTime == nil {
		t.Fatalf("ClusterRegistration member-2 has no renewTime: %+v", lease.Status)
	}
	expiry := lease.Status.RenewTime.Add(time.Duration(lease.Status.LeaseDurationSeconds) * time.Second)
	if lease.Status.LeaseDurationSeconds != int32(pullAgentLease/time.Second) {
		t.Errorf("the agent reports a lease of %ds, want the %s it was started with", lease.Status.LeaseDurationSeconds, pullAgentLease)
	}
	// lastTransitionTime has a resolution of a second.
	ready := condition(cluster, corev1beta1.ClusterReady)
	if ready.LastTransitionTime == nil {
		t.Fatalf("member-2's Ready condition has no lastTransitionTime: %+v", ready)
	}
	if transition := ready.LastTransitionTime.Time; transition.Before(expiry.Truncate(time.Second)) || transition.After(expiry.Add(leaseReportBound)) {
		t.Errorf("member-2 turned unready at %s; its lease expired at %s: want then, within %s", transition.UTC().Format(time.RFC3339), expiry.UTC().Format(time.RFC3339Nano), leaseReportBound)
	}
	eventually(t, "the FederatedDeployment reports member-2 not ready", func() (string, bool) {
		out, _, err := kubectlAs(p.host, "get", "federateddeployment", "web", "-n", pullNamespace, "-o",
			`jsonpath={.status.clusters[?(@.name=="member-2")].status}`)
		return out, err == nil
	}, "ClusterNotReady")
	for _, member := range []string{"member-1", "member-2"} {
		out := mustKubectlAs(t, p.members, "--context", member, "get", "deployment", "web", "-n", pullNamespace, "-o", "jsonpath={.status.readyReplicas}")
		if out != "3" {
			t.Errorf("%s's Deployment web has %q ready replicas while member-2's agent is stopped, want 3", member, out)
		}
	}
	mustKubectlAs(t, p.host, "get", "federateddeployment", "web", "-n", pullNamespace)
	if during := p.workGenerations(t); !mapsEqual(during, worksBefore) {
		t.Errorf("member-2's Works changed while its agent was stopped: before %v, now %v", worksBefore, during)
	}

	// What a restart must not write.
	versions := p.memberVersions(t)
	applies := memberApplies(t, member2)
	if applies == 0 {
		t.Errorf("member-2's kube-apiserver counts no server-side apply of deployments, configmaps or namespaces, " +
			"though the agent applied the workload: the count cannot show a restart's writes")
	}
	if err := member2.StartAgent(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := p.f.WaitClusterReady(ctx, "member-2"); err != nil {
		t.Fatal(err)
	}
	t.Logf("member-2 was Ready %s after its agent restarted", time.Since(restarted).Round(100*time.Millisecond))
	eventually(t, "every Work of member-2 reports on its current generation", func() (string, bool) {
		works, err := p.f.Client.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
		if err != nil {
			return err.Error(), false
		}
		var stale []string
		for _, work := range works.Items {
			if work.Status.ObservedGeneration != work.Generation || work.Status.Result != "" {
				stale = append(stale, fmt.Sprintf("%s (generation %d, observed %d, result %q)", work.Name, work.Generation, work.Status.ObservedGeneration, work.Status.Result))
			}
		}
		return strings.Join(stale, ", "), len(works.Items) > 0 && len(stale) == 0
	}, "")
	mustKubectlAs(t, p.host, "wait", "--for=condition=Ready", "federateddeployment/web", "-n", pullNamespace, "--timeout=90s")
	consistently(t, settleSpan, "the restarted agent leaves member-2's objects as they were", func() (string, bool) {
		now := p.memberVersions(t)
		return describeChanges(versions, now), true
	}, "")
	if after := memberApplies(t, member2); after != applies {
		t.Errorf("the restarted agent sent %v server-side applies to member-2's deployments, configmaps and namespaces; want none", after-applies)
	}
	if after := p.workGenerations(t); !mapsEqual(after, worksBefore) {
		t.Errorf("member-2's Works changed across the outage: before %v, after %v", worksBefore, after)
	}
}

// replicaScheduling: case 7.
func (p *pullFederation) replicaScheduling(t *testing.T) {
	mustKubectlAs(t, p.host, "apply", "-f", "testdata/pull/rsp.yaml")
	for member, want := range map[string]string{"member-1": "4/4", "member-2": "2/2"} {
		eventuallyWithin(t, crdDeadline, member+" runs "+want+" replicas of spread", func() (string, bool) {
			out, _, err := kubectlAs(p.members, "--context", member, "get", "deployment", "spread", "-n", pullNamespace, "-o",
				"jsonpath={.spec.replicas}/{.status.readyReplicas}")
			return out, err == nil
		}, want)
	}
	eventually(t, "the preference reports its plan", func() (string, bool) {
		out, _, err := kubectlAs(p.host, "get", "rsp", "spread", "-n", pullNamespace, "-o",
			`jsonpath={range .status.clusters[*]}{.name}={.replicas} {end}{.status.conditions[?(@.type=="Scheduled")].reason}`)
		return strings.TrimSpace(out), err == nil
	}, "member-1=4 member-2=2 Scheduled")
	mustKubectlAs(t, p.host, "wait", "--for=condition=Ready", "federateddeployment/spread", "-n", pullNamespace, "--timeout=90s")
	table := mustKubectlAs(t, p.host, "get", "federateddeployments", "spread", "-n", pullNamespace)
	if !regexp.MustCompile(`(?m)^spread\s+6/6\s`).MatchString(table) {
		t.Errorf("the table does not show spread 6/6 ready:\n%s", table)
	}
}

// unjoin: case 8; it runs last.
func (p *pullFederation) unjoin(t *testing.T) {
	ctx := context.Background()
	member2 := p.f.Members[1]
	agent := kubeconfigClients(t, p.agentIdentityKubeconfig())
	if _, err := agent.fedhub.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"}); err != nil {
		t.Fatalf("before unjoin the agent's identity cannot list its Works: %v", err)
	}

	out := mustFedhubctl(t, p.members, "unjoin", "member-2")
	t.Logf("fedhubctl unjoin member-2:\n%s", out)
	unjoined := time.Now()
	for _, check := range []struct {
		what string
		call func() error
	}{
		{"list its Works", func() error {
			_, err := agent.fedhub.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
			return err
		}},
		{"renew its lease", func() error {
			_, err := agent.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).Patch(ctx, "member-2", types.MergePatchType,
				[]byte(`{"status":{"leaseDurationSeconds":8}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}, "status")
			return err
		}},
		{"mint a token", func() error {
			_, err := agent.fedhub.AgentV1alpha1().ClusterRegistrations(federationNamespace).CreateToken(ctx, "member-2",
				&agentv1alpha1.AgentToken{Spec: agentv1alpha1.AgentTokenSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
			return err
		}},
	} {
		var answers []string
		eventuallyWithin(t, revocationDeadline, "the unjoined agent's identity is refused to "+check.what, func() (string, bool) {
			err := check.call()
			code := httpCode(err)
			answers = append(answers, strconv.Itoa(code))
			return describeCode(err), code == http.StatusUnauthorized || code == http.StatusForbidden
		}, "")
		t.Logf("%s: answered %s, %s after the unjoin", check.what, strings.Join(answers, " then "), time.Since(unjoined).Round(10*time.Millisecond))
	}

	eventually(t, "the agent exits", func() (string, bool) {
		exited, _ := member2.Agent.Exited()
		return "", exited
	}, "")
	if _, err := member2.Agent.Exited(); err != nil {
		t.Errorf("the unjoined agent exited with %v, want status 0: %v", err, member2.Agent.Failure("unjoined"))
	}
	for _, object := range []struct{ kind, name string }{{"deployment", "web"}, {"deployment", "spread"}, {"configmap", "settings"}} {
		eventually(t, "member-2's "+object.kind+" "+object.name+" is deleted", memberGone(p.members, "member-2", object.kind, object.name, pullNamespace), "")
	}
	eventually(t, "member-2's namespace "+pullNamespace+" is deleted", func() (string, bool) {
		_, errOut, err := kubectlAs(p.members, "--context", "member-2", "get", "namespace", pullNamespace)
		return strings.TrimSpace(errOut), err != nil && strings.Contains(errOut, "NotFound")
	}, "")
	eventually(t, "KubeFedCluster and ClusterRegistration member-2 are gone", func() (string, bool) {
		_, clusterErr := p.f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
		_, regErr := p.f.Client.AgentV1alpha1().ClusterRegistrations(federationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
		return describeCode(clusterErr) + " " + describeCode(regErr), apierrors.IsNotFound(clusterErr) && apierrors.IsNotFound(regErr)
	}, "")
	eventually(t, "no Work of member-2 is left", func() (string, bool) {
		works, err := p.f.Client.AgentV1alpha1().Works(federationNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err.Error(), false
		}
		var left []string
		for _, work := range works.Items {
			if work.Spec.ClusterName == "member-2" {
				left = append(left, work.Name)
			}
		}
		return strings.Join(left, " "), len(left) == 0
	}, "")
	for _, name := range []string{"web", "spread"} {
		out := mustKubectlAs(t, p.members, "--context", "member-1", "get", "deployment", name, "-n", pullNamespace, "-o", "jsonpath={.status.readyReplicas}")
		if out == "" || out == "0" {
			t.Errorf("member-1's Deployment %s has %q ready replicas after member-2's unjoin", name, out)
		}
	}
}

// accessCheck is one request by an identity and the HTTP status it must get.
type accessCheck struct {
	what string
	want int
	call func() error
}

func (c accessCheck) expect(t *testing.T, identity string) {
	t.Helper()
	err := c.call()
	if got := httpCode(err); got != c.want {
		t.Errorf("%s: %s answered %d (%v), want %d", identity, c.what, got, err, c.want)
	}
}

// httpCode is the HTTP status a request's error stands for: 200 without one.
func httpCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return int(status.Status().Code)
	}
	return -1
}

func describeCode(err error) string {
	if err == nil {
		return "200"
	}
	return fmt.Sprintf("%d %v", httpCode(err), err)
}

// clients reach the host (and fedhub through it) as one identity.
type clients struct {
	host    kubernetes.Interface
	fedhub  clientset.Interface
	dynamic dynamic.Interface
}

func newClients(t *testing.T, config *rest.Config) clients {
	t.Helper()
	var c clients
	var err error
	if c.host, err = kubernetes.NewForConfig(config); err != nil {
		t.Fatal(err)
	}
	if c.fedhub, err = clientset.NewForConfig(config); err != nil {
		t.Fatal(err)
	}
	if c.dynamic, err = dynamic.NewForConfig(config); err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenClients reach the host with a bearer token and nothing else.
func tokenClients(t *testing.T, f *framework.Federation, token string) clients {
	t.Helper()
	config := rest.AnonymousClientConfig(f.Host.AdminConfig)
	config.BearerToken = token
	return newClients(t, config)
}

func kubeconfigClients(t *testing.T, path string) clients {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return newClients(t, config)
}

// tokenKubeconfig writes a kubeconfig that reaches the host with token alone.
func tokenKubeconfig(t *testing.T, f *framework.Federation, name, token string) string {
	t.Helper()
	config, err := join.BootstrapKubeconfig(f.Host.AdminConfig, name, token)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// agentIdentityKubeconfig is where member-2's agent keeps its identity: its
// state directory, as the framework starts it (docs/design.md).
func (p *pullFederation) agentIdentityKubeconfig() string {
	return filepath.Join(p.dir, "member-2", "agent", "state", "identity.kubeconfig")
}

func registration(name string) *agentv1alpha1.ClusterRegistration {
	return &agentv1alpha1.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: federationNamespace},
		Spec:       agentv1alpha1.ClusterRegistrationSpec{APIEndpoint: "https://" + name + ".example:6443"},
	}
}

// mustFedhubctlStdout runs fedhubctl and returns its standard output alone.
func (p *pullFederation) mustFedhubctlStdout(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(fedhubctl, append([]string{"--kubeconfig", p.members, "--host-cluster-context", "host"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("fedhubctl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// kubectlStdin runs kubectl with manifest on its standard input.
func kubectlStdin(kubeconfig, manifest string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(manifest)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// tableCell is the cell of a kubectl table in the row whose first column is
// row, under the header column; cells are read by the header's alignment,
// so an empty cell is "".
func tableCell(table, row, column string) string {
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := lines[0]
	starts := []int{}
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	index := slices.Index(strings.Fields(header), column)
	if index < 0 {
		return ""
	}
	for _, line := range lines[1:] {
		if fields := strings.Fields(line); len(fields) == 0 || fields[0] != row {
			continue
		}
		start, end := starts[index], len(line)
		if index+1 < len(starts) {
			end = min(starts[index+1], len(line))
		}
		if start >= len(line) {
			return ""
		}
		return strings.TrimSpace(line[start:end])
	}
	return ""
}

// workGenerations are the generations of member-2's Works, by name.
func (p *pullFederation) workGenerations(t *testing.T) map[string]string {
	t.Helper()
	works, err := p.f.Client.AgentV1alpha1().Works(federationNamespace).List(context.Background(), metav1.ListOptions{FieldSelector: "spec.clusterName=member-2"})
	if err != nil {
		t.Fatal(err)
	}
	generations := map[string]string{}
	for _, work := range works.Items {
		generations[work.Name] = strconv.FormatInt(work.Generation, 10)
	}
	return generations
}

// memberVersions describe what fedhub manages in member-2 by what only a
// write of its own changes: the namespace's and the ConfigMap's
// resourceVersion, and the Deployment's generation and the time of fedhub's
// managedFields entry (its status changes with its pods).
func (p *pullFederation) memberVersions(t *testing.T) map[string]string {
	t.Helper()
	get := func(args ...string) string {
		out, errOut, err := kubectlAs(p.members, append([]string{"--context", "member-2"}, args...)...)
		if err != nil {
			return "error: " + strings.TrimSpace(errOut)
		}
		return out
	}
	return map[string]string{
		"namespace " + pullNamespace: get("get", "namespace", pullNamespace, "-o", "jsonpath={.metadata.resourceVersion}"),
		"configmap settings":         get("get", "configmap", "settings", "-n", pullNamespace, "-o", "jsonpath={.metadata.resourceVersion}"),
		"deployment web": get("get", "deployment", "web", "-n", pullNamespace, "-o",
			`jsonpath=generation={.metadata.generation} fedhub={.metadata.managedFields[?(@.manager=="fedhub")].time}`),
	}
}

func describeChanges(before, after map[string]string) string {
	var changes []string
	for key, value := range before {
		if after[key] != value {
			changes = append(changes, fmt.Sprintf("%s: %q -> %q", key, value, after[key]))
		}
	}
	slices.Sort(changes)
	return strings.Join(changes, "; ")
}

func mapsEqual(a, b map[string]string) bool {
	return describeChanges(a, b) == "" && len(a) == len(b)
}

// memberApplies counts the server-side applies member's kube-apiserver has
// served on deployments, configmaps and namespaces: only fedhub-agent applies
// there.
func memberApplies(t *testing.T, member *framework.Cluster) float64 {
	t.Helper()
	metrics, err := member.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for line := range strings.SplitSeq(string(metrics), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `verb="APPLY"`) ||
			!strings.Contains(line, `dry_run=""`) || !strings.Contains(line, `subresource=""`) {
			continue
		}
		if !strings.Contains(line, `resource="deployments"`) && !strings.Contains(line, `resource="configmaps"`) && !strings.Contains(line, `resource="namespaces"`) {
			continue
		}
		value, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatalf("a metrics line: %q: %v", line, err)
		}
		total += value
	}
	return total
}

// credentialScan finds a member's credentials in text: its administrator's
// client certificate and key (as kubeconfigs and PEM files hold them), and
// any JWT its service account key signed (the member's ServiceAccount tokens).
type credentialScan struct {
	member   string
	literals map[string]string
	key      *ecdsa.PublicKey
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

func newCredentialScan(t *testing.T, dir string, member *framework.Cluster) *credentialScan {
	t.Helper()
	tls := rest.CopyConfig(member.AdminConfig)
	if err := rest.LoadTLSFiles(tls); err != nil {
		t.Fatal(err)
	}
	if len(tls.CertData) == 0 || len(tls.KeyData) == 0 {
		t.Fatalf("%s's administrator has no client certificate to look for", member.Name)
	}
	s := &credentialScan{member: member.Name, literals: map[string]string{}}
	for what, pem := range map[string][]byte{"client certificate": tls.CertData, "client key": tls.KeyData} {
		what = member.Name + "'s administrator's " + what
		s.literals[base64.StdEncoding.EncodeToString(pem)] = what + " (base64)"
		// A line of the PEM body finds it however the PEM is quoted.
		for _, line := range strings.Split(string(pem), "\n") {
			if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
				s.literals[line] = what + " (PEM)"
				break
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, member.Name, "service-account.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	private, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("%s's service account key is a %T, not the ECDSA key the scan verifies with", member.Name, key)
	}
	s.key = &private.PublicKey
	return s
}

// in lists what of the member's credentials text holds.
func (s *credentialScan) in(text string) []string {
	var found []string
	for literal, what := range s.literals {
		if strings.Contains(text, literal) {
			found = append(found, what)
		}
	}
	for _, token := range jwtPattern.FindAllString(text, -1) {
		if s.signed(token) {
			found = append(found, "a ServiceAccount token of "+s.member)
		}
	}
	return found
}

// inSecret looks at a Secret's data, string data and annotations.
func (s *credentialScan) inSecret(secret corev1.Secret) []string {
	var found []string
	for _, value := range secret.Data {
		found = append(found, s.inDecoded(string(value))...)
	}
	for _, value := range secret.StringData {
		found = append(found, s.inDecoded(value)...)
	}
	for _, value := range secret.Annotations {
		found = append(found, s.inDecoded(value)...)
	}
	return found
}

// inJSON looks at every string of a decoded JSON value.
func (s *credentialScan) inJSON(value any) []string {
	switch v := value.(type) {
	case map[string]any:
		var found []string
		for _, item := range v {
			found = append(found, s.inJSON(item)...)
		}
		return found
	case []any:
		var found []string
		for _, item := range v {
			found = append(found, s.inJSON(item)...)
		}
		return found
	case string:
		return s.inDecoded(v)
	}
	return nil
}

// inDecoded looks at a string and, when it is base64 (a Secret's data in a
// federated template), at what it encodes.
func (s *credentialScan) inDecoded(value string) []string {
	found := s.in(value)
	if decoded, err := base64.StdEncoding.DecodeString(value); err == nil && len(decoded) > 0 {
		found = append(found, s.in(string(decoded))...)
	}
	return found
}

// signed tells whether the member's service account key signed the JWT (ES256).
func (s *credentialScan) signed(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(signature) != 64 {
		return false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, sig := new(big.Int).SetBytes(signature[:32]), new(big.Int).SetBytes(signature[32:])
	return ecdsa.Verify(s.key, digest[:], r, sig)
}
