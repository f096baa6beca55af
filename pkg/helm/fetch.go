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

// Package helm installs, upgrades and uninstalls Helm charts as real Helm
// releases in member clusters, on behalf of tenants. It fetches public charts
// (HTTP repositories and OCI registries), renders them without reading any
// cluster, refuses objects outside the release namespace and keeps the
// release history where the helm CLI finds it (Secrets in the release
// namespace).
package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// ChartSource names a chart in a public repository. Repository is the URL of
// an HTTP(S) chart repository (it serves index.yaml) or an oci:// base under
// which Name is a repository of chart tags. Version is an exact version or a
// semver range; empty means the latest stable version.
type ChartSource struct {
	Repository string
	Name       string
	Version    string
}

func (s ChartSource) String() string {
	return fmt.Sprintf("%s %s %s", s.Repository, s.Name, s.Version)
}

// Chart is a fetched chart archive with its resolved version. It is
// immutable and may be shared: every use loads a fresh copy, because
// installing a chart edits it (dependencies disabled by values are removed).
type Chart struct {
	// Source has the version resolved to the one fetched.
	Source     ChartSource
	AppVersion string
	archive    []byte
}

// load parses the archive again; the archive loader enforces Helm's limit on
// the decompressed size of a chart.
func (c *Chart) load() (*chartv2.Chart, error) {
	return loader.LoadArchive(bytes.NewReader(c.archive))
}

// FetcherOptions bound what fetching a chart may cost. Zero values take the defaults.
type FetcherOptions struct {
	// Timeout bounds one fetch: index, archive and registry calls (default 60s).
	Timeout time.Duration
	// MaxArchiveBytes caps a downloaded (compressed) chart archive (default 16 MiB).
	MaxArchiveBytes int64
	// MaxIndexBytes caps a repository's index.yaml (default 64 MiB; large public repositories' indexes are tens of MiB).
	MaxIndexBytes int64
	// MaxCacheBytes caps the archives the cache keeps (default 256 MiB).
	MaxCacheBytes int64
	// IndexTTL is how long a repository index is reused to resolve versions (default 1m).
	IndexTTL time.Duration
	// PlainHTTPRegistries lets oci:// sources use plain HTTP (tests only).
	PlainHTTPRegistries bool
	// AllowLoopback lets repositories on loopback addresses be fetched
	// (tests, local development). Link-local, unspecified and multicast
	// addresses are never connected to.
	AllowLoopback bool
}

func (o FetcherOptions) withDefaults() FetcherOptions {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = 16 << 20
	}
	if o.MaxIndexBytes <= 0 {
		o.MaxIndexBytes = 64 << 20
	}
	if o.MaxCacheBytes <= 0 {
		o.MaxCacheBytes = 256 << 20
	}
	if o.IndexTTL <= 0 {
		o.IndexTTL = time.Minute
	}
	return o
}

// Fetcher downloads public charts and caches them by repository, name and
// resolved version, so that many clusters and resyncs download a chart once.
// It is safe for concurrent use.
type Fetcher struct {
	options FetcherOptions
	client  *http.Client
	// transport refuses forbidden addresses; every request goes through it.
	transport http.RoundTripper

	mu         sync.Mutex
	charts     map[ChartSource]*cachedChart
	cacheBytes int64
	indexes    map[string]*cachedIndex
	// inflight deduplicates concurrent downloads of the same chart.
	inflight map[ChartSource]*fetchCall
}

type cachedChart struct {
	chart    *Chart
	lastUsed time.Time
}

type cachedIndex struct {
	index   *repo.IndexFile
	fetched time.Time
}

type fetchCall struct {
	done  chan struct{}
	chart *Chart
	err   error
}

// NewFetcher returns a Fetcher; it never sends credentials anywhere.
func NewFetcher(options FetcherOptions) *Fetcher {
	options = options.withDefaults()
	transport := guardedTransport(options.AllowLoopback)
	return &Fetcher{
		options:   options,
		transport: transport,
		client: &http.Client{
			Timeout:   options.Timeout,
			Transport: transport,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				return checkHTTPURL(req.URL)
			},
		},
		charts:   map[ChartSource]*cachedChart{},
		indexes:  map[string]*cachedIndex{},
		inflight: map[ChartSource]*fetchCall{},
	}
}

