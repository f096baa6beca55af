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
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/fedhub/fedhub/test/framework"
)

// propagationDeadline bounds every wait for members to follow a change.
const propagationDeadline = 90 * time.Second

// TestPropagation: federated objects applied with kubectl through the host
// appear in the placed members with overrides applied, report their clusters
// in status, are restored when edited in a member, follow placement changes
// and are deleted with the federated object.
func TestPropagation(t *testing.T) {
	sharedFederation(t)
	host, members := hostKubeconfig(), federationKubeconfig()
	waitHostDiscovers(t, "federatednamespaces", "federatedconfigmaps", "federatedsecrets")
	mustKubectlAs(t, host, "create", "namespace", "propagation-e2e")
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", "propagation-e2e", "--wait=false") })
	mustKubectlAs(t, host, "apply", "-f", "testdata/propagation/federated.yaml")

	memberGet := func(member string, args ...string) func() (string, bool) {
		return func() (string, bool) {
			out, _, err := kubectlAs(members, append([]string{"--context", member, "get"}, args...)...)
			return strings.TrimSpace(out), err == nil
		}
	}
	for member, color := range map[string]string{"member-1": "blue", "member-2": "red"} {
		eventually(t, member+" has the ConfigMap with its color and the managed label",
			memberGet(member, "configmap", "settings", "-n", "propagation-e2e", "-o", `jsonpath={.data.color} {.metadata.labels.app} {.metadata.labels.kubefed\.io/managed}`),
			color+" shop true")
		eventually(t, member+" has the Secret", memberGet(member, "secret", "credentials", "-n", "propagation-e2e", "-o", "jsonpath={.data.password}"), "czNjcmV0")
	}
	clusterIPs := map[string]string{}
	for _, member := range []string{"member-1", "member-2"} {
		eventually(t, member+" has the Service", func() (string, bool) {
			out, ok := memberGet(member, "service", "storefront", "-n", "propagation-e2e", "-o", "jsonpath={.spec.ports[0].port} {.spec.clusterIP}")()
			port, clusterIP, _ := strings.Cut(out, " ")
			clusterIPs[member] = clusterIP
			return port, ok && clusterIP != ""
		}, "80")
	}
	eventually(t, "the FederatedConfigMap reports both clusters propagated", func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "federatedconfigmap", "settings", "-n", "propagation-e2e", "-o",
			`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.clusters[*].name} {.status.observedGeneration}`)
		return out, err == nil
	}, "True member-1 member-2 1")
	table := mustKubectlAs(t, host, "get", "federatedconfigmaps", "-n", "propagation-e2e")
	if !strings.Contains(table, "True") {
		t.Errorf("the table does not show the propagation:\n%s", table)
	}

	t.Run("a Service is updated in place, keeping the cluster IP each member gave it", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federatedservice", "storefront", "-n", "propagation-e2e", "--type=merge", "-p",
			`{"spec":{"template":{"metadata":{"labels":{"tier":"front"}}}}}`)
		for _, member := range []string{"member-1", "member-2"} {
			eventually(t, member+"'s Service gets the label and keeps its cluster IP",
				memberGet(member, "service", "storefront", "-n", "propagation-e2e", "-o", "jsonpath={.metadata.labels.tier} {.spec.clusterIP}"),
				"front "+clusterIPs[member])
		}
		eventually(t, "the FederatedService reports both clusters propagated", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedservice", "storefront", "-n", "propagation-e2e", "-o",
				`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.observedGeneration}`)
			return out, err == nil
		}, "True 2")
	})

	t.Run("an edit in a member is corrected", func(t *testing.T) {
		mustKubectlAs(t, members, "--context", "member-1", "patch", "configmap", "settings", "-n", "propagation-e2e", "--type=merge", "-p", `{"data":{"color":"green"}}`)
		eventually(t, "member-1's ConfigMap is restored", memberGet("member-1", "configmap", "settings", "-n", "propagation-e2e", "-o", "jsonpath={.data.color}"), "blue")
		eventually(t, "the correction is recorded", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "events", "-n", "propagation-e2e", "--field-selector", "reason=DriftCorrected", "-o", "jsonpath={.items[*].message}")
			return out, err == nil && strings.Contains(out, "member-1")
		}, "")
	})

	t.Run("a cluster taken out of the placement loses the object, only there", func(t *testing.T) {
		mustKubectlAs(t, host, "patch", "federatedconfigmap", "settings", "-n", "propagation-e2e", "--type=merge", "-p", `{"spec":{"placement":{"clusters":[{"name":"member-1"}]}}}`)
		eventually(t, "member-2's ConfigMap is deleted", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-2", "get", "configmap", "settings", "-n", "propagation-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
		if out, ok := memberGet("member-1", "configmap", "settings", "-n", "propagation-e2e", "-o", "name")(); !ok || out != "configmap/settings" {
			t.Errorf("member-1 lost its ConfigMap: %q", out)
		}
	})

	t.Run("a selector placement follows the clusters' labels", func(t *testing.T) {
		t.Cleanup(func() {
			_, _, _ = kubectlAs(host, "label", "kfc", "member-1", "member-2", "-n", "kube-federation-system", "tier-")
		})
		mustKubectlAs(t, host, "label", "kfc", "member-2", "-n", "kube-federation-system", "tier=gold")
		applyConfigMap(t, "gold-only", `clusterSelector: {matchLabels: {tier: gold}}`)
		eventually(t, "member-2 gets the ConfigMap", memberGet("member-2", "configmap", "gold-only", "-n", "propagation-e2e", "-o", "name"), "configmap/gold-only")
		mustKubectlAs(t, host, "label", "kfc", "member-1", "-n", "kube-federation-system", "tier=gold")
		eventually(t, "member-1 gets it once labelled", memberGet("member-1", "configmap", "gold-only", "-n", "propagation-e2e", "-o", "name"), "configmap/gold-only")
		mustKubectlAs(t, host, "label", "kfc", "member-2", "-n", "kube-federation-system", "tier-")
		eventually(t, "member-2 loses it once unlabelled", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-2", "get", "configmap", "gold-only", "-n", "propagation-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
		if out, ok := memberGet("member-1", "configmap", "gold-only", "-n", "propagation-e2e", "-o", "name")(); !ok || out != "configmap/gold-only" {
			t.Errorf("member-1 lost the ConfigMap: %q", out)
		}
		// Gone everywhere before the labels go, so later subtests see a settled federation.
		mustKubectlAs(t, host, "delete", "federatedconfigmap", "gold-only", "-n", "propagation-e2e", "--timeout=60s")
	})

	t.Run("existing member objects are adopted, or left alone when labelled unmanaged", func(t *testing.T) {
		mustKubectlAs(t, members, "--context", "member-1", "create", "configmap", "existing", "-n", "propagation-e2e", "--from-literal=color=old")
		mustKubectlAs(t, members, "--context", "member-1", "create", "configmap", "hands-off", "-n", "propagation-e2e", "--from-literal=color=old")
		mustKubectlAs(t, members, "--context", "member-1", "label", "configmap", "hands-off", "-n", "propagation-e2e", "kubefed.io/managed=false")
		applyConfigMap(t, "existing", `clusters: [{name: member-1}]`)
		applyConfigMap(t, "hands-off", `clusters: [{name: member-1}]`)
		eventually(t, "the existing ConfigMap is adopted", memberGet("member-1", "configmap", "existing", "-n", "propagation-e2e", "-o",
			`jsonpath={.data.color} {.metadata.labels.kubefed\.io/managed}`), "new true")
		eventually(t, "the unmanaged one is reported", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedconfigmap", "hands-off", "-n", "propagation-e2e", "-o",
				`jsonpath={.status.conditions[?(@.type=="Propagation")].reason} {.status.clusters[?(@.name=="member-1")].status}`)
			return out, err == nil
		}, "CheckClusters ManagedLabelFalse")
		if out, _ := memberGet("member-1", "configmap", "hands-off", "-n", "propagation-e2e", "-o", "jsonpath={.data.color}")(); out != "old" {
			t.Errorf("the ConfigMap labelled kubefed.io/managed=false was changed: color=%q", out)
		}
	})

	t.Run("with adoption disabled an existing object is reported, not taken", func(t *testing.T) {
		setAdoption(t, "Disabled")
		t.Cleanup(func() { setAdoption(t, "Enabled") })
		mustKubectlAs(t, members, "--context", "member-2", "create", "configmap", "not-adopted", "-n", "propagation-e2e", "--from-literal=color=old")
		applyConfigMap(t, "not-adopted", `clusters: [{name: member-2}]`)
		eventually(t, "the existing object is reported", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedconfigmap", "not-adopted", "-n", "propagation-e2e", "-o",
				`jsonpath={.status.clusters[?(@.name=="member-2")].status}`)
			return out, err == nil
		}, "AlreadyExists")
		if out, _ := memberGet("member-2", "configmap", "not-adopted", "-n", "propagation-e2e", "-o", `jsonpath={.data.color} managed={.metadata.labels.kubefed\.io/managed}`)(); out != "old managed=" {
			t.Errorf("the existing ConfigMap was changed although adoption is disabled: %q", out)
		}
		// Turning adoption back on applies to the object already reported,
		// without a restart or a change to the object.
		setAdoption(t, "Enabled")
		eventually(t, "the existing ConfigMap is adopted", memberGet("member-2", "configmap", "not-adopted", "-n", "propagation-e2e", "-o",
			`jsonpath={.data.color} managed={.metadata.labels.kubefed\.io/managed}`), "new managed=true")
		eventually(t, "the adoption is reported", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedconfigmap", "not-adopted", "-n", "propagation-e2e", "-o",
				`jsonpath={.status.clusters[?(@.name=="member-2")].status}{.status.conditions[?(@.type=="Propagation")].status}`)
			return out, err == nil
		}, "True")
	})

	t.Run("a restart of fedhub updates no member object and no status", func(t *testing.T) {
		f := sharedFederation(t)
		before := managedVersions(t, f)
		federatedBefore := federatedVersions(t)
		if err := f.Fedhub.Restart(context.Background(), f.Host); err != nil {
			t.Fatal(err)
		}
		// Every controller reconciles every object once when it starts: once
		// that has happened for every object, any update would have been made.
		for _, federated := range []string{"federatednamespaces", "federatedconfigmaps", "federatedsecrets"} {
			objects := strings.Fields(mustKubectlAs(t, host, "get", federated, "-A", "-o", "name"))
			eventually(t, "fedhub reconciled every "+federated+" after the restart", func() (string, bool) {
				done, err := reconciledSinceStart(f, federated)
				return fmt.Sprintf("%d of %d", done, len(objects)), err == nil && done >= len(objects)
			}, "")
		}
		after := managedVersions(t, f)
		for object, version := range before {
			if after[object] != version {
				t.Errorf("%s was written after the restart: resourceVersion %s, was %s", object, after[object], version)
			}
		}
		if len(before) < 5 {
			t.Errorf("only %d managed member objects were compared: %v", len(before), before)
		}
		// A reconcile that ran before a member's cache had filled would have
		// reported CachedRetrievalFailed, then rewritten the status once more.
		federatedAfter := federatedVersions(t)
		for object, version := range federatedBefore {
			if federatedAfter[object] != version {
				t.Errorf("%s was written after the restart: resourceVersion %s, was %s", object, federatedAfter[object], version)
			}
		}
	})

	t.Run("deleting the federated object deletes the member objects", func(t *testing.T) {
		mustKubectlAs(t, host, "delete", "federatedconfigmap", "settings", "-n", "propagation-e2e", "--timeout=60s")
		eventually(t, "member-1's ConfigMap is deleted", func() (string, bool) {
			_, errOut, err := kubectlAs(members, "--context", "member-1", "get", "configmap", "settings", "-n", "propagation-e2e")
			return "", err != nil && strings.Contains(errOut, "NotFound")
		}, "")
	})

	t.Run("with kubefed.io/orphan the member objects stay, unmanaged", func(t *testing.T) {
		mustKubectlAs(t, host, "annotate", "federatedsecret", "credentials", "-n", "propagation-e2e", "kubefed.io/orphan=true")
		mustKubectlAs(t, host, "delete", "federatedsecret", "credentials", "-n", "propagation-e2e", "--timeout=60s")
		for _, member := range []string{"member-1", "member-2"} {
			eventually(t, member+" keeps the Secret without the managed label",
				memberGet(member, "secret", "credentials", "-n", "propagation-e2e", "-o", `jsonpath={.data.password} managed={.metadata.labels.kubefed\.io/managed}`),
				"czNjcmV0 managed=")
		}
	})
}

