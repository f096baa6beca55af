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
	"fmt"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	helmrelease "helm.sh/helm/v4/pkg/release"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/fedhub/fedhub/test/framework"
)

// waitHostServesHelmReleases waits until kubectl on the host can resolve
// fhr (from the aggregator's copy of fedhub's discovery) and validate one
// (from its copy of fedhub's OpenAPI).
func waitHostServesHelmReleases(t *testing.T) {
	t.Helper()
	waitDiscoversHelmReleases(t, hostKubeconfig())
	waitHostOpenAPI(t, "apps.fedhub.io/v1alpha1", "FederatedHelmRelease")
}

// waitDiscoversHelmReleases waits until the discovery of the host of
// kubeconfig lists federatedhelmreleases.
func waitDiscoversHelmReleases(t *testing.T, kubeconfig string) {
	t.Helper()
	eventuallyWithin(t, hostDiscoveryTimeout, "the host's discovery lists federatedhelmreleases", func() (string, bool) {
		out, _, err := kubectlAs(kubeconfig, "api-resources", "--api-group=apps.fedhub.io", "-o", "name")
		return out, err == nil && strings.Contains(out, "federatedhelmreleases.apps.fedhub.io")
	}, "")
}

// helloChart renders one ConfigMap from its values; fails is a version
// whose templates cannot render.
func helloChart(version string, fails bool) framework.ChartSpec {
	template := `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  greeting: {{ .Values.greeting | quote }}
  chart: {{ .Chart.Version | quote }}
`
	if fails {
		template = `{{ fail "hello 2.0.0 cannot render on purpose" }}`
	}
	return framework.ChartSpec{Name: "hello", Version: version, AppVersion: "1.0",
		Templates: map[string]string{"configmap.yaml": template}, Values: map[string]any{"greeting": "hello"}}
}

// escalatingChart asks for a ClusterRole, which a namespace's editor may not create.
func escalatingChart() framework.ChartSpec {
	return framework.ChartSpec{Name: "escalate", Version: "0.1.0", Templates: map[string]string{
		"clusterrole.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Namespace }}-everything
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
`,
		"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-innocent
data: {a: b}
`}}
}

// fedHelmRelease is a FederatedHelmRelease of chart in repository; spec holds
// the lines of spec after the chart (values, placement, overrides), indented.
func fedHelmRelease(namespace, name, repository, chart, version, spec string) string {
	return fmt.Sprintf(`apiVersion: apps.fedhub.io/v1alpha1
kind: FederatedHelmRelease
metadata: {name: %s, namespace: %s}
spec:
  chart: {repository: %q, name: %s, version: %q}
%s`, name, namespace, repository, chart, version, spec)
}

// memberHelmList is what `helm list -n namespace --kube-context member`
// shows: name=status/revision/chart version, sorted.
func memberHelmList(member, namespace string) func() (string, bool) {
	return helmListIn(federationKubeconfig(), member, namespace)
}

// helmListIn is memberHelmList with the context member of kubeconfig.
func helmListIn(kubeconfig, member, namespace string) func() (string, bool) {
	return func() (string, bool) {
		cfg, err := helmConfig(kubeconfig, member, namespace)
		if err != nil {
			return err.Error(), false
		}
		list := action.NewList(cfg)
		list.All = true
		releasers, err := list.Run()
		if err != nil {
			return err.Error(), false
		}
		return releaseRows(releasers, func(rel *release.Release) string {
			return fmt.Sprintf("%s=%s/%d/%s", rel.Name, rel.Info.Status, rel.Version, rel.Chart.Metadata.Version)
		})
	}
}

// memberHelmHistory is what `helm history name -n namespace --kube-context
// member` shows: revision=status/chart version, in revision order.
func memberHelmHistory(member, namespace, name string) func() (string, bool) {
	return func() (string, bool) {
		cfg, err := helmConfig(federationKubeconfig(), member, namespace)
		if err != nil {
			return err.Error(), false
		}
		releasers, err := action.NewHistory(cfg).Run(name)
		if err != nil {
			return err.Error(), false
		}
		return releaseRows(releasers, func(rel *release.Release) string {
			// Zero-padded so that sorting keeps revision order.
			return fmt.Sprintf("%02d=%s/%s", rel.Version, rel.Info.Status, rel.Chart.Metadata.Version)
		})
	}
}

