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
	"strings"
	"testing"

	"github.com/fedhub/fedhub/test/framework"
)

// probingChart renders a ConfigMap everywhere and, where the cluster serves
// apiregistration.k8s.io/v1 (a member's kube-apiserver does; Helm's default
// capabilities, which fedhub renders with, do not), a ClusterRole as well.
func probingChart() framework.ChartSpec {
	return framework.ChartSpec{Name: "probe", Version: "0.1.0", Templates: map[string]string{
		"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-innocent
data: {a: b}
`,
		"clusterrole.yaml": `{{- if .Capabilities.APIVersions.Has "apiregistration.k8s.io/v1" }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Namespace }}-probed
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
{{- end }}
`}}
}

// TestHelmReleasePull: a FederatedHelmRelease placed on a pull member is
// installed there by its agent, which fetches the chart itself: it shows in
// the member's helm list and in the release's status, upgrades when the
// values change, and is uninstalled when the release is deleted. A chart
// that renders, with the member's capabilities, a kind fedhub did not check
// on the host is refused by the agent and installs nothing.
func TestHelmReleasePull(t *testing.T) {
	pullShared.get(t)
	host, members := pullShared.kubeconfig("host"), pullShared.kubeconfig("federation")
	waitDiscovers(t, host, "federatednamespaces")
	waitDiscoversHelmReleases(t, host)
	charts, err := framework.StartChartRepository(t, helloChart("1.0.0", false), probingChart())
	if err != nil {
		t.Fatal(err)
	}
	const namespace = "helm-pull"
	apply := func(manifest string) {
		t.Helper()
		eventually(t, "kubectl apply", func() (string, bool) {
			_, errOut, err := kubectlStdin(host, manifest, "apply", "-f", "-")
			return errOut, err == nil
		}, "")
	}
	onPullMember := func(resource, name, jsonpath string) func() (string, bool) {
		return func() (string, bool) {
			out, errOut, err := kubectlAs(members, "--context", "member-2", "get", resource, name, "-n", namespace, "-o", "jsonpath="+jsonpath)
			if err != nil && strings.Contains(errOut, "NotFound") {
				return "NotFound", true
			}
			return out, err == nil
		}
	}
	helmList := helmListIn(members, "member-2", namespace)
	mustKubectlAs(t, host, "create", "namespace", namespace)
	apply(federatedNamespace(namespace, "clusters: [{name: member-2}]"))
	eventually(t, "the pull member has the namespace", func() (string, bool) {
		_, _, err := kubectlAs(members, "--context", "member-2", "get", "namespace", namespace)
		return "", err == nil
	}, "")

	apply(fedHelmRelease(namespace, "hello", charts.URL, "hello", "1.0.0", `  values: {greeting: hi}
  placement: {clusters: [{name: member-2}]}
`))
	eventually(t, "the pull member runs the chart", onPullMember("configmap", "hello-settings", "{.data.greeting}/{.data.chart}"), "hi/1.0.0")
	eventually(t, "the pull member's helm list", helmList, "hello=deployed/1/1.0.0")
	eventually(t, "the status", releaseStatusIn(host, namespace, "hello"), "member-2=deployed/1/1.0.0")
	eventually(t, "kubectl wait for Ready", func() (string, bool) {
		_, errOut, err := kubectlAs(host, "wait", "fhr/hello", "-n", namespace, "--for=condition=Ready", "--timeout=5s")
		return errOut, err == nil
	}, "")

	t.Run("changed values upgrade the release", func(t *testing.T) {
		apply(fedHelmRelease(namespace, "hello", charts.URL, "hello", "1.0.0", `  values: {greeting: servus}
  placement: {clusters: [{name: member-2}]}
`))
		eventually(t, "the pull member upgraded", onPullMember("configmap", "hello-settings", "{.data.greeting}"), "servus")
		eventually(t, "the pull member's helm list", helmList, "hello=deployed/2/1.0.0")
		eventually(t, "the status", releaseStatusIn(host, namespace, "hello"), "member-2=deployed/2/1.0.0")
	})

	t.Run("a kind the member's render adds beyond fedhub's check is refused", func(t *testing.T) {
		apply(fedHelmRelease(namespace, "probe", charts.URL, "probe", "0.1.0", `  placement: {clusters: [{name: member-2}]}
`))
		eventually(t, "the status", releaseStatusIn(host, namespace, "probe"), "member-2=failed//")
		message := releaseMessageIn(host, namespace, "probe", "member-2")
		if !strings.Contains(message, "ClusterRole") || !strings.Contains(message, "not among the kinds fedhub checked") {
			t.Errorf("the status message %q does not name the ClusterRole fedhub did not check", message)
		}
		if got, _ := helmList(); got != "hello=deployed/2/1.0.0" {
			t.Errorf("the pull member's helm list %q: the refused chart installed something", got)
		}
		if got, _ := onPullMember("configmap", "probe-innocent", "{.metadata.name}")(); got != "NotFound" {
			t.Errorf("the refused chart's ConfigMap: %q", got)
		}
		if out, errOut, err := kubectlAs(members, "--context", "member-2", "get", "clusterrole", namespace+"-probed"); err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("the refused chart's ClusterRole: %s %s", out, errOut)
		}
	})

	t.Run("deleting the release uninstalls it from the pull member", func(t *testing.T) {
		mustKubectlAs(t, host, "delete", "fhr", "hello", "probe", "-n", namespace, "--timeout=60s")
		eventually(t, "the pull member's helm list", helmList, "")
		eventually(t, "the pull member's ConfigMap", onPullMember("configmap", "hello-settings", "{.metadata.name}"), "NotFound")
		eventually(t, "the releases' Works are gone", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "works.agent.fedhub.io", "-n", "kube-federation-system", "-o",
				`jsonpath={range .items[?(@.spec.source.kind=="FederatedHelmRelease")]}{.metadata.name}{" "}{end}`)
			return out, err == nil
		}, "")
	})
}
