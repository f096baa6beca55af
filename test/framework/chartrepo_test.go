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

package framework

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadIndex(t *testing.T, r *ChartRepository) *repo.IndexFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(path, get(t, r.URL+"/index.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	index, err := repo.LoadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return index
}

func TestChartRepositoryServesPackagedCharts(t *testing.T) {
	web := ChartSpec{
		Name: "web", Version: "1.0.0", AppVersion: "2.0",
		Values:    map[string]any{"greeting": "hello"},
		Templates: map[string]string{"cm.yaml": "kind: ConfigMap\n", "fail.yaml": `{{ fail "no" }}`},
		CRDs:      map[string]string{"crd.yaml": "kind: CustomResourceDefinition\n"},
	}
	r, err := StartChartRepository(t, web)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := loadIndex(t, r).Get("web", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if entry.AppVersion != "2.0" || len(entry.URLs) != 1 || entry.Digest == "" {
		t.Errorf("index entry %+v", entry)
	}
	chart, err := loader.LoadArchive(bytes.NewReader(get(t, r.URL+"/"+entry.URLs[0])))
	if err != nil {
		t.Fatal(err)
	}
	if chart.Values["greeting"] != "hello" || len(chart.Templates) != 2 || len(chart.CRDObjects()) != 1 {
		t.Errorf("chart values %v, templates %d, CRDs %d", chart.Values, len(chart.Templates), len(chart.CRDObjects()))
	}
	if r.Downloads("web-1.0.0.tgz") != 1 {
		t.Errorf("downloads %d", r.Downloads("web-1.0.0.tgz"))
	}

	web.Version = "1.1.0"
	if err := r.Add(web); err != nil {
		t.Fatal(err)
	}
	index := loadIndex(t, r)
	if latest, err := index.Get("web", ""); err != nil || latest.Version != "1.1.0" {
		t.Errorf("latest after Add: %v %v", latest, err)
	}
	if _, err := index.Get("web", "1.0.0"); err != nil {
		t.Errorf("1.0.0 after Add: %v", err)
	}
	r.Stop()
	if _, err := http.Get(r.URL + "/index.yaml"); err == nil {
		t.Error("the repository still serves after Stop")
	}
}
