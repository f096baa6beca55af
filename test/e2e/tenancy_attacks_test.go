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
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The answers kubectl reports for a refused request.
var (
	forbidden          = []string{"Forbidden"}
	invalid            = []string{"Invalid"}
	invalidOrForbidden = []string{"Invalid", "Forbidden"}
)

const (
	kubeFedClusters = "kubefedclusters.core.kubefed.io"
	preferences     = "replicaschedulingpreferences.scheduling.kubefed.io"
	// malloryBinding binds mallory to fedhub:federation-admin and nothing else.
	malloryBinding = "tenancy-attacks-mallory"
)

// attackConfigMaps are the FederatedConfigMaps the attacks create in team-a.
var attackConfigMaps = []string{"fin", "owners", "meta", "after-attacks"}

// TestTenancyAttacks: what a tenant, or a user trusted with the federation
// but not with the host's Secrets, could try to reach beyond their grant.
// Each attempt is refused with its reason named, or has no effect on any
// member; fedhub keeps answering and reconciling throughout.
func TestTenancyAttacks(t *testing.T) {
	f := sharedFederation(t)
	host, members := hostKubeconfig(), federationKubeconfig()
	setUpTeams(t)
	waitHostDiscovers(t, "federateddeployments")
	// kubectl validates manifests against the host's OpenAPI; a kind missing
	// there sends it looking for a CRD, which tenants may not list.
	waitHostOpenAPI(t, "types.kubefed.io/v1beta1", "FederatedNamespace", "FederatedDeployment", "FederatedConfigMap")
	waitHostOpenAPI(t, "scheduling.kubefed.io/v1alpha1", "ReplicaSchedulingPreference")
	waitHostOpenAPI(t, "core.kubefed.io/v1beta1", "KubeFedCluster")
	fedhubPID := f.Fedhub.PID()
	alice := []string{"--as", "alice", "--as-group", "team-a"}
	bob := []string{"--as", "bob", "--as-group", "team-b"}
	pat := []string{"--as", "pat", "--as-group", "platform"}
	mallory := []string{"--as", "mallory"}
	t.Cleanup(func() { cleanUpAttacks(t) })

	mustApplyAs(t, alice, federatedNamespace("team-a", "clusters: [{name: member-1}]"))
	mustApplyAs(t, bob, federatedNamespace("team-b", "clusters: [{name: member-1}]"))
	for _, namespace := range []string{"team-a", "team-b"} {
		eventually(t, "member-1 has the namespace "+namespace, onMember("member-1", "namespace", "", namespace, "{.status.phase}"), "Active")
	}

	t.Run("a FederatedNamespace cannot take over another namespace", func(t *testing.T) {
		for _, name := range []string{"team-b", federationNamespace} {
			r := ref{"federatednamespaces", "team-a", name}
			stored := refuseCreate(t, alice, `apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata: {name: `+name+`, namespace: team-a}
spec:
  template: {metadata: {labels: {owned-by: alice}}}
  placement: {clusters: [{name: member-1}]}
`, r, invalid, "metadata.name")
			if stored {
				waitReconciled(t, r)
			}
			if out, _ := onMember("member-1", "namespace", "", name, "{.status.phase}/{.metadata.labels.owned-by}")(); out != "Active/" {
				t.Errorf("member-1's namespace %s after alice's attempt: %q, want it Active without the label owned-by", name, out)
			}
		}
	})

	t.Run("a ReplicaSchedulingPreference cannot place beyond the grant", func(t *testing.T) {
		web := mustReadFile(t, "testdata/tenancy/web-deployment.yaml")
		rsp := ref{preferences, "team-a", "web"}
		deployment := ref{"federateddeployments", "team-a", "web"}
		// Undone last to first: the preference, the workload, then team-a's namespace in member-2.
		t.Cleanup(func() {
			mustKubectlAs(t, host, append(pat, "patch", "federatednamespace", "team-a", "-n", "team-a", "--type=merge", "-p",
				`{"spec":{"placement":{"clusters":[{"name":"member-1"}]}}}`)...)
			eventually(t, "member-2 no longer has the namespace team-a", onMember("member-2", "namespace", "", "team-a", "{.status.phase}"), "NotFound")
		})
		t.Cleanup(func() {
			mustKubectlAs(t, host, "delete", deployment.resource, deployment.name, "-n", deployment.namespace, "--ignore-not-found", "--timeout=90s")
		})
		t.Cleanup(func() {
			mustKubectlAs(t, host, "delete", rsp.resource, rsp.name, "-n", rsp.namespace, "--ignore-not-found")
		})

		if _, errOut, err := createAs(alice, web); err != nil {
			t.Fatalf("alice creating her FederatedDeployment web: %v\n%s", err, errOut)
		}
		eventually(t, "member-1 runs alice's Deployment", onMember("member-1", "deployment", "team-a", "web", "{.spec.replicas}"), "1")

		for _, attempt := range []struct{ spec, want string }{
			{"clusters: {member-2: {weight: 1}}", `"alice" may not propagate to cluster(s) member-2`},
			{"clusters: {}", "may not propagate to every cluster"},
			{`clusters: {"*": {weight: 1}}`, "may not propagate to every cluster"},
			{"intersectWithClusterSelector: true\n  clusters: {member-2: {weight: 1}}", "member-2"},
		} {
			if refuseCreate(t, alice, replicaSchedulingPreference("web", 4, attempt.spec), rsp, forbidden, attempt.want) {
				// The next attempt needs the name, and the workload as alice wrote it.
				mustKubectlAs(t, host, "delete", rsp.resource, rsp.name, "-n", rsp.namespace)
				if _, errOut, err := kubectlManifestAs(alice, "replace", web); err != nil {
					t.Fatalf("alice restoring her FederatedDeployment: %v\n%s", err, errOut)
				}
			}
		}

		// The platform team spreads team-a's namespace over every cluster:
		// from now on only the grant keeps alice's workload off member-2.
		mustKubectlAs(t, host, append(pat, "patch", "federatednamespace", "team-a", "-n", "team-a", "--type=merge", "-p",
			`{"spec":{"placement":{"clusters":[{"name":"member-1"},{"name":"member-2"}]}}}`)...)
		eventually(t, "member-2 has the namespace team-a", onMember("member-2", "namespace", "", "team-a", "{.status.phase}"), "Active")

		// pat may place anywhere, and may write preferences in team-a; the
		// plan he causes, even rebalancing, still moves only alice's
		// workload, whose author may propagate to member-1 only.
		if _, errOut, err := createAs(pat, replicaSchedulingPreference("web", 4, "rebalance: true\n  clusters: {\"*\": {weight: 1}}")); err != nil {
			t.Fatalf("pat creating a preference for every cluster: %v\n%s", err, errOut)
		}
		plan := func() (string, bool) {
			out, _, err := kubectlAs(host, "get", rsp.resource, rsp.name, "-n", rsp.namespace, "-o", "jsonpath={.status.clusters[*].name}")
			return out, err == nil && out != ""
		}
		eventually(t, "pat's preference reports a plan", plan, "")
		if out, _ := plan(); out != "member-1" {
			t.Errorf("the plan for alice's workload spans %q, want member-1 only", out)
		}
		eventually(t, "member-1's Deployment gets every replica", onMember("member-1", "deployment", "team-a", "web", "{.spec.replicas}"), "4")
		consistently(t, 5*time.Second, "member-2 has no Deployment of alice's", onMember("member-2", "deployment", "team-a", "web", "{.spec.replicas}"), "NotFound")

		// Once pat writes the workload himself, his grant is the one that counts.
		mustKubectlAs(t, host, append(pat, "label", "federateddeployment", "web", "-n", "team-a", "reviewed-by=pat")...)
		eventually(t, "the plan includes member-2 after pat's write", func() (string, bool) {
			out, _ := plan()
			return out, true
		}, "member-1 member-2")
		eventually(t, "member-2 runs its share", onMember("member-2", "deployment", "team-a", "web", "{.spec.replicas}"), "2")
	})

	t.Run("a federated object cannot write to a member what the host forbids", func(t *testing.T) {
		namespace := ref{"federatednamespaces", "team-a", "team-a"}
		for _, attempt := range []struct {
			what, spec, want, memberField, stored string
		}{
			{"a privileged label", "template: {metadata: {labels: {pod-security.kubernetes.io/enforce: privileged}}}",
				"spec.template.metadata.labels", "{.metadata.labels}", "{.spec.template.metadata.labels}"},
			{"a node-selector annotation", `template: {metadata: {annotations: {scheduler.alpha.kubernetes.io/node-selector: "pool=privileged"}}}`,
				"spec.template.metadata.annotations", "{.metadata.annotations}", "{.spec.template.metadata.annotations}"},
			{"an override adding a label", "overrides: [{clusterName: member-1, clusterOverrides: [{op: add, path: /metadata/labels/pod-security.kubernetes.io~1enforce, value: privileged}]}]",
				"spec.overrides", "{.metadata.labels}", "{.spec.overrides}"},
		} {
			manifest := federatedNamespace("team-a", "clusters: [{name: member-1}]") + "  " + attempt.spec + "\n"
			_, errOut, err := applyAs(alice, manifest)
			assertRefused(t, "alice applying her FederatedNamespace with "+attempt.what, err, errOut, invalidOrForbidden, attempt.want)
			if out := mustKubectlAs(t, host, "get", namespace.resource, namespace.name, "-n", namespace.namespace, "-o", "jsonpath="+attempt.stored); out != "" {
				t.Errorf("%s was stored: %s", attempt.what, out)
				waitReconciled(t, namespace)
			}
			if out, _ := onMember("member-1", "namespace", "", "team-a", attempt.memberField)(); strings.Contains(out, "pod-security") || strings.Contains(out, "node-selector") {
				t.Errorf("member-1's namespace team-a after %s: %s", attempt.what, out)
			}
			mustApplyAs(t, alice, federatedNamespace("team-a", "clusters: [{name: member-1}]"))
		}

		stored := false
		for _, attempt := range []struct{ name, override string }{
			{"fin", `{op: add, path: /metadata/finalizers, value: ["example.com/block"]}`},
			{"owners", `{op: add, path: /metadata/ownerReferences, value: [{apiVersion: v1, kind: ConfigMap, name: settings, uid: 6c2e6bd6-8f04-4f39-a0b5-7d9f4c1e2a10}]}`},
			{"meta", `{op: replace, path: /metadata, value: {name: meta, labels: {kubefed.io/managed: "true"}, finalizers: ["example.com/block"]}}`},
		} {
			r := ref{"federatedconfigmaps", "team-a", attempt.name}
			manifest := federatedConfigMap("team-a", attempt.name, "clusters: [{name: member-1}]",
				"overrides: [{clusterName: member-1, clusterOverrides: ["+attempt.override+"]}]")
			if refuseCreate(t, alice, manifest, r, invalid, "spec.overrides[0].clusterOverrides[0]") {
				stored = true
				waitReconciled(t, r)
			}
		}
		out := mustKubectlAs(t, members, "--context", "member-1", "get", "configmaps", "-n", "team-a", "-o",
			`jsonpath={range .items[*]}{.metadata.name}: finalizers={.metadata.finalizers} ownerReferences={.metadata.ownerReferences}{"\n"}{end}`)
		if strings.Contains(out, "example.com/block") || strings.Contains(out, "uid") {
			t.Errorf("member-1's ConfigMaps in team-a (objects stored: %v):\n%s", stored, out)
		}
	})

	t.Run("member credentials go to no other endpoint", func(t *testing.T) {
		trap := &credentialTrap{}
		plain := httptest.NewServer(trap)
		t.Cleanup(plain.Close)
		secure := httptest.NewTLSServer(trap)
		t.Cleanup(secure.Close)
		t.Cleanup(func() {
			if seen := trap.credentials(); len(seen) > 0 {
				t.Errorf("a listener fedhub was pointed at received credentials in %d requests, first:\n%s", len(seen), strings.Join(firstOf(seen, 5), "\n"))
			}
		})
		decoy := ref{kubeFedClusters, federationNamespace, "decoy"}
		t.Cleanup(func() { deleteDecoy(t) })

		mustKubectlAs(t, host, "create", "clusterrolebinding", malloryBinding, "--clusterrole=fedhub:federation-admin", "--user=mallory")
		t.Cleanup(func() { mustKubectlAs(t, host, "delete", "clusterrolebinding", malloryBinding, "--ignore-not-found") })
		eventually(t, "mallory may create KubeFedClusters", canI(append([]string{"create", kubeFedClusters, "-n", federationNamespace}, mallory...)), "yes")
		if out, _ := canI(append([]string{"get", "secrets", "-n", federationNamespace}, mallory...))(); out != "no" {
			t.Fatalf("mallory may read the host's Secrets (%q): the attack needs a user who may not", out)
		}
		secretOf := func(cluster string) string {
			name := mustKubectlAs(t, host, "get", kubeFedClusters, cluster, "-n", federationNamespace, "-o", "jsonpath={.spec.secretRef.name}")
			if name == "" {
				t.Fatalf("KubeFedCluster %s names no Secret", cluster)
			}
			return name
		}
		member1Secret, member2Secret := secretOf("member-1"), secretOf("member-2")

		_, errOut, err := createAs(mallory, kubeFedCluster("decoy", plain.URL, member1Secret, false))
		switch answer := answerOf(errOut); {
		case err == nil:
			t.Errorf("mallory registering a plain-HTTP cluster with member-1's Secret: allowed")
		case answer == "Invalid" && strings.Contains(errOut, "spec.apiEndpoint"),
			answer == "Forbidden" && strings.Contains(errOut, "spec.secretRef"):
		default:
			t.Errorf("mallory registering a plain-HTTP cluster with member-1's Secret: want Invalid naming spec.apiEndpoint "+
				"or Forbidden naming spec.secretRef: %s", errOut)
		}
		if isStored(t, decoy) {
			t.Errorf("%s was stored", decoy)
			waitProbed(t, "decoy")
			deleteDecoy(t)
		}

		if refuseCreate(t, mallory, kubeFedCluster("decoy", secure.URL, member1Secret, true), decoy, forbidden, "spec.secretRef") {
			waitProbed(t, "decoy")
			deleteDecoy(t)
		}

		original := mustKubectlAs(t, host, "get", kubeFedClusters, "member-2", "-n", federationNamespace, "-o", "jsonpath={.spec}")
		restore := func() {
			current := mustKubectlAs(t, host, "get", kubeFedClusters, "member-2", "-n", federationNamespace, "-o", "jsonpath={.spec}")
			if current == original {
				return
			}
			t.Errorf("member-2's KubeFedCluster was changed: %s", mustKubectlAs(t, host, "get", kubeFedClusters, "member-2", "-n", federationNamespace,
				"-o", "jsonpath=apiEndpoint={.spec.apiEndpoint} disabledTLSValidations={.spec.disabledTLSValidations}"))
			mustKubectlAs(t, host, "patch", kubeFedClusters, "member-2", "-n", federationNamespace, "--type=merge", "-p", restoringPatch(t, original))
			eventually(t, "member-2 is Ready again", func() (string, bool) {
				out, _, err := kubectlAs(host, "get", kubeFedClusters, "member-2", "-n", federationNamespace, "-o",
					`jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
				return out, err == nil
			}, "True")
		}
		t.Cleanup(restore)
		_, errOut, err = kubectlAs(host, append(mallory, "patch", kubeFedClusters, "member-2", "-n", federationNamespace, "--type=merge", "-p",
			`{"spec":{"apiEndpoint":"`+secure.URL+`","disabledTLSValidations":["*"]}}`)...)
		assertRefused(t, "mallory pointing member-2 at her listener", err, errOut, forbidden, "spec.secretRef")
		restore()

		// The administrator may read the Secret, and may register a cluster
		// with it; fedhub still does not send member-2's token to a second endpoint.
		if _, errOut, err := createAs(nil, kubeFedCluster("decoy", secure.URL, member2Secret, true)); err != nil {
			t.Fatalf("the administrator registering decoy with member-2's Secret: %v\n%s", err, errOut)
		}
		eventually(t, "decoy is not Ready: fedhub refuses to send member-2's credentials to it", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", kubeFedClusters, "decoy", "-n", federationNamespace, "-o",
				`jsonpath={.status.conditions[?(@.type=="Ready")].status}: {.status.conditions[?(@.type=="Ready")].message}`)
			return out, err == nil && !strings.HasPrefix(out, "True") && strings.Contains(out, "refusing to send its credentials")
		}, "")
		deleteDecoy(t)
	})

	// Last, so that a crash it causes does not hide what the other attacks do.
	asking := keepAsking(host, append(alice, "get", "federateddeployments", "-n", "team-a")...)
	t.Cleanup(func() { asking.stop() })
	t.Run("a workload without spec does not stop fedhub", func(t *testing.T) {
		out, errOut, err := createAs(alice, "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedDeployment\nmetadata: {name: hollow, namespace: team-a}\n")
		t.Logf("alice creating a FederatedDeployment without spec: err=%v %s%s", err, out, errOut)
		if _, errOut, err := createAs(alice, replicaSchedulingPreference("hollow", 2, "clusters: {member-1: {weight: 1}}")); err != nil {
			t.Fatalf("alice creating a preference on member-1: %v\n%s", err, errOut)
		}
		eventually(t, "the preference hollow gets a status", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", preferences, "hollow", "-n", "team-a", "-o", `jsonpath={.status.conditions[?(@.type=="Scheduled")].reason}`)
			return out, err == nil && out != ""
		}, "")
		consistently(t, 10*time.Second, "fedhub answers alice", func() (string, bool) {
			_, _, err := kubectlAs(host, append(alice, "get", "federateddeployments", "-n", "team-a")...)
			return "answers", err == nil
		}, "answers")
	})

	t.Run("fedhub still answers and reconciles", func(t *testing.T) {
		mustApplyAs(t, alice, federatedConfigMap("team-a", "after-attacks", "clusters: [{name: member-1}]", ""))
		eventually(t, "member-1 has alice's ConfigMap", onMember("member-1", "configmap", "team-a", "after-attacks", "{.data.color}"), "teal")
	})
	if failures := asking.stop(); len(failures) > 0 {
		t.Errorf("kubectl get federateddeployments failed %d times after the attacks began:\n%s", len(failures), strings.Join(firstOf(failures, 5), "\n"))
	}
	if exited, err := f.Fedhub.Exited(); exited {
		t.Errorf("fedhub-apiserver exited during the attacks: %v (log: %s)", err, f.Fedhub.LogPath)
	} else if f.Fedhub.PID() != fedhubPID {
		t.Errorf("fedhub-apiserver was restarted during the attacks")
	}
}

// waitHostOpenAPI waits until the host's OpenAPI v3 document for groupVersion
// describes every kind.
func waitHostOpenAPI(t *testing.T, groupVersion string, kinds ...string) {
	t.Helper()
	eventuallyWithin(t, hostDiscoveryTimeout, "the host's OpenAPI for "+groupVersion+" describes "+strings.Join(kinds, ", "), func() (string, bool) {
		out, errOut, err := kubectlAs(hostKubeconfig(), "get", "--raw", "/openapi/v3/apis/"+groupVersion)
		if err != nil {
			return errOut, false
		}
		var missing []string
		for _, kind := range kinds {
			if !strings.Contains(out, `"`+kind+`"`) {
				missing = append(missing, kind)
			}
		}
		return "missing " + strings.Join(missing, ", "), len(missing) == 0
	}, "")
}

// ref names an object the way kubectl does.
type ref struct{ resource, namespace, name string }

func (r ref) String() string { return r.resource + " " + r.namespace + "/" + r.name }

// isStored reports whether the host's administrator can read r.
func isStored(t *testing.T, r ref) bool {
	t.Helper()
	_, errOut, err := kubectlAs(hostKubeconfig(), "get", r.resource, r.name, "-n", r.namespace, "-o", "name")
	switch {
	case err == nil:
		return true
	case strings.Contains(errOut, "NotFound"):
		return false
	}
	t.Errorf("reading %s: %v\n%s", r, err, errOut)
	return false
}

// answerOf is how kubectl's message reports a refusal: Forbidden (403), Invalid (422) or neither.
func answerOf(stderr string) string {
	switch {
	case strings.Contains(stderr, "(Forbidden)") || strings.Contains(stderr, " is forbidden"):
		return "Forbidden"
	case strings.Contains(stderr, " is invalid") || strings.Contains(stderr, "(Invalid)"):
		return "Invalid"
	}
	return ""
}

// assertRefused checks that a kubectl command was refused with one of answers, naming want.
func assertRefused(t *testing.T, what string, err error, stderr string, answers []string, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed, want %s naming %q", what, strings.Join(answers, " or "), want)
		return
	}
	if answer := answerOf(stderr); !slices.Contains(answers, answer) {
		t.Errorf("%s: refused, but not as %s: %s", what, strings.Join(answers, " or "), stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("%s: the message does not say %q: %s", what, want, stderr)
	}
}

// refuseCreate creates manifest as identity and checks that it is refused
// with one of answers naming want, and that r, the object it describes, was
// not stored. It reports whether r was stored all the same.
func refuseCreate(t *testing.T, identity []string, manifest string, r ref, answers []string, want string) bool {
	t.Helper()
	_, errOut, err := createAs(identity, manifest)
	assertRefused(t, fmt.Sprintf("%v creating %s", identity, r), err, errOut, answers, want)
	if isStored(t, r) {
		t.Errorf("%s was stored", r)
		return true
	}
	return false
}

// waitReconciled waits until fedhub has propagated the federated object's
// current generation, so that what a member shows afterwards is its effect.
func waitReconciled(t *testing.T, r ref) {
	t.Helper()
	eventually(t, r.String()+" is reconciled", func() (string, bool) {
		out, _, err := kubectlAs(hostKubeconfig(), "get", r.resource, r.name, "-n", r.namespace, "-o",
			`jsonpath={.metadata.generation}/{.status.observedGeneration}/{.status.conditions[?(@.type=="Propagation")].status}`)
		parts := strings.Split(out, "/")
		return out, err == nil && len(parts) == 3 && parts[0] == parts[1] && parts[2] != ""
	}, "")
}

// onMember reads an object of a member cluster, through the federation
// kubeconfig's context of that name: the jsonpath's output, or NotFound.
func onMember(member, resource, namespace, name, jsonpath string) func() (string, bool) {
	return func() (string, bool) {
		args := []string{"--context", member, "get", resource, name, "-o", "jsonpath=" + jsonpath}
		if namespace != "" {
			args = append(args, "-n", namespace)
		}
		out, errOut, err := kubectlAs(federationKubeconfig(), args...)
		switch {
		case err == nil:
			return out, true
		case strings.Contains(errOut, "NotFound"):
			return "NotFound", true
		}
		return errOut, false
	}
}

// canI asks the host kubectl auth can-i with args.
func canI(args []string) func() (string, bool) {
	return func() (string, bool) {
		out, _, _ := kubectlAs(hostKubeconfig(), append([]string{"auth", "can-i"}, args...)...)
		return strings.TrimSpace(out), true
	}
}

func replicaSchedulingPreference(name string, total int, spec string) string {
	return fmt.Sprintf("apiVersion: scheduling.kubefed.io/v1alpha1\nkind: ReplicaSchedulingPreference\nmetadata: {name: %s, namespace: team-a}\n"+
		"spec:\n  targetKind: FederatedDeployment\n  totalReplicas: %d\n  %s\n", name, total, spec)
}

// kubeFedCluster registers endpoint as a member that uses the credentials in secret.
func kubeFedCluster(name, endpoint, secret string, skipTLSChecks bool) string {
	manifest := "apiVersion: core.kubefed.io/v1beta1\nkind: KubeFedCluster\nmetadata: {name: " + name + ", namespace: " + federationNamespace +
		"}\nspec:\n  apiEndpoint: " + endpoint + "\n  secretRef: {name: " + secret + "}\n"
	if skipTLSChecks {
		manifest += `  disabledTLSValidations: ["*"]` + "\n"
	}
	return manifest
}

// waitProbed waits until fedhub has reported the cluster's health once: it has tried to reach it.
func waitProbed(t *testing.T, cluster string) {
	t.Helper()
	eventually(t, "fedhub probes "+cluster, func() (string, bool) {
		out, _, err := kubectlAs(hostKubeconfig(), "get", kubeFedClusters, cluster, "-n", federationNamespace, "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out, err == nil && out != ""
	}, "")
}

func deleteDecoy(t *testing.T) {
	t.Helper()
	mustKubectlAs(t, hostKubeconfig(), "delete", kubeFedClusters, "decoy", "-n", federationNamespace, "--ignore-not-found", "--timeout=60s")
}

// restoringPatch is a merge patch that sets a KubeFedCluster's spec back to
// original (its JSON), removing the fields original does not have.
func restoringPatch(t *testing.T, original string) string {
	t.Helper()
	spec := map[string]any{}
	if err := json.Unmarshal([]byte(original), &spec); err != nil {
		t.Fatalf("reading a KubeFedCluster's spec %q: %v", original, err)
	}
	for _, field := range []string{"disabledTLSValidations", "caBundle", "proxyURL"} {
		if _, ok := spec[field]; !ok {
			spec[field] = nil
		}
	}
	return string(mustJSON(map[string]any{"spec": spec}))
}

func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// credentialTrap answers every request with 200 ok, as a healthy member's
// /healthz does, and records the credentials requests carry.
type credentialTrap struct {
	mu   sync.Mutex
	seen []string
}

func (c *credentialTrap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if authorization := r.Header.Get("Authorization"); authorization != "" {
		scheme, _, _ := strings.Cut(authorization, " ")
		c.mu.Lock()
		// The credential itself is not logged: it is a member's.
		c.seen = append(c.seen, fmt.Sprintf("%s %s: Authorization %s (%d characters)", r.Method, r.URL.Path, scheme, len(authorization)))
		c.mu.Unlock()
	}
	_, _ = w.Write([]byte("ok"))
}

func (c *credentialTrap) credentials() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// asker runs one kubectl command over and over in the background and
// records when it fails: fedhub must keep answering.
type asker struct {
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	failures []string
}

func keepAsking(kubeconfig string, args ...string) *asker {
	ctx, cancel := context.WithCancel(context.Background())
	a := &asker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(context.Context) (bool, error) {
			if _, errOut, err := kubectlAs(kubeconfig, args...); err != nil && ctx.Err() == nil {
				a.failures = append(a.failures, time.Now().Format(time.TimeOnly)+" "+strings.TrimSpace(errOut))
			}
			return false, nil
		})
	}()
	return a
}

// stop ends the asking and returns the failures.
func (a *asker) stop() []string {
	a.once.Do(func() {
		a.cancel()
		<-a.done
	})
	return a.failures
}

// cleanUpAttacks deletes everything the attacks create, refused attempts that
// were stored included, so that the members end up as they were.
func cleanUpAttacks(t *testing.T) {
	host := hostKubeconfig()
	run := func(args ...string) {
		if _, errOut, err := kubectlAs(host, args...); err != nil {
			t.Errorf("cleanup: kubectl %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
	}
	run("delete", preferences, "web", "hollow", "-n", "team-a", "--ignore-not-found")
	// A FederatedNamespace that took over another team's namespace, or the
	// federation's, must leave it in place when deleted.
	for _, name := range []string{"team-b", federationNamespace} {
		if _, _, err := kubectlAs(host, "get", "federatednamespace", name, "-n", "team-a"); err == nil {
			run("annotate", "--overwrite", "federatednamespace", name, "-n", "team-a", "kubefed.io/orphan=true")
		}
	}
	run("delete", "federatednamespaces", "team-b", federationNamespace, "-n", "team-a", "--ignore-not-found", "--wait=false")
	run("delete", "federateddeployments", "web", "hollow", "-n", "team-a", "--ignore-not-found", "--wait=false")
	run(append(append([]string{"delete", "federatedconfigmaps"}, attackConfigMaps...), "-n", "team-a", "--ignore-not-found", "--wait=false")...)
	// A finalizer an override put on a member's ConfigMap would hold its
	// deletion, and so the federated object's and the namespace's, forever.
	left := ""
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, propagationDeadline, true, func(context.Context) (bool, error) {
		for _, name := range attackConfigMaps {
			_, _, _ = kubectlAs(federationKubeconfig(), "--context", "member-1", "patch", "configmap", name, "-n", "team-a",
				"--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
		}
		var names []string
		for _, kind := range []string{"federatedconfigmaps", "federateddeployments", "federatednamespaces"} {
			out, _, err := kubectlAs(host, "get", kind, "-n", "team-a", "-o", "name")
			if err != nil {
				return false, nil
			}
			for _, name := range strings.Fields(out) {
				_, short, _ := strings.Cut(name, "/")
				if slices.Contains(attackConfigMaps, short) || short == "web" || short == "hollow" || short == "team-b" || short == federationNamespace {
					names = append(names, name)
				}
			}
		}
		left = strings.Join(names, " ")
		return len(names) == 0, nil
	})
	if err != nil {
		t.Errorf("cleanup: still there after %s: %s", propagationDeadline, left)
	}
	run("delete", "federatednamespace", "team-a", "-n", "team-a", "--ignore-not-found", "--timeout=90s")
	run("delete", "federatednamespace", "team-b", "-n", "team-b", "--ignore-not-found", "--timeout=90s")
}
