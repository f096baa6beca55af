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
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
)

// TestHostServesFedhubKinds: through the host's aggregator, kubectl sees
// fedhub's kinds and the joined members.
func TestHostServesFedhubKinds(t *testing.T) {
	sharedFederation(t)
	out := mustKubectlAs(t, hostKubeconfig(), "api-resources", "--api-group=core.kubefed.io", "-o", "name")
	for _, want := range []string{"kubefedclusters.core.kubefed.io", "kubefedconfigs.core.kubefed.io", "federatedtypeconfigs.core.kubefed.io"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl api-resources on the host does not list %s:\n%s", want, out)
		}
	}
	out = mustKubectlAs(t, hostKubeconfig(), "api-resources", "--api-group=scheduling.kubefed.io", "-o", "name")
	if !strings.Contains(out, "replicaschedulingpreferences.scheduling.kubefed.io") {
		t.Errorf("kubectl api-resources on the host does not list replicaschedulingpreferences:\n%s", out)
	}

	// kubectl wait works on KubeFedClusters as on any resource with conditions.
	mustKubectlAs(t, hostKubeconfig(), "wait", "--for=condition=Ready", "kubefedclusters", "--all", "-n", "kube-federation-system", "--timeout=60s")
	out = mustKubectlAs(t, hostKubeconfig(), "get", "kubefedclusters", "-n", "kube-federation-system", "-o", "wide")
	assertColumns(t, out, "NAME", "AGE", "READY", "MODE", "KUBERNETES-VERSION", "REGION", "ZONES", "API-ENDPOINT")
	for _, member := range []string{"member-1", "member-2"} {
		if !regexp.MustCompile(`(?m)^` + member + `\s+\S+\s+True\s+Push\s+v1\.37\.2\s+https://127\.0\.0\.1:\d+\s*$`).MatchString(out) {
			t.Errorf("%s is not listed with its endpoint:\n%s", member, out)
		}
	}
}

// TestKubeFedManifestsThroughHost: KubeFed's own manifests apply through the
// host, and what was stored is what a program reads with the generated clientset.
func TestKubeFedManifestsThroughHost(t *testing.T) {
	f := sharedFederation(t)
	out := mustKubectlAs(t, hostKubeconfig(), "apply",
		"-f", "testdata/kubefed/federatedtypeconfig.yaml", "-f", "testdata/kubefed/kubefedcluster.yaml")
	// deployments.apps exists from the first start; KubeFed's manifest of it applies over it.
	if !regexp.MustCompile(`federatedtypeconfig.core.kubefed.io/deployments.apps (configured|unchanged)`).MatchString(out) ||
		!strings.Contains(out, "kubefedcluster.core.kubefed.io/cluster2 created") {
		t.Errorf("kubectl apply through the host printed:\n%s", out)
	}

	ctx := context.Background()
	ftc, err := f.Client.CoreV1beta1().FederatedTypeConfigs("kube-federation-system").Get(ctx, "deployments.apps", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the FederatedTypeConfig with the clientset: %v", err)
	}
	if got := ftc.Spec.TargetType.Group + "/" + ftc.Spec.TargetType.Version + "/" + ftc.Spec.TargetType.Kind; got != "apps/v1/Deployment" {
		t.Errorf("FederatedTypeConfig target is %s, want apps/v1/Deployment", got)
	}
	cluster, err := f.Client.CoreV1beta1().KubeFedClusters("kube-federation-system").Get(ctx, "cluster2", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the KubeFedCluster with the clientset: %v", err)
	}
	if cluster.Spec.APIEndpoint != "https://172.18.0.3:6443" || cluster.Spec.SecretRef.Name != "cluster2-x7b9q" {
		t.Errorf("KubeFedCluster spec is %+v", cluster.Spec)
	}
	mustKubectlAs(t, hostKubeconfig(), "delete", "-f", "testdata/kubefed/kubefedcluster.yaml")
}

// TestHostRBACGovernsFedhub: the host's RBAC decides, through the aggregated
// path, who may read fedhub's objects.
func TestHostRBACGovernsFedhub(t *testing.T) {
	f := sharedFederation(t)
	stranger := userKubeconfig(t, f, "stranger")
	_, errOut, err := kubectlAs(stranger, "get", "kubefedclusters", "-n", "kube-federation-system")
	if err == nil || !strings.Contains(errOut, "Forbidden") || !strings.Contains(errOut, `User "stranger" cannot list resource "kubefedclusters"`) {
		t.Errorf("a user without RBAC: err=%v, stderr=%s", err, errOut)
	}

	// The same refusal, as a program sees it: a 403 Status from the aggregated path.
	strangerConfig, err := f.Host.UserConfig("stranger")
	if err != nil {
		t.Fatal(err)
	}
	strangerClient, err := clientset.NewForConfig(strangerConfig)
	if err != nil {
		t.Fatal(err)
	}
	_, err = strangerClient.CoreV1beta1().KubeFedClusters("kube-federation-system").List(context.Background(), metav1.ListOptions{})
	if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != 403 {
		t.Errorf("the clientset as a user without RBAC: got %v, want a 403 Status", err)
	}

	mustKubectlAs(t, hostKubeconfig(), "create", "clusterrolebinding", "observer-views-federation",
		"--clusterrole=fedhub:federation-viewer", "--user=observer")
	observer := userKubeconfig(t, f, "observer")
	out := mustKubectlAs(t, observer, "get", "kubefedclusters", "-n", "kube-federation-system", "-o", "name")
	if !strings.Contains(out, "kubefedcluster.core.kubefed.io/member-1") {
		t.Errorf("a federation viewer lists:\n%s", out)
	}
	if _, errOut, err := kubectlAs(observer, "delete", "kubefedcluster", "member-1", "-n", "kube-federation-system", "--dry-run=server"); err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("a federation viewer deleting a cluster: err=%v, stderr=%s", err, errOut)
	}
	for _, resource := range []string{"federatedtypeconfigs", "kubefedconfigs", "replicaschedulingpreferences", "federatedconfigmaps"} {
		if _, errOut, err := kubectlAs(observer, "get", resource, "-A"); err != nil {
			t.Errorf("a federation viewer listing %s: %v\n%s", resource, err, errOut)
		}
	}
	// Reading fedhub's objects is not reading the members: no proxy.
	if _, errOut, err := kubectlAs(observer, "get", "--raw", "/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters/member-1/proxy/api/v1/namespaces"); err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("a federation viewer reading member-1 through the proxy: err=%v, stderr=%s", err, errOut)
	}

	// A namespace viewer, through the host's aggregated view role, reads
	// scheduling preferences in that namespace and nothing of the platform's.
	mustKubectlAs(t, hostKubeconfig(), "create", "namespace", "rbac-e2e")
	mustKubectlAs(t, hostKubeconfig(), "create", "rolebinding", "viewer", "-n", "rbac-e2e", "--clusterrole=view", "--user=viewer")
	viewer := userKubeconfig(t, f, "viewer")
	// The host's controller manager aggregates fedhub's rules into view shortly after they appear.
	var lastErr string
	err = wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, errOut, err := kubectlAs(viewer, "get", "replicaschedulingpreferences", "-n", "rbac-e2e")
		lastErr = errOut
		return err == nil, nil
	})
	if err != nil {
		t.Errorf("a namespace viewer cannot list preferences: %s", lastErr)
	}
	if _, errOut, err := kubectlAs(viewer, "get", "kubefedclusters", "-n", "rbac-e2e"); err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("a namespace viewer listing clusters: err=%v, stderr=%s", err, errOut)
	}
}
