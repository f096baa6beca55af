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
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
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
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true, IndexTTL: time.Hour})
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
	fresh := NewFetcher(FetcherOptions{AllowLoopback: true})
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
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true, MaxArchiveBytes: 512})
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
		_, err := NewFetcher(FetcherOptions{AllowLoopback: true}).Fetch(context.Background(), ChartSource{Repository: server.URL, Name: "web", Version: "1.0.0"})
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
	_, err := NewFetcher(FetcherOptions{AllowLoopback: true}).Fetch(context.Background(), ChartSource{Repository: server.URL, Name: "web", Version: "1.0.0"})
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
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true})
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

// ociRegistry is the least of an OCI distribution registry that serves
// charts: tags, manifests and blobs of one repository, anonymously. It counts
// requests with an Authorization header (there must be none).
type ociRegistry struct {
	repository string
	manifests  map[string][]byte // by tag
	blobs      map[string][]byte // by digest
	authorized int
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *ociRegistry) push(t *testing.T, tag string, archive []byte, version string) {
	config := []byte(`{"name":"web","version":"` + version + `","apiVersion":"v2"}`)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": digestOf(archive), "size": len(archive)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.blobs[digestOf(config)] = config
	r.blobs[digestOf(archive)] = archive
	r.manifests[tag] = manifest
}

func (r *ociRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Authorization") != "" {
		r.authorized++
	}
	prefix := "/v2/" + r.repository + "/"
	rest, ok := strings.CutPrefix(req.URL.Path, prefix)
	switch {
	case req.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case ok && rest == "tags/list":
		tags := []string{}
		for tag := range r.manifests {
			tags = append(tags, tag)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"name": r.repository, "tags": tags})
	case ok && strings.HasPrefix(rest, "manifests/"):
		reference := strings.TrimPrefix(rest, "manifests/")
		manifest, found := r.manifests[reference]
		for _, m := range r.manifests {
			if digestOf(m) == reference {
				manifest, found = m, true
			}
		}
		if !found {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", digestOf(manifest))
		w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
		if req.Method != http.MethodHead {
			_, _ = w.Write(manifest)
		}
	case ok && strings.HasPrefix(rest, "blobs/"):
		blob, found := r.blobs[strings.TrimPrefix(rest, "blobs/")]
		if !found {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		if req.Method != http.MethodHead {
			_, _ = w.Write(blob)
		}
	default:
		http.NotFound(w, req)
	}
}

func TestFetchFromOCIRegistry(t *testing.T) {
	// The chart repository packages the archives the registry serves.
	repository, err := framework.StartChartRepository(t, webChart("1.0.0"), webChart("1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	registry := &ociRegistry{repository: "charts/web", manifests: map[string][]byte{}, blobs: map[string][]byte{}}
	for _, version := range []string{"1.0.0", "1.2.0"} {
		resp, err := http.Get(repository.URL + "/web-" + version + ".tgz")
		if err != nil {
			t.Fatal(err)
		}
		archive, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		registry.push(t, version, archive, version)
	}
	server := httptest.NewServer(registry)
	defer server.Close()
	base := "oci://" + strings.TrimPrefix(server.URL, "http://") + "/charts"

	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true, PlainHTTPRegistries: true})
	for version, want := range map[string]string{"1.0.0": "1.0.0", "~1.2": "1.2.0", "": "1.2.0"} {
		chart, err := fetcher.Fetch(context.Background(), ChartSource{Repository: base, Name: "web", Version: version})
		if err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
		if chart.Source.Version != want || chart.AppVersion != "app-"+want {
			t.Errorf("version %q fetched %+v", version, chart.Source)
		}
	}
	if registry.authorized != 0 {
		t.Errorf("%d requests carried credentials", registry.authorized)
	}
	small := NewFetcher(FetcherOptions{AllowLoopback: true, PlainHTTPRegistries: true, MaxArchiveBytes: 100})
	if _, err := small.Fetch(context.Background(), ChartSource{Repository: base, Name: "web", Version: "1.0.0"}); err == nil {
		t.Error("an archive over MaxArchiveBytes was pulled")
	}
}

// A registry that asks for credentials gets none, even where the process has
// Docker credentials for it: a tenant's registry must not harvest fedhub's.
func TestFetchFromOCIRegistrySendsNoCredentials(t *testing.T) {
	var seen []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if auth := req.Header.Get("Authorization"); auth != "" {
			seen = append(seen, auth)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="harvest"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer server.Close()
	host := strings.TrimPrefix(server.URL, "http://")
	dockerConfig := t.TempDir()
	credentials := base64.StdEncoding.EncodeToString([]byte("fedhub:registry-password"))
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+credentials+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerConfig)

	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true, PlainHTTPRegistries: true})
	for _, version := range []string{"1.0.0", "^1"} {
		if _, err := fetcher.Fetch(context.Background(), ChartSource{Repository: "oci://" + host + "/charts", Name: "web", Version: version}); err == nil {
			t.Errorf("version %q: fetched from a registry that wants credentials", version)
		}
	}
	if len(seen) != 0 {
		t.Errorf("the registry received credentials: %v", seen)
	}
}