// ErrUnsupportedSource is wrapped by errors about a source the fetcher refuses.
var ErrUnsupportedSource = errors.New("unsupported chart source")

// ValidateSource refuses what Fetch would refuse without any network call:
// schemes other than http, https and oci, credentials in the URL, and empty names.
func ValidateSource(s ChartSource) error {
	if s.Name == "" || strings.ContainsAny(s.Name, "/\\:@?#") || s.Name == "." || s.Name == ".." {
		return fmt.Errorf("%w: chart name %q", ErrUnsupportedSource, s.Name)
	}
	u, err := url.Parse(s.Repository)
	if err != nil {
		return fmt.Errorf("%w: repository %q: %v", ErrUnsupportedSource, s.Repository, err)
	}
	if u.Scheme == "oci" {
		if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%w: repository %q must be oci://host[/path] without credentials, query or fragment", ErrUnsupportedSource, s.Repository)
		}
		return nil
	}
	if err := checkHTTPURL(u); err != nil {
		return err
	}
	if s.Version != "" {
		if _, err := semver.NewConstraint(s.Version); err != nil {
			return fmt.Errorf("%w: version %q: %v", ErrUnsupportedSource, s.Version, err)
		}
	}
	return nil
}

// checkHTTPURL accepts only http and https URLs with a host and no
// credentials: no file://, no local paths, no secrets in status messages.
func checkHTTPURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q (only http, https and oci)", ErrUnsupportedSource, u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: %q must name a host and carry no credentials", ErrUnsupportedSource, u.Redacted())
	}
	return nil
}

// Fetch returns the chart that source names, from the cache when the
// resolved version was fetched before.
func (f *Fetcher) Fetch(ctx context.Context, source ChartSource) (*Chart, error) {
	if err := ValidateSource(source); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.options.Timeout)
	defer cancel()
	// An exact version needs no index to be found in the cache.
	if isExactVersion(source.Version) {
		if chart := f.cached(source); chart != nil {
			return chart, nil
		}
	}
	resolved, downloadURL, err := f.resolve(ctx, source)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", source, err)
	}
	chart, err := f.fetchOnce(ctx, resolved, downloadURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", source, err)
	}
	return chart, nil
}

func isExactVersion(version string) bool {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v"))
	return err == nil && v != nil
}

func (f *Fetcher) cached(key ChartSource) *Chart {
	f.mu.Lock()
	defer f.mu.Unlock()
	entry, ok := f.charts[key]
	if !ok {
		return nil
	}
	entry.lastUsed = time.Now()
	return entry.chart
}