// waitHostDiscovers waits until the host's discovery lists the federated
// resources, of types.kubefed.io only (waitHostServesHelmReleases waits
// for apps.fedhub.io). fedhub creates its default types one by one at its first start,
// and the host's aggregator may have read a part of them: it reads again
// about every minute.
func waitHostDiscovers(t *testing.T, resources ...string) {
	t.Helper()
	waitDiscovers(t, hostKubeconfig(), resources...)
}

func waitDiscovers(t *testing.T, kubeconfig string, resources ...string) {
	t.Helper()
	eventuallyWithin(t, hostDiscoveryTimeout, "the host's discovery lists "+strings.Join(resources, ", "), func() (string, bool) {
		out, _, err := kubectlAs(kubeconfig, "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		for _, resource := range resources {
			if !strings.Contains(out, resource+".types.kubefed.io") {
				return "", false
			}
		}
		return "", err == nil
	}, "")
}

// eventually polls get until it succeeds with want (any output when want is
// empty), or fails the test after propagationDeadline.
func eventually(t *testing.T, what string, get func() (string, bool), want string) {
	t.Helper()
	eventuallyWithin(t, propagationDeadline, what, get, want)
}

func eventuallyWithin(t *testing.T, deadline time.Duration, what string, get func() (string, bool), want string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, deadline, true, func(context.Context) (bool, error) {
		out, ok := get()
		last = out
		return ok && (want == "" || out == want), nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s; last saw %q, want %q", what, deadline, last, want)
	}
}

