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
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

func TestValidateSource(t *testing.T) {
	for _, tc := range []struct {
		source ChartSource
		ok     bool
	}{
		{ChartSource{Repository: "https://charts.example.com", Name: "web", Version: "1.0.0"}, true},
		{ChartSource{Repository: "http://127.0.0.1:8080/charts/", Name: "web"}, true},
		{ChartSource{Repository: "oci://ghcr.io/org/charts", Name: "web", Version: "^1.2"}, true},
		{ChartSource{Repository: "file:///etc", Name: "passwd"}, false},
		{ChartSource{Repository: "/var/lib/charts", Name: "web"}, false},
		{ChartSource{Repository: "ftp://example.com", Name: "web"}, false},
		{ChartSource{Repository: "https://user:secret@example.com", Name: "web"}, false},
		{ChartSource{Repository: "oci://user:secret@ghcr.io/org", Name: "web"}, false},
		{ChartSource{Repository: "oci:///no-host", Name: "web"}, false},
		{ChartSource{Repository: "https://example.com", Name: ""}, false},
		{ChartSource{Repository: "https://example.com", Name: "../web"}, false},
		{ChartSource{Repository: "https://example.com", Name: "web", Version: "not a version"}, false},
	} {
		err := ValidateSource(tc.source)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.source, err)
		}
		if !tc.ok && !errors.Is(err, ErrUnsupportedSource) {
			t.Errorf("%s: got %v, want ErrUnsupportedSource", tc.source, err)
		}
	}
}

func webChart(version string) framework.ChartSpec {
	return framework.ChartSpec{
		Name: "web", Version: version, AppVersion: "app-" + version,
		Values: map[string]any{"greeting": "hello"},
		Templates: map[string]string{
			"configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: {{ .Values.greeting | quote }}
  version: {{ .Chart.Version | quote }}
`,
		},
	}
}

func TestFetchCachesByResolvedVersion(t *testing.T) {
	repository, err := framework.StartChartRepository(t, webChart("1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fetcher := NewFetcher(FetcherOptions{IndexTTL: time.Hour})
	for _, version := range []string{"1.0.0", "1.0.0", "^1.0.0", ""} {
		chart, err := fetcher.Fetch(ctx, ChartSource{Repository: repository.URL, Name: "web", Version: version})
		if err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
		if chart.Source.Version != "1.0.0" || chart.AppVersion != "app-1.0.0" {
			t.Errorf("version %q resolved to %+v", version, chart)
		}
	}
	if n := repository.Downloads("web-1.0.0.tgz"); n != 1 {
		t.Errorf("archive downloaded %d times, want 1", n)
	}
	if n := repository.Downloads("index.yaml"); n != 1 {
		t.Errorf("index downloaded %d times, want 1 (exact versions in the cache need none)", n)
	}

	// A new version is found once the index is read again.
	if err := repository.Add(webChart("1.1.0")); err != nil {
		t.Fatal(err)
	}
	fresh := NewFetcher(FetcherOptions{})
	chart, err := fresh.Fetch(ctx, ChartSource{Repository: repository.URL, Name: "web", Version: "^1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if chart.Source.Version != "1.1.0" {
		t.Errorf("^1.0.0 resolved to %s, want 1.1.0", chart.Source.Version)
	}
	if _, err := fresh.Fetch(ctx, ChartSource{Repository: repository.URL, Name: "web", Version: "2.0.0"}); err == nil {
		t.Error("fetching a version the repository lacks succeeded")
	}
	if _, err := fresh.Fetch(ctx, ChartSource{Repository: repository.URL, Name: "nothing"}); err == nil {
		t.Error("fetching a chart the repository lacks succeeded")
	}
}

func TestFetchLimitsArchiveSize(t *testing.T) {
	big := webChart("1.0.0")
	big.Templates["padding.txt"] = strings.Repeat("incompressible? no, but long enough ", 4096)
	repository, err := framework.StartChartRepository(t, big)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := NewFetcher(FetcherOptions{MaxArchiveBytes: 512})
	_, err = fetcher.Fetch(context.Background(), ChartSource{Repository: repository.URL, Name: "web", Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("got %v, want an error about the size limit", err)
	}
}

// An index may point archives anywhere, but never at a local file.
func TestFetchRefusesArchiveURLsOtherThanHTTP(t *testing.T) {
	for _, archiveURL := range []string{"file:///etc/hostname", "ftp://example.com/web-1.0.0.tgz"} {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`apiVersion: v1
entries:
  web:
  - apiVersion: v2
    name: web
    version: 1.0.0
    urls: ["` + archiveURL + `"]
`))
		}))
		_, err := NewFetcher(FetcherOptions{}).Fetch(context.Background(), ChartSource{Repository: server.URL, Name: "web", Version: "1.0.0"})
		server.Close()
		if !errors.Is(err, ErrUnsupportedSource) {
			t.Errorf("archive URL %s: got %v, want ErrUnsupportedSource", archiveURL, err)
		}
	}
}

func TestFetchRefusesRedirectToFile(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/hostname", http.StatusFound)
	}))
	defer server.Close()
	_, err := NewFetcher(FetcherOptions{}).Fetch(context.Background(), ChartSource{Repository: server.URL, Name: "web", Version: "1.0.0"})
	if err == nil {
		t.Fatal("a redirect to file:// was followed")
	}
}

func TestOCIReference(t *testing.T) {
	got := ociReference(ChartSource{Repository: "oci://ghcr.io/org/charts/", Name: "web"})
	if got != "ghcr.io/org/charts/web" {
		t.Errorf("got %s", got)
	}
}

// Many clusters reconciling at once fetch a chart once and render it in parallel.
func TestConcurrentFetchAndRender(t *testing.T) {
	repository, err := framework.StartChartRepository(t, webChart("1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	fetcher := NewFetcher(FetcherOptions{})
	engine := NewEngine(EngineOptions{})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			chart, err := fetcher.Fetch(context.Background(), ChartSource{Repository: repository.URL, Name: "web", Version: "1.0.0"})
			if err == nil {
				_, err = engine.Render(context.Background(), chart, "web", "apps", map[string]any{"greeting": i}, nil)
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := repository.Downloads("web-1.0.0.tgz"); n != 1 {
		t.Errorf("archive downloaded %d times, want 1", n)
	}
}