// fetchOnce downloads the chart unless it is cached or another caller is downloading it.
func (f *Fetcher) fetchOnce(ctx context.Context, resolved ChartSource, downloadURL string) (*Chart, error) {
	f.mu.Lock()
	if entry, ok := f.charts[resolved]; ok {
		entry.lastUsed = time.Now()
		f.mu.Unlock()
		return entry.chart, nil
	}
	if call, ok := f.inflight[resolved]; ok {
		f.mu.Unlock()
		select {
		case <-call.done:
			return call.chart, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	f.inflight[resolved] = call
	f.mu.Unlock()

	call.chart, call.err = f.download(ctx, resolved, downloadURL)

	f.mu.Lock()
	delete(f.inflight, resolved)
	if call.err == nil {
		f.store(resolved, call.chart)
	}
	f.mu.Unlock()
	close(call.done)
	return call.chart, call.err
}

// store adds a chart and evicts the least recently used ones beyond MaxCacheBytes. f.mu is held.
func (f *Fetcher) store(key ChartSource, chart *Chart) {
	f.charts[key] = &cachedChart{chart: chart, lastUsed: time.Now()}
	f.cacheBytes += int64(len(chart.archive))
	for f.cacheBytes > f.options.MaxCacheBytes && len(f.charts) > 1 {
		var oldest ChartSource
		var oldestUsed time.Time
		for k, v := range f.charts {
			if k != key && (oldestUsed.IsZero() || v.lastUsed.Before(oldestUsed)) {
				oldest, oldestUsed = k, v.lastUsed
			}
		}
		f.cacheBytes -= int64(len(f.charts[oldest].chart.archive))
		delete(f.charts, oldest)
	}
}

// resolve finds the version to fetch and, for HTTP repositories, its archive URL.
func (f *Fetcher) resolve(ctx context.Context, source ChartSource) (ChartSource, string, error) {
	if strings.HasPrefix(source.Repository, "oci://") {
		version, err := f.resolveOCI(source)
		if err != nil {
			return ChartSource{}, "", err
		}
		source.Version = version
		return source, "", nil
	}
	index, fromCache, err := f.index(ctx, source.Repository, false)
	if err != nil {
		return ChartSource{}, "", err
	}
	entry, err := index.Get(source.Name, source.Version)
	if err != nil && fromCache {
		// The version may be newer than the cached index: read it again, once.
		if index, _, err = f.index(ctx, source.Repository, true); err != nil {
			return ChartSource{}, "", err
		}
		entry, err = index.Get(source.Name, source.Version)
	}
	if err != nil {
		return ChartSource{}, "", err
	}
	if len(entry.URLs) == 0 {
		return ChartSource{}, "", fmt.Errorf("index lists no URL for version %s", entry.Version)
	}
	downloadURL, err := repo.ResolveReferenceURL(source.Repository, entry.URLs[0])
	if err != nil {
		return ChartSource{}, "", err
	}
	u, err := url.Parse(downloadURL)
	if err != nil {
		return ChartSource{}, "", err
	}
	// The index is the repository owner's: it may point anywhere, but only over HTTP(S).
	if err := checkHTTPURL(u); err != nil {
		return ChartSource{}, "", fmt.Errorf("archive URL: %w", err)
	}
	source.Version = entry.Version
	return source, downloadURL, nil
}

// index returns the repository's index, reusing one younger than IndexTTL
// unless fresh; fromCache tells which.
func (f *Fetcher) index(ctx context.Context, repository string, fresh bool) (index *repo.IndexFile, fromCache bool, err error) {
	f.mu.Lock()
	cached, ok := f.indexes[repository]
	f.mu.Unlock()
	if ok && !fresh && time.Since(cached.fetched) < f.options.IndexTTL {
		return cached.index, true, nil
	}
	indexURL := strings.TrimSuffix(repository, "/") + "/index.yaml"
	data, err := f.get(ctx, indexURL, f.options.MaxIndexBytes)
	if err != nil {
		return nil, false, err
	}
	index, err = parseIndex(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", indexURL, err)
	}
	f.mu.Lock()
	f.indexes[repository] = &cachedIndex{index: index, fetched: time.Now()}
	// Indexes are few (one per repository) but may be large: drop the stale ones.
	for k, v := range f.indexes {
		if time.Since(v.fetched) >= f.options.IndexTTL {
			delete(f.indexes, k)
		}
	}
	f.mu.Unlock()
	return index, false, nil
}

// parseIndex uses Helm's index loader, which validates and sorts the entries;
// it only reads files, so the bytes go through a temporary one.
func parseIndex(data []byte) (*repo.IndexFile, error) {
	file, err := os.CreateTemp("", "fedhub-helm-index-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(file.Name())
	if _, err := file.Write(data); err != nil {
		file.Close()
		return nil, err
	}
	if err := file.Close(); err != nil {
		return nil, err
	}
	return repo.LoadIndexFile(file.Name())
}

// get downloads url into memory, refusing more than limit bytes.
func (f *Fetcher) get(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("GET %s: %d bytes is more than the limit of %d", rawURL, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: more than the limit of %d bytes", rawURL, limit)
	}
	return data, nil
}

func (f *Fetcher) download(ctx context.Context, source ChartSource, downloadURL string) (*Chart, error) {
	var archive []byte
	var err error
	if downloadURL != "" {
		archive, err = f.get(ctx, downloadURL, f.options.MaxArchiveBytes)
	} else {
		archive, err = f.pullOCI(source)
	}
	if err != nil {
		return nil, err
	}
	chart := &Chart{Source: source, archive: archive}
	loaded, err := chart.load()
	if err != nil {
		return nil, fmt.Errorf("loading the archive: %w", err)
	}
	if loaded.Metadata.Name != source.Name {
		return nil, fmt.Errorf("the archive holds chart %q, not %q", loaded.Metadata.Name, source.Name)
	}
	if loaded.Metadata.Version != source.Version {
		return nil, fmt.Errorf("the archive holds version %q, not %q", loaded.Metadata.Version, source.Version)
	}
	chart.AppVersion = loaded.Metadata.AppVersion
	return chart, nil
}

// registryClient is anonymous: with no authorizer of its own, Helm's client
// would read the process's Helm and Docker credential stores and present
// fedhub's registry credentials to whatever registry a tenant names.
func (f *Fetcher) registryClient() (*registry.Client, error) {
	httpClient := &http.Client{
		Timeout:       f.options.Timeout,
		Transport:     &limitedTransport{next: f.transport, limit: f.options.MaxArchiveBytes},
		CheckRedirect: f.client.CheckRedirect,
	}
	authorizer := &auth.Client{
		Client: httpClient,
		Credential: func(context.Context, string) (auth.Credential, error) {
			return auth.EmptyCredential, nil
		},
	}
	options := []registry.ClientOption{
		registry.ClientOptHTTPClient(httpClient),
		registry.ClientOptAuthorizer(*authorizer),
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(os.DevNull),
	}
	if f.options.PlainHTTPRegistries {
		options = append(options, registry.ClientOptPlainHTTP())
	}
	return registry.NewClient(options...)
}

// ociReference is host/path/name for an oci:// repository and a chart name.
func ociReference(source ChartSource) string {
	return strings.TrimSuffix(strings.TrimPrefix(source.Repository, "oci://"), "/") + "/" + source.Name
}

func (f *Fetcher) resolveOCI(source ChartSource) (string, error) {
	if isExactVersion(source.Version) {
		return strings.TrimPrefix(source.Version, "v"), nil
	}
	constraint, err := semver.NewConstraint(source.Version)
	if source.Version == "" {
		constraint, err = semver.NewConstraint("*")
	}
	if err != nil {
		return "", err
	}
	client, err := f.registryClient()
	if err != nil {
		return "", err
	}
	tags, err := client.Tags(ociReference(source))
	if err != nil {
		return "", err
	}
	// Tags are sorted newest first.
	for _, tag := range tags {
		if v, err := semver.NewVersion(tag); err == nil && constraint.Check(v) {
			return tag, nil
		}
	}
	return "", fmt.Errorf("no tag of %s matches %q", ociReference(source), source.Version)
}

func (f *Fetcher) pullOCI(source ChartSource) ([]byte, error) {
	client, err := f.registryClient()
	if err != nil {
		return nil, err
	}
	// OCI tags cannot hold "+": Helm stores build metadata as "_".
	ref := ociReference(source) + ":" + strings.ReplaceAll(source.Version, "+", "_")
	result, err := client.Pull(ref, registry.PullOptWithChart(true))
	if err != nil {
		return nil, err
	}
	if result.Chart == nil || int64(len(result.Chart.Data)) > f.options.MaxArchiveBytes {
		return nil, fmt.Errorf("%s: no chart layer, or one larger than %d bytes", ref, f.options.MaxArchiveBytes)
	}
	return result.Chart.Data, nil
}

// limitedTransport fails a response body that grows beyond limit, so a
// registry cannot make the client buffer an unbounded blob.
type limitedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkHTTPURL(req.URL); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %d bytes is more than the limit of %d", req.URL.Redacted(), resp.ContentLength, t.limit)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, remaining: t.limit}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	remaining int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, errors.New("response body larger than the limit")
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.ReadCloser.Read(p)
	b.remaining -= int64(n)
	return n, err
}
