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
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
)

// TestHelmReleaseAPI: FederatedHelmReleases through the host with kubectl:
// a team applies one, kubectl get fhr prints its columns, a bad one is
// refused with field paths, one placed on a cluster the team may not
// propagate to is refused, and the stored release names the user who wrote
// it, whatever author the user sent.
func TestHelmReleaseAPI(t *testing.T) {
	sharedFederation(t)
	host := hostKubeconfig()
	setUpTeams(t)
	waitHostServesHelmReleases(t)
	alice := []string{"--as", "alice", "--as-group", "team-a"}
	victor := []string{"--as", "victor", "--as-group", "auditors"}
	for _, check := range [][]string{
		append([]string{"create", "federatedhelmreleases.apps.fedhub.io", "-n", "team-a"}, alice...),
		append([]string{"get", "federatedhelmreleases.apps.fedhub.io", "-n", "team-a"}, victor...),
	} {
		eventually(t, "the host's edit and view roles include federatedhelmreleases", func() (string, bool) {
			out, _, _ := kubectlAs(host, append([]string{"auth", "can-i"}, check...)...)
			return strings.TrimSpace(out), true
		}, "yes")
	}
	t.Cleanup(func() {
		_, _, _ = kubectlAs(host, "delete", "federatedhelmreleases", "--all", "-n", "team-a", "--timeout=60s")
	})

	forged := `{"username":"admin","groups":["system:masters"]}`
	mustApplyAs(t, alice, helmRelease("podinfo", "https://charts.example.com/stable", "podinfo", "6.5.0", "clusters: [{name: member-1}]",
		"annotations: {fedhub.io/author: '"+forged+"', fedhub.io/author-clusters: '*'}"))

	t.Run("kubectl get fhr prints the chart, version and clusters", func(t *testing.T) {
		out := mustKubectlAs(t, host, append([]string{"get", "fhr", "-n", "team-a"}, alice...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), []string{"NAME", "CHART", "VERSION", "CLUSTERS", "AGE"}) {
			t.Fatalf("kubectl get fhr:\n%s\nwant the header NAME CHART VERSION CLUSTERS AGE and one release", out)
		}
		row := strings.Fields(lines[1])
		if len(row) != 5 || row[0] != "podinfo" || row[1] != "podinfo" || row[2] != "6.5.0" || !regexp.MustCompile(`^\d+/\d+$`).MatchString(row[3]) {
			t.Errorf("kubectl get fhr row %q, want podinfo podinfo 6.5.0 N/M AGE", lines[1])
		}
		wide := mustKubectlAs(t, host, append([]string{"get", "federatedhelmrelease", "podinfo", "-n", "team-a", "-o", "wide"}, victor...)...)
		if !strings.Contains(wide, "REPOSITORY") || !strings.Contains(wide, "https://charts.example.com/stable") {
			t.Errorf("kubectl get -o wide:\n%s\nwant the repository", wide)
		}
	})

	t.Run("the stored release names the user who wrote it", func(t *testing.T) {
		out := mustKubectlAs(t, host, "get", "fhr", "podinfo", "-n", "team-a", "-o", "jsonpath={.metadata.annotations}")
		var annotations map[string]string
		if err := json.Unmarshal([]byte(out), &annotations); err != nil {
			t.Fatalf("annotations %q: %v", out, err)
		}
		author, ok := appsv1alpha1.AuthorFromAnnotations(annotations)
		if !ok || author.Username != "alice" || !slices.Contains(author.Groups, "team-a") || slices.Contains(author.Groups, "system:masters") {
			t.Errorf("recorded author %+v (found %v), want alice of team-a, not the forged %s", author, ok, forged)
		}
		if got := annotations["fedhub.io/author-clusters"]; got != "member-1" {
			t.Errorf("recorded clusters %q, want member-1, alice's", got)
		}
		if got := mustKubectlAs(t, host, "get", "fhr", "podinfo", "-n", "team-a", "-o", "jsonpath={.spec.releaseName}"); got != "podinfo" {
			t.Errorf("releaseName %q, want podinfo, defaulted from the name", got)
		}

		// A write by the platform admin replaces the recorded author.
		mustKubectlAs(t, host, "annotate", "fhr", "podinfo", "-n", "team-a", "example.com/reviewed=yes")
		out = mustKubectlAs(t, host, "get", "fhr", "podinfo", "-n", "team-a", "-o", `jsonpath={.metadata.annotations.fedhub\.io/author}`)
		var admin authenticationv1.UserInfo
		if err := json.Unmarshal([]byte(out), &admin); err != nil || admin.Username == "alice" || admin.Username == "" {
			t.Errorf("author after the admin's write: %q (%v), want the admin", out, err)
		}
	})

	t.Run("a bad release is refused with field paths", func(t *testing.T) {
		_, errOut, err := applyAs(alice, helmRelease("bad", "file:///etc", "", "", "clusters: [{name: member-1}]", ""))
		if err == nil {
			t.Fatal("a release from file:///etc without a chart name was stored")
		}
		for _, want := range []string{"is invalid", "spec.chart.repository", "file:///etc", "spec.chart.name: Required value"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("the refusal does not say %q: %s", want, errOut)
			}
		}
	})

	t.Run("a team places releases on its clusters only", func(t *testing.T) {
		_, errOut, err := applyAs(alice, helmRelease("elsewhere", "oci://registry.example.com/charts", "podinfo", "", "clusters: [{name: member-1}, {name: member-2}]", ""))
		assertForbidden(t, "placing a release on member-2", err, errOut, `"alice" may not propagate to cluster(s) member-2`)
		_, errOut, err = applyAs(alice, helmRelease("everywhere", "oci://registry.example.com/charts", "podinfo", "", "clusterSelector: {}", ""))
		assertForbidden(t, "placing a release by selector", err, errOut, `"alice" may not propagate to every cluster`)
		_, errOut, err = createAs(victor, helmRelease("viewer-made", "https://charts.example.com/stable", "podinfo", "", "clusters: [{name: member-1}]", ""))
		assertForbidden(t, "a viewer creating a release", err, errOut, `cannot create resource "federatedhelmreleases"`)
		if out := mustKubectlAs(t, host, "get", "fhr", "-n", "team-a", "-o", "name"); strings.TrimSpace(out) != "federatedhelmrelease.apps.fedhub.io/podinfo" {
			t.Errorf("refused releases were stored: %q", out)
		}
	})
}

// helmRelease is a FederatedHelmRelease in team-a; metadata is added to its metadata as is.
func helmRelease(name, repository, chart, version, placement, metadata string) string {
	return "apiVersion: apps.fedhub.io/v1alpha1\nkind: FederatedHelmRelease\nmetadata:\n  name: " + name + "\n  namespace: team-a\n" +
		indent(metadata) + "spec:\n  chart: {repository: '" + repository + "', name: '" + chart + "', version: '" + version + "'}\n" +
		"  values: {replicaCount: 2}\n  placement: {" + placement + "}\n"
}

func indent(line string) string {
	if line == "" {
		return ""
	}
	return "  " + line + "\n"
}