// consistently checks for the whole period that get keeps answering want:
// how a test shows that something does not happen.
func consistently(t *testing.T, period time.Duration, what string, get func() (string, bool), want string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, period, true, func(context.Context) (bool, error) {
		if out, ok := get(); !ok || out != want {
			return false, fmt.Errorf("saw %q, want %q", out, want)
		}
		return false, nil
	})
	if !wait.Interrupted(err) {
		t.Fatalf("%s: %v", what, err)
	}
}

// applyConfigMap applies, as the host's administrator, a FederatedConfigMap
// with data color=new and the given placement (YAML flow style).
func applyConfigMap(t *testing.T, name, placement string) {
	t.Helper()
	mustApplyAs(t, nil, "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata: {name: "+name+
		", namespace: propagation-e2e}\nspec:\n  template: {data: {color: new}}\n  placement: {"+placement+"}\n")
}

// managedVersions returns the resourceVersion of every object fedhub manages
// for this test in the members: the namespace propagation-e2e and the
// ConfigMaps and Secrets in it. (Other tests' objects may still be changing.)
func managedVersions(t *testing.T, f *framework.Federation) map[string]string {
	t.Helper()
	versions := map[string]string{}
	for _, member := range f.Members {
		for _, kind := range []string{"namespaces", "configmaps", "secrets"} {
			args := []string{"--context", member.Name, "get", kind, "-l", "kubefed.io/managed=true", "-o",
				`jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`}
			if kind == "namespaces" {
				args = append(args, "--field-selector", "metadata.name=propagation-e2e")
			} else {
				args = append(args, "-n", "propagation-e2e")
			}
			out := mustKubectlAs(t, federationKubeconfig(), args...)
			for _, line := range strings.Fields(out) {
				name, version, _ := strings.Cut(line, "=")
				versions[member.Name+" "+kind+" "+name] = version
			}
		}
	}
	return versions
}

