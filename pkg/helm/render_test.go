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

package helm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

// fetchSpecs serves charts from a test repository and fetches each of them.
func fetchSpecs(t *testing.T, specs ...framework.ChartSpec) (*framework.ChartRepository, map[string]*Chart) {
	t.Helper()
	repository, err := framework.StartChartRepository(t, specs...)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true})
	charts := map[string]*Chart{}
	for _, spec := range specs {
		chart, err := fetcher.Fetch(context.Background(), ChartSource{Repository: repository.URL, Name: spec.Name, Version: spec.Version})
		if err != nil {
			t.Fatal(err)
		}
		charts[spec.Name] = chart
	}
	return repository, charts
}

const crdManifest = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

func TestRenderListsTemplatesHooksAndCRDs(t *testing.T) {
	spec := webChart("1.0.0")
	spec.Name = "full"
	spec.Templates["hook.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
`
	spec.Templates["list.yaml"] = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: listed}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: {{ .Release.Name }}-reader}
rules: []
`
	spec.Templates["NOTES.txt"] = "thanks"
	spec.CRDs = map[string]string{"widgets.yaml": crdManifest}
	_, charts := fetchSpecs(t, spec)

	objects, err := NewEngine(EngineOptions{}).Render(context.Background(), charts["full"], "rel", "apps", map[string]any{"greeting": "hi"}, &Capabilities{KubeVersion: "v1.37.2"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RenderedObject{}
	for _, o := range objects {
		got[o.Kind+"/"+o.Name] = o
	}
	want := []string{"ConfigMap/rel-config", "ConfigMap/rel-hook", "ServiceAccount/listed", "ClusterRole/rel-reader", "CustomResourceDefinition/widgets.example.com"}
	if len(objects) != len(want) {
		t.Errorf("rendered %v, want %v", objects, want)
	}
	for _, key := range want {
		if _, ok := got[key]; !ok {
			t.Errorf("%s is missing from %v", key, objects)
		}
	}
	if hook := got["ConfigMap/rel-hook"]; hook.Hook != "pre-install,pre-upgrade" {
		t.Errorf("hook events %q", hook.Hook)
	}
	if crd := got["CustomResourceDefinition/widgets.example.com"]; !crd.CRD || crd.APIVersion != "apiextensions.k8s.io/v1" {
		t.Errorf("CRD %+v", crd)
	}
	if cm := got["ConfigMap/rel-config"]; cm.Source != "full/templates/configmap.yaml" || cm.APIVersion != "v1" {
		t.Errorf("ConfigMap %+v", cm)
	}
}

// TestRenderChecksKubeVersion: a chart's kubeVersion constraint is checked
// against the version rendered for, so a member outside it is told why.
func TestRenderChecksKubeVersion(t *testing.T) {
	spec := webChart("1.0.0")
	spec.Name = "old-clusters"
	spec.KubeVersion = "<1.30.0-0"
	_, charts := fetchSpecs(t, spec)
	engine := NewEngine(EngineOptions{})
	if _, err := engine.Render(context.Background(), charts["old-clusters"], "rel", "apps", nil, &Capabilities{KubeVersion: "v1.29.3"}); err != nil {
		t.Errorf("rendering for v1.29.3: %v", err)
	}
	_, err := engine.Render(context.Background(), charts["old-clusters"], "rel", "apps", nil, &Capabilities{KubeVersion: "v1.37.2"})
	if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), "v1.37.2") || !strings.Contains(err.Error(), "<1.30.0-0") {
		t.Errorf("rendering for v1.37.2: %v, want ErrRender naming the version and the constraint", err)
	}
}

func TestRenderErrors(t *testing.T) {
	failing := webChart("1.0.0")
	failing.Name = "failing"
	failing.Templates["fail.yaml"] = `{{ fail "this chart refuses to render" }}`
	required := webChart("1.0.0")
	required.Name = "required"
	required.Templates["required.yaml"] = `{{ required "tag is required" .Values.tag }}`
	_, charts := fetchSpecs(t, failing, required)
	engine := NewEngine(EngineOptions{})
	for name, want := range map[string]string{"failing": "this chart refuses to render", "required": "tag is required"} {
		_, err := engine.Render(context.Background(), charts[name], "rel", "apps", nil, nil)
		if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want ErrRender mentioning %q", name, err, want)
		}
	}
	_, err := engine.Render(context.Background(), charts["failing"], "Not_A_Name", "apps", nil, nil)
	if err == nil {
		t.Error("an invalid release name rendered")
	}
}

func TestRenderLookupFindsNothing(t *testing.T) {
	spec := webChart("1.0.0")
	spec.Name = "snoop"
	spec.Templates["snoop.yaml"] = `{{- $secrets := lookup "v1" "Secret" "kube-system" "" }}
{{- if $secrets }}{{ fail "lookup returned something" }}{{ end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: snoop
data:
  found: {{ $secrets | toJson | quote }}
`
	_, charts := fetchSpecs(t, spec)
	if _, err := NewEngine(EngineOptions{}).Render(context.Background(), charts["snoop"], "rel", "apps", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRenderIsBoundedInTime(t *testing.T) {
	spec := webChart("1.0.0")
	spec.Name = "slow"
	spec.Templates["slow.yaml"] = `{{ range until 3000 }}{{ range until 3000 }}{{ end }}{{ end }}`
	_, charts := fetchSpecs(t, spec)
	engine := NewEngine(EngineOptions{RenderTimeout: 50 * time.Millisecond, MaxConcurrentRenders: 1})
	start := time.Now()
	_, err := engine.Render(context.Background(), charts["slow"], "rel", "apps", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("got %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the render returned after %s", elapsed)
	}
}

func TestRenderLimitsManifestSize(t *testing.T) {
	spec := webChart("1.0.0")
	spec.Name = "huge"
	spec.Templates["huge.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata: {name: huge}
data:
  blob: {{ repeat 100000 "x" | quote }}
`
	_, charts := fetchSpecs(t, spec)
	_, err := NewEngine(EngineOptions{MaxManifestBytes: 10000}).Render(context.Background(), charts["huge"], "rel", "apps", nil, nil)
	if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("got %v, want ErrRender about the limit", err)
	}
}

func TestCheckNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name    string
		objects []RenderedObject
		ok      bool
	}{
		{"unset", []RenderedObject{{Kind: "ConfigMap", Name: "a"}}, true},
		{"release namespace", []RenderedObject{{Kind: "ConfigMap", Namespace: "apps", Name: "a"}}, true},
		{"cluster-scoped without namespace", []RenderedObject{{Kind: "ClusterRole", Name: "a"}}, true},
		{"other namespace", []RenderedObject{{Kind: "ConfigMap", Name: "a"}, {Kind: "Secret", Namespace: "kube-system", Name: "b"}}, false},
		{"hook in other namespace", []RenderedObject{{Kind: "Job", Namespace: "other", Name: "a", Hook: "pre-install"}}, false},
		{"namespace on a cluster-scoped kind", []RenderedObject{{Kind: "ClusterRole", Namespace: "other", Name: "a"}}, false},
	} {
		err := CheckNamespaces(tc.objects, "apps")
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrForeignNamespace)) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}
