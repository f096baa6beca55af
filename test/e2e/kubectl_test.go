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
	"strings"
	"testing"
)

// TestKubectlAgainstStandalone applies KubeFed's own v1beta1 manifests with the
// real kubectl and reads them back the ways a KubeFed user would.
func TestKubectlAgainstStandalone(t *testing.T) {
	server := startStandalone(t)

	// Nothing else running: listing works on an empty federation.
	if out := server.mustKubectl(t, "get", "kubefedclusters", "-A"); strings.TrimSpace(out) != "" {
		t.Errorf("an empty federation listed clusters:\n%s", out)
	}

	out := server.mustKubectl(t, "apply",
		"-f", "testdata/kubefed/kubefedcluster.yaml",
		"-f", "testdata/kubefed/federatedtypeconfig.yaml")
	// deployments.apps exists from the first start; KubeFed's manifest of it applies over it.
	for _, want := range []string{`kubefedcluster.core.kubefed.io/cluster2 created`, `federatedtypeconfig.core.kubefed.io/deployments.apps (configured|unchanged)`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("kubectl apply printed %q, want it to match %q", out, want)
		}
	}

	t.Run("get -o wide prints the cluster columns", func(t *testing.T) {
		// Without a host there is no Secret to read: the health controller says so.
		server.mustKubectl(t, "wait", "--for=condition=ConfigMalformed", "kfc/cluster2", "-n", "kube-federation-system", "--timeout=60s")
		out := server.mustKubectl(t, "get", "kfc", "-n", "kube-federation-system", "-o", "wide")
		assertColumns(t, out, "NAME", "AGE", "READY", "MODE", "KUBERNETES-VERSION", "REGION", "ZONES", "API-ENDPOINT")
		if !regexp.MustCompile(`(?m)^cluster2\s+\S+\s+False\s+Push\s+https://172\.18\.0\.3:6443\s*$`).MatchString(out) {
			t.Errorf("the cluster2 row does not show its age, readiness and endpoint:\n%s", out)
		}
		message := server.mustKubectl(t, "get", "kfc/cluster2", "-n", "kube-federation-system", "-o", `jsonpath={.status.conditions[?(@.type=="ConfigMalformed")].message}`)
		if !strings.Contains(message, "without a host cluster") {
			t.Errorf("the ConfigMalformed message does not say why: %q", message)
		}
	})

	t.Run("get prints the type config columns", func(t *testing.T) {
		out := server.mustKubectl(t, "get", "ftc", "-n", "kube-federation-system")
		assertColumns(t, out, "NAME", "AGE", "TARGET", "PROPAGATION")
		if !regexp.MustCompile(`(?m)^deployments\.apps\s+\S+\s+apps/v1/Deployment\s+Enabled\s*$`).MatchString(out) {
			t.Errorf("the deployments.apps row does not show its target and propagation:\n%s", out)
		}
	})

	t.Run("the stored objects mean what KubeFed's meant", func(t *testing.T) {
		out := server.mustKubectl(t, "get", "ftc", "deployments.apps", "-n", "kube-federation-system",
			"-o", "jsonpath={.spec.targetType.group}/{.spec.targetType.version}/{.spec.targetType.kind} {.spec.federatedType.pluralName} {.spec.propagation}")
		if want := "apps/v1/Deployment federateddeployments Enabled"; out != want {
			t.Errorf("stored type config reads %q, want %q", out, want)
		}
		out = server.mustKubectl(t, "get", "kfc", "cluster2", "-n", "kube-federation-system", "-o", "jsonpath={.spec.apiEndpoint} {.spec.secretRef.name}")
		if want := "https://172.18.0.3:6443 cluster2-x7b9q"; out != want {
			t.Errorf("stored cluster reads %q, want %q", out, want)
		}
	})

	t.Run("explain shows field documentation", func(t *testing.T) {
		out := server.mustKubectl(t, "explain", "kubefedcluster.spec.apiEndpoint")
		for _, want := range []string{"KIND:       KubeFedCluster", "FIELD: apiEndpoint <string>", "member's API server"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain does not show %q:\n%s", want, out)
			}
		}
	})

	t.Run("explain reaches into a federated template", func(t *testing.T) {
		out := server.mustKubectl(t, "explain", "federateddeployment.spec.template.spec.replicas")
		for _, want := range []string{"KIND:       FederatedDeployment", "FIELD: replicas <integer>", "Number of desired pods"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain does not show %q:\n%s", want, out)
			}
		}
		out = server.mustKubectl(t, "explain", "federateddeployment.spec.placement.clusters")
		if !strings.Contains(out, "wins over clusterSelector") {
			t.Errorf("kubectl explain of placement.clusters:\n%s", out)
		}
	})

	t.Run("a bad apiEndpoint is refused with its field path", func(t *testing.T) {
		_, errOut, err := server.kubectl("apply", "-f", "testdata/kubefed/bad-apiendpoint.yaml")
		if err == nil {
			t.Fatal("kubectl apply accepted an ftp:// apiEndpoint")
		}
		for _, want := range []string{"spec.apiEndpoint", "ftp://172.18.0.9:21", "http"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("the refusal does not mention %q:\n%s", want, errOut)
			}
		}
		if _, _, err := server.kubectl("get", "kfc", "broken", "-n", "kube-federation-system"); err == nil {
			t.Error("the refused cluster was stored anyway")
		}
	})

	t.Run("the kubefed category lists every control-plane object", func(t *testing.T) {
		out := server.mustKubectl(t, "get", "kubefed", "-A", "-o", "name")
		for _, want := range []string{"kubefedcluster.core.kubefed.io/cluster2", "federatedtypeconfig.core.kubefed.io/deployments.apps"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get kubefed does not list %s:\n%s", want, out)
			}
		}
	})

	t.Run("kubectl apply --server-side works on a client-side-applied object", func(t *testing.T) {
		manifest := "testdata/kubefed/kubefedcluster.yaml"
		// kubectl migrates the client-side apply's ownership to server-side apply,
		// which needs the OpenAPI models and managed fields to work.
		server.mustKubectl(t, "apply", "--server-side", "-f", manifest)
		out := server.mustKubectl(t, "get", "kfc", "cluster2", "-n", "kube-federation-system", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}")
		if !strings.Contains(out, "kubectl") {
			t.Errorf("managed fields name no kubectl manager: %q", out)
		}
	})

	t.Run("OpenAPI v2 and v3 describe the kinds", func(t *testing.T) {
		v2 := server.mustKubectl(t, "get", "--raw", "/openapi/v2")
		if !strings.Contains(v2, `"io.fedhub.core.v1beta1.KubeFedCluster"`) {
			t.Error("/openapi/v2 has no KubeFedCluster definition")
		}
		v3 := server.mustKubectl(t, "get", "--raw", "/openapi/v3/apis/scheduling.kubefed.io/v1alpha1")
		if !strings.Contains(v3, `"io.fedhub.scheduling.v1alpha1.ReplicaSchedulingPreference"`) {
			t.Error("/openapi/v3 for scheduling.kubefed.io/v1alpha1 has no ReplicaSchedulingPreference schema")
		}
	})

	t.Run("every PATCH of a kind in OpenAPI v3 takes fieldValidation, as kubectl expects", func(t *testing.T) {
		// kubectl decides whether the server validates fields from the first
		// PATCH operation of the object's kind that it finds in the group's
		// OpenAPI v3 paths, a map: one without fieldValidation (the proxy
		// subresource's, were it KubeFedCluster's) makes it validate on the
		// client, at random.
		for _, gv := range []string{"core.kubefed.io/v1beta1", "scheduling.kubefed.io/v1alpha1", "agent.fedhub.io/v1alpha1", "apps.fedhub.io/v1alpha1"} {
			var doc struct {
				Paths map[string]struct {
					Patch *struct {
						GVK        map[string]string `json:"x-kubernetes-group-version-kind"`
						Parameters []struct {
							Name string `json:"name"`
							In   string `json:"in"`
							Ref  string `json:"$ref"`
						} `json:"parameters"`
					} `json:"patch"`
				} `json:"paths"`
			}
			if err := json.Unmarshal([]byte(server.mustKubectl(t, "get", "--raw", "/openapi/v3/apis/"+gv)), &doc); err != nil {
				t.Fatal(err)
			}
			patches := 0
			for path, item := range doc.Paths {
				if item.Patch == nil {
					continue
				}
				if strings.HasSuffix(item.Patch.GVK["kind"], "Options") {
					// A connect subresource (kubefedclusters/proxy): its own
					// kind, as pods/proxy's is PodProxyOptions.
					continue
				}
				patches++
				found := false
				for _, p := range item.Patch.Parameters {
					found = found || (p.Name == "fieldValidation" && p.In == "query") || strings.HasSuffix(p.Ref, "/fieldValidation")
				}
				if !found {
					t.Errorf("%s: PATCH %s (kind %s) takes no fieldValidation", gv, path, item.Patch.GVK["kind"])
				}
			}
			if patches == 0 {
				t.Errorf("%s: no PATCH operation in OpenAPI v3", gv)
			}
		}
	})

	t.Run("an unknown field is refused by strict field validation", func(t *testing.T) {
		_, errOut, err := server.kubectl("apply", "-f", "testdata/kubefed/unknown-field.yaml")
		if err == nil || !strings.Contains(errOut, `unknown field "spec.secretRefs"`) {
			t.Errorf("kubectl apply with a misspelt field: err=%v, stderr=%s", err, errOut)
		}
	})
}

// assertColumns checks the header line of a kubectl table, in order.
func assertColumns(t *testing.T, table string, want ...string) {
	t.Helper()
	header := strings.Fields(strings.SplitN(table, "\n", 2)[0])
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("table header is %v, want %v:\n%s", header, want, table)
	}
}