// helmConfig is the Helm SDK's configuration for the context member of
// kubeconfig, as the helm CLI builds it from its flags.
func helmConfig(kubeconfig, member, namespace string) (*action.Configuration, error) {
	context := member
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Context, flags.Namespace = &kubeconfig, &context, &namespace
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, namespace, ""); err != nil {
		return nil, err
	}
	return cfg, nil
}

// releaseRows formats each release with row, sorted and joined by commas.
func releaseRows(releasers []helmrelease.Releaser, row func(*release.Release) string) (string, bool) {
	var rows []string
	for _, r := range releasers {
		rel, ok := r.(*release.Release)
		if !ok || rel.Info == nil || rel.Chart == nil || rel.Chart.Metadata == nil {
			return fmt.Sprintf("unexpected release %#v", r), false
		}
		rows = append(rows, row(rel))
	}
	sort.Strings(rows)
	return strings.Join(rows, ","), true
}

// releaseStatus reads a FederatedHelmRelease's status: cluster=status/revision/chart version, sorted.
func releaseStatus(namespace, name string) func() (string, bool) {
	return releaseStatusIn(hostKubeconfig(), namespace, name)
}

// releaseStatusIn is releaseStatus through the host of kubeconfig.
func releaseStatusIn(host, namespace, name string) func() (string, bool) {
	return func() (string, bool) {
		out, _, err := kubectlAs(host, "get", "fhr", name, "-n", namespace, "-o",
			`jsonpath={range .status.clusters[*]}{.name}={.status}/{.revision}/{.chartVersion}{","}{end}`)
		return strings.TrimSuffix(out, ","), err == nil
	}
}

// releaseMessage reads the status message of one cluster of a release.
func releaseMessage(namespace, name, cluster string) string {
	return releaseMessageIn(hostKubeconfig(), namespace, name, cluster)
}

// releaseMessageIn is releaseMessage through the host of kubeconfig.
func releaseMessageIn(host, namespace, name, cluster string) string {
	out, _, _ := kubectlAs(host, "get", "fhr", name, "-n", namespace, "-o",
		`jsonpath={.status.clusters[?(@.name=="`+cluster+`")].message}`)
	return out
}

