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
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// ChartSpec is a chart the test chart repository builds and serves.
type ChartSpec struct {
	Name       string
	Version    string
	AppVersion string
	// KubeVersion is the chart's Kubernetes version constraint, e.g. ">=1.30.0-0".
	KubeVersion string
	// Templates maps file names under templates/ to their content.
	Templates map[string]string
	// CRDs maps file names under crds/ to their content.
	CRDs map[string]string
	// Values are the chart's default values (values.yaml).
	Values map[string]any
}

// ChartRepository is a Helm chart repository (index.yaml and packaged
// charts) served over HTTP on 127.0.0.1.
type ChartRepository struct {
	// URL is the repository's base URL, as `helm repo add` takes it.
	URL string

	dir    string
	server *httptest.Server

	mu        sync.Mutex
	downloads map[string]int
}

// StartChartRepository packages charts into a temporary directory of t and
// serves them; t.Cleanup stops the server.
func StartChartRepository(t testing.TB, charts ...ChartSpec) (*ChartRepository, error) {
	r := &ChartRepository{dir: t.TempDir(), downloads: map[string]int{}}
	if err := r.add(charts...); err != nil {
		return nil, err
	}
	files := http.FileServer(http.Dir(r.dir))
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.downloads[path.Base(req.URL.Path)]++
		r.mu.Unlock()
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Stop)
	r.URL = r.server.URL
	return r, nil
}

// Add packages more charts (e.g. a new version of one served already) and
// rewrites the index.
func (r *ChartRepository) Add(charts ...ChartSpec) error {
	return r.add(charts...)
}

func (r *ChartRepository) add(charts ...ChartSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, spec := range charts {
		chart, err := buildChart(spec)
		if err != nil {
			return err
		}
		if _, err := chartutil.Save(chart, r.dir); err != nil {
			return fmt.Errorf("packaging %s %s: %w", spec.Name, spec.Version, err)
		}
	}
	// Archive URLs in the index are relative, so the index does not depend on the server's address.
	index, err := repo.IndexDirectory(r.dir, "")
	if err != nil {
		return err
	}
	index.SortEntries()
	tmp := filepath.Join(r.dir, "index.yaml.tmp")
	if err := index.WriteFile(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir, "index.yaml"))
}

// buildChart is the chart `helm package` would make of a directory with
// Chart.yaml, values.yaml, templates/ and crds/.
func buildChart(spec ChartSpec) (*chartv2.Chart, error) {
	values, err := yaml.Marshal(spec.Values)
	if err != nil {
		return nil, err
	}
	chart := &chartv2.Chart{
		Metadata: &chartv2.Metadata{
			APIVersion: chartv2.APIVersionV2, Name: spec.Name, Version: spec.Version,
			AppVersion: spec.AppVersion, KubeVersion: spec.KubeVersion, Type: "application",
		},
		Values: spec.Values,
		// The archive's values.yaml is written from the raw file, as `helm package` copies it.
		Raw: []*common.File{{Name: chartutil.ValuesfileName, Data: values}},
	}
	for _, name := range sortedNames(spec.Templates) {
		chart.Templates = append(chart.Templates, &common.File{Name: "templates/" + name, Data: []byte(spec.Templates[name])})
	}
	for _, name := range sortedNames(spec.CRDs) {
		chart.Files = append(chart.Files, &common.File{Name: "crds/" + name, Data: []byte(spec.CRDs[name])})
	}
	return chart, nil
}

func sortedNames(files map[string]string) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Downloads counts the requests for a file of the repository (e.g.
// "index.yaml" or "web-1.0.0.tgz").
func (r *ChartRepository) Downloads(file string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downloads[file]
}

// Stop stops serving; it may be called more than once.
func (r *ChartRepository) Stop() {
	if r.server != nil {
		r.server.Close()
	}
}