// federatedVersions is the resourceVersion of every federated object the
// propagation tests made, read through the host, by type and name.
func federatedVersions(t *testing.T) map[string]string {
	t.Helper()
	versions := map[string]string{}
	for _, federated := range []string{"federatednamespaces", "federatedconfigmaps", "federatedsecrets"} {
		out := mustKubectlAs(t, hostKubeconfig(), "get", federated, "-n", "propagation-e2e", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
		for _, line := range strings.Fields(out) {
			name, version, _ := strings.Cut(line, "=")
			versions[federated+" "+name] = version
		}
	}
	return versions
}

// reconciledSinceStart reads fedhub's /metrics: how many reconciles of the
// federated type succeeded since the process started.
func reconciledSinceStart(f *framework.Federation, federated string) (int, error) {
	value, _, err := fedhubMetric(f, `fedhub_propagation_reconciles_total{result="success",type="`+federated+`"}`)
	return int(value), err
}

// fedhubMetric reads one series, named with its labels, from fedhub's /metrics.
func fedhubMetric(f *framework.Federation, series string) (value float64, found bool, err error) {
	return f.Fedhub.Metric(context.Background(), f.Host, series)
}

// setAdoption sets KubeFedConfig kubefed's syncController.adoptResources.
func setAdoption(t *testing.T, value string) {
	t.Helper()
	mustKubectlAs(t, hostKubeconfig(), "patch", "kubefedconfig", "kubefed", "-n", "kube-federation-system", "--type=merge", "-p",
		`{"spec":{"syncController":{"adoptResources":"`+value+`"}}}`)
}