// TestHelmRelease: a chart from an HTTP chart repository installs as a Helm
// release in both members, shows in their Helm release lists, upgrades
// with a per-cluster value override, and is uninstalled where it is no
// longer placed and when deleted (kept with kubefed.io/orphan). A chart
// that fails to render reports the error and changes nothing.
func TestHelmRelease(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	waitHostDiscovers(t, "federatednamespaces")
	waitHostServesHelmReleases(t)
	const namespace = "helm-e2e"
	dependencyNamespace(t, namespace)
	charts, err := framework.StartChartRepository(t, helloChart("1.0.0", false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _, _ = kubectlAs(host, "delete", "fhr", "--all", "-n", namespace, "--timeout=60s")
	})
	greeting := func(member string) func() (string, bool) {
		return onMember(member, "configmap", namespace, "hello-settings", "{.data.greeting}/{.data.chart}")
	}
	apply := func(spec string) {
		mustApplyAs(t, nil, fedHelmRelease(namespace, "hello", charts.URL, "hello", "1.0.0", spec))
	}

	apply(`  values: {greeting: hi}
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides: [{clusterName: member-2, values: {greeting: hallo}}]
`)
	eventually(t, "member-1 runs the chart with spec.values", greeting("member-1"), "hi/1.0.0")
	eventually(t, "member-2 runs the chart with its override", greeting("member-2"), "hallo/1.0.0")
	eventually(t, "member-1's helm list", memberHelmList("member-1", namespace), "hello=deployed/1/1.0.0")
	eventually(t, "member-2's helm list", memberHelmList("member-2", namespace), "hello=deployed/1/1.0.0")
	eventually(t, "the status", releaseStatus(namespace, "hello"), "member-1=deployed/1/1.0.0,member-2=deployed/1/1.0.0")
	eventually(t, "kubectl wait for Ready", func() (string, bool) {
		_, errOut, err := kubectlAs(host, "wait", "fhr/hello", "-n", namespace, "--for=condition=Ready", "--timeout=5s")
		return errOut, err == nil
	}, "")

	t.Run("a changed override upgrades that cluster only", func(t *testing.T) {
		apply(`  values: {greeting: hi}
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides: [{clusterName: member-2, values: {greeting: servus}}]
`)
		eventually(t, "member-2 upgraded", greeting("member-2"), "servus/1.0.0")
		eventually(t, "the status", releaseStatus(namespace, "hello"), "member-1=deployed/1/1.0.0,member-2=deployed/2/1.0.0")
		eventually(t, "member-2's helm list", memberHelmList("member-2", namespace), "hello=deployed/2/1.0.0")
		eventually(t, "member-1's helm list", memberHelmList("member-1", namespace), "hello=deployed/1/1.0.0")
		eventually(t, "member-2's helm history", memberHelmHistory("member-2", namespace, "hello"), "01=superseded/1.0.0,02=deployed/1.0.0")
		eventually(t, "member-1's helm history", memberHelmHistory("member-1", namespace, "hello"), "01=deployed/1.0.0")
	})

	t.Run("a chart that fails to render reports the error and changes nothing", func(t *testing.T) {
		if err := charts.Add(helloChart("2.0.0", true)); err != nil {
			t.Fatal(err)
		}
		mustApplyAs(t, nil, fedHelmRelease(namespace, "hello", charts.URL, "hello", "2.0.0", `  values: {greeting: hi}
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides: [{clusterName: member-2, values: {greeting: servus}}]
`))
		eventually(t, "the status", releaseStatus(namespace, "hello"), "member-1=failed/1/1.0.0,member-2=failed/2/1.0.0")
		for _, member := range []string{"member-1", "member-2"} {
			if message := releaseMessage(namespace, "hello", member); !strings.Contains(message, "hello 2.0.0 cannot render on purpose") {
				t.Errorf("%s's message %q does not give the render error", member, message)
			}
		}
		out, _, _ := kubectlAs(host, "get", "fhr", "hello", "-n", namespace, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if out != "False" {
			t.Errorf("Ready is %q with a chart that cannot render", out)
		}
		for member, want := range map[string]string{"member-1": "hello=deployed/1/1.0.0", "member-2": "hello=deployed/2/1.0.0"} {
			if got, _ := memberHelmList(member, namespace)(); got != want {
				t.Errorf("%s's helm list %q after the failed upgrade, want %q", member, got, want)
			}
		}
		if got, _ := greeting("member-2")(); got != "servus/1.0.0" {
			t.Errorf("member-2's ConfigMap %q after the failed upgrade", got)
		}
		// Back to the version that renders, with the values each member runs: nothing to upgrade.
		apply(`  values: {greeting: hi}
  placement: {clusters: [{name: member-1}, {name: member-2}]}
  overrides: [{clusterName: member-2, values: {greeting: servus}}]
`)
		eventually(t, "the status", releaseStatus(namespace, "hello"), "member-1=deployed/1/1.0.0,member-2=deployed/2/1.0.0")
	})

	t.Run("unplacing a cluster uninstalls the release there", func(t *testing.T) {
		apply(`  values: {greeting: hi}
  placement: {clusters: [{name: member-1}]}
`)
		eventually(t, "member-2's helm list", memberHelmList("member-2", namespace), "")
		eventually(t, "member-2's ConfigMap", greeting("member-2"), "NotFound")
		eventually(t, "the status", releaseStatus(namespace, "hello"), "member-1=deployed/1/1.0.0")
	})

	t.Run("deleting uninstalls, and kubefed.io/orphan keeps the release", func(t *testing.T) {
		mustApplyAs(t, nil, fedHelmRelease(namespace, "kept", charts.URL, "hello", "1.0.0", `  placement: {clusters: [{name: member-2}]}
`))
		eventually(t, "member-2's helm list", memberHelmList("member-2", namespace), "kept=deployed/1/1.0.0")
		mustKubectlAs(t, host, "annotate", "fhr", "kept", "-n", namespace, "kubefed.io/orphan=true")
		mustKubectlAs(t, host, "delete", "fhr", "kept", "-n", namespace, "--timeout=60s")
		mustKubectlAs(t, host, "delete", "fhr", "hello", "-n", namespace, "--timeout=60s")
		eventually(t, "member-1's helm list", memberHelmList("member-1", namespace), "")
		eventually(t, "member-1's ConfigMap", greeting("member-1"), "NotFound")
		if got, _ := memberHelmList("member-2", namespace)(); got != "kept=deployed/1/1.0.0" {
			t.Errorf("member-2's helm list %q after deleting the orphaned release, want it kept", got)
		}
		if got, _ := onMember("member-2", "configmap", namespace, "kept-settings", "{.data.greeting}")(); got != "hello" {
			t.Errorf("member-2's orphaned ConfigMap: %q", got)
		}
	})
}

// TestHelmReleaseTenancy: a team's chart may only create in a member what
// the team could create on the host: alice, an editor of team-a, gets
// nothing of a chart that asks for a ClusterRole, and the status says why.
func TestHelmReleaseTenancy(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	setUpTeams(t)
	waitHostServesHelmReleases(t)
	alice := []string{"--as", "alice", "--as-group", "team-a"}
	charts, err := framework.StartChartRepository(t, escalatingChart(), helloChart("1.0.0", false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _, _ = kubectlAs(host, "delete", "fhr,federatednamespaces", "--all", "-n", "team-a", "--timeout=60s")
	})
	mustApplyAs(t, alice, federatedNamespace("team-a", "clusters: [{name: member-1}]"))
	eventually(t, "member-1 has team-a", onMember("member-1", "namespace", "", "team-a", "{.status.phase}"), "Active")

	mustApplyAs(t, alice, fedHelmRelease("team-a", "escalate", charts.URL, "escalate", "", "  placement: {clusters: [{name: member-1}]}\n"))
	eventually(t, "the status", releaseStatus("team-a", "escalate"), "member-1=failed//")
	message := releaseMessage("team-a", "escalate", "member-1")
	for _, want := range []string{`ClusterRole.rbac.authorization.k8s.io team-a-everything`, `user "alice" may not create clusterroles.rbac.authorization.k8s.io`, "nothing was applied"} {
		if !strings.Contains(message, want) {
			t.Errorf("the status message %q does not say %q", message, want)
		}
	}
	if got, _ := onMember("member-1", "clusterrole", "", "team-a-everything", "{.metadata.name}")(); got != "NotFound" {
		t.Errorf("member-1 has the ClusterRole: %q", got)
	}
	if got, _ := onMember("member-1", "configmap", "team-a", "escalate-innocent", "{.metadata.name}")(); got != "NotFound" {
		t.Errorf("member-1 has the refused release's ConfigMap: %q", got)
	}
	if got, _ := memberHelmList("member-1", "team-a")(); got != "" {
		t.Errorf("member-1's helm list in team-a: %q, want nothing", got)
	}

	// fedhub fetches charts from inside its own network: a repository on a
	// link-local address (where cloud metadata services answer) is refused
	// before any connection, whatever the tenant may do on the host.
	mustApplyAs(t, alice, fedHelmRelease("team-a", "metadata", "http://169.254.169.254/latest", "hello", "", "  placement: {clusters: [{name: member-1}]}\n"))
	eventually(t, "the link-local repository's status", releaseStatus("team-a", "metadata"), "member-1=failed//")
	if message := releaseMessage("team-a", "metadata", "member-1"); !strings.Contains(message, "169.254.169.254 is link-local") {
		t.Errorf("the status message %q does not say the repository's address is refused", message)
	}

	// What alice may create goes through, with her own chart.
	mustApplyAs(t, alice, fedHelmRelease("team-a", "hello", charts.URL, "hello", "", "  placement: {clusters: [{name: member-1}]}\n"))
	eventually(t, "alice's own chart", releaseStatus("team-a", "hello"), "member-1=deployed/1/1.0.0")
}
