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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// EngineOptions bound what one release operation may cost. Zero values take the defaults.
type EngineOptions struct {
	// RenderTimeout bounds rendering a chart's templates (default 30s).
	RenderTimeout time.Duration
	// MaxConcurrentRenders bounds the renders running at once, including
	// ones that outlived RenderTimeout: Go templates cannot be interrupted,
	// so a runaway template keeps its slot until it ends (default 4).
	MaxConcurrentRenders int
	// MaxManifestBytes caps a release's rendered manifests and hooks (default 8 MiB).
	MaxManifestBytes int
	// OperationTimeout bounds hooks and each Kubernetes operation of an
	// install, upgrade or uninstall (default 5m).
	OperationTimeout time.Duration
	// MaxHistory is how many revisions of a release the member keeps (default 10).
	MaxHistory int
}

func (o EngineOptions) withDefaults() EngineOptions {
	if o.RenderTimeout <= 0 {
		o.RenderTimeout = 30 * time.Second
	}
	if o.MaxConcurrentRenders <= 0 {
		o.MaxConcurrentRenders = 4
	}
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = 8 << 20
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 5 * time.Minute
	}
	if o.MaxHistory <= 0 {
		o.MaxHistory = 10
	}
	return o
}

// Engine renders charts and applies them as Helm releases in members. It
// holds no cluster state and is safe for concurrent use across clusters.
type Engine struct {
	options EngineOptions
	// renders is a semaphore of MaxConcurrentRenders slots.
	renders chan struct{}
}

// NewEngine returns an Engine.
func NewEngine(options EngineOptions) *Engine {
	options = options.withDefaults()
	return &Engine{options: options, renders: make(chan struct{}, options.MaxConcurrentRenders)}
}

// Capabilities are what a chart sees of the cluster it is rendered for
// (.Capabilities.KubeVersion and .Capabilities.APIVersions).
type Capabilities struct {
	// KubeVersion is the member's version, e.g. v1.37.2.
	KubeVersion string
	// APIVersions are group/versions and group/version/kinds the member serves.
	APIVersions []string
}

// DiscoverCapabilities reads the member's version and served APIs. It only reads discovery.
func DiscoverCapabilities(member *rest.Config) (*Capabilities, error) {
	client, err := discovery.NewDiscoveryClientForConfig(member)
	if err != nil {
		return nil, err
	}
	return discoverCapabilities(client)
}

func discoverCapabilities(client discovery.DiscoveryInterface) (*Capabilities, error) {
	version, err := client.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("member version: %w", err)
	}
	versions, err := action.GetVersionSet(client)
	if err != nil {
		return nil, fmt.Errorf("member APIs: %w", err)
	}
	apiVersions := []string(versions)
	sort.Strings(apiVersions)
	return &Capabilities{KubeVersion: version.GitVersion, APIVersions: apiVersions}, nil
}

// helmCapabilities are Helm's defaults (the capabilities of `helm template`)
// with the member's version and APIs added. Render and Apply use the same,
// so what was checked is what is installed.
func helmCapabilities(c *Capabilities) (*common.Capabilities, error) {
	caps := common.DefaultCapabilities.Copy()
	if c == nil {
		return caps, nil
	}
	if c.KubeVersion != "" {
		version, err := common.ParseKubeVersion(c.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("kube version %q: %w", c.KubeVersion, err)
		}
		caps.KubeVersion = *version
	}
	caps.APIVersions = append(caps.APIVersions, c.APIVersions...)
	return caps, nil
}

// noClusterFuncs replace template functions that would reach outside the
// chart. Helm gives `lookup` a live client whenever it installs against a
// cluster; here a release is installed with fedhub's member credentials on
// behalf of a tenant, so `lookup` always finds nothing, as in `helm template`.
// (getHostByName already answers "" because DNS is not enabled.)
var noClusterFuncs = template.FuncMap{
	"lookup": func(string, string, string, string) (map[string]any, error) {
		return map[string]any{}, nil
	},
}

// RenderedObject is one object a release would create.
type RenderedObject struct {
	APIVersion string
	Kind       string
	// Namespace is as the chart wrote it; empty means the release namespace
	// for a namespaced kind.
	Namespace string
	Name      string
	// Hook is the hook's events (e.g. "pre-install") when the object is a hook.
	Hook string
	// CRD is true for a CustomResourceDefinition from the chart's crds/ directory.
	CRD bool
	// Source is the chart file that produced the object.
	Source string
}

func (o RenderedObject) String() string {
	ns := o.Namespace
	if ns != "" {
		ns += "/"
	}
	return fmt.Sprintf("%s %s %s%s (%s)", o.APIVersion, o.Kind, ns, o.Name, o.Source)
}

// ErrRender is wrapped by errors of a chart that does not render.
var ErrRender = errors.New("chart does not render")

// ErrForeignNamespace is wrapped by errors about objects outside the release namespace.
var ErrForeignNamespace = errors.New("object outside the release namespace")

// Render renders the chart as Apply would install it, without reading any
// cluster, and returns every object the release would create: templates,
// hooks and the CRDs of crds/. caps nil means Helm's default capabilities.
func (e *Engine) Render(ctx context.Context, chart *Chart, releaseName, namespace string, values map[string]any, caps *Capabilities) ([]RenderedObject, error) {
	_, objects, err := e.render(ctx, chart, releaseName, namespace, values, caps, false)
	return objects, err
}

// render dry-runs an install (client-only, so no cluster and no lookup) and
// lists its objects; isUpgrade renders with .Release.IsUpgrade as an upgrade would.
func (e *Engine) render(ctx context.Context, chart *Chart, releaseName, namespace string, values map[string]any, caps *Capabilities, isUpgrade bool) (*release.Release, []RenderedObject, error) {
	if err := validateRelease(releaseName, namespace); err != nil {
		return nil, nil, err
	}
	helmCaps, err := helmCapabilities(caps)
	if err != nil {
		return nil, nil, err
	}
	values, err = copyValues(values)
	if err != nil {
		return nil, nil, err
	}
	loaded, err := chart.load()
	if err != nil {
		return nil, nil, err
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(discardLogger().Handler())
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.CustomTemplateFuncs = noClusterFuncs
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = namespace
	// A client-only install renders with Helm's default capabilities plus these.
	install.KubeVersion = &helmCaps.KubeVersion
	if caps != nil {
		install.APIVersions = caps.APIVersions
	}
	install.PostRenderer = nil
	install.IsUpgrade = isUpgrade

	var rel *release.Release
	err = e.bounded(ctx, func() error {
		releaser, err := install.RunWithContext(ctx, loaded, values)
		if err != nil {
			return err
		}
		r, ok := releaser.(*release.Release)
		if !ok {
			return fmt.Errorf("unexpected release type %T", releaser)
		}
		rel = r
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrRender, err)
	}
	objects, err := e.releaseObjects(rel, loaded)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrRender, err)
	}
	return rel, objects, nil
}

// bounded runs fn in a render slot and gives up waiting after RenderTimeout.
func (e *Engine) bounded(ctx context.Context, fn func() error) error {
	select {
	case e.renders <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-e.renders }()
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("rendering panicked: %v", r)
			}
		}()
		done <- fn()
	}()
	timer := time.NewTimer(e.options.RenderTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("rendering took longer than %s", e.options.RenderTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releaseObjects lists the manifest's objects, the hooks' and the CRDs'.
func (e *Engine) releaseObjects(rel *release.Release, loaded *chartv2.Chart) ([]RenderedObject, error) {
	size := len(rel.Manifest)
	for _, hook := range rel.Hooks {
		size += len(hook.Manifest)
	}
	if size > e.options.MaxManifestBytes {
		return nil, fmt.Errorf("the rendered release is %d bytes, more than the limit of %d", size, e.options.MaxManifestBytes)
	}
	var objects []RenderedObject
	docs := releaseutil.SplitManifests(rel.Manifest)
	for _, key := range sortedKeys(docs) {
		// SplitManifests keys documents by position; the file is named in the "# Source:" comment.
		parsed, err := parseObjects(docs[key], sourceOf(docs[key]), "")
		if err != nil {
			return nil, err
		}
		objects = append(objects, parsed...)
	}
	for _, hook := range rel.Hooks {
		events := make([]string, 0, len(hook.Events))
		for _, event := range hook.Events {
			events = append(events, string(event))
		}
		parsed, err := parseObjects(hook.Manifest, hook.Path, strings.Join(events, ","))
		if err != nil {
			return nil, err
		}
		objects = append(objects, parsed...)
	}
	for _, crd := range loaded.CRDObjects() {
		parsed, err := parseObjects(string(crd.File.Data), crd.Filename, "")
		if err != nil {
			return nil, err
		}
		for i := range parsed {
			parsed[i].CRD = true
		}
		objects = append(objects, parsed...)
	}
	return objects, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sourceOf(doc string) string {
	for _, line := range strings.Split(doc, "\n") {
		if source, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return source
		}
	}
	return ""
}

// parseObjects reads the YAML documents of one file; a List's items count one by one,
// as the Kubernetes client applies them.
func parseObjects(manifest, source, hook string) ([]RenderedObject, error) {
	var objects []RenderedObject
	for _, doc := range splitDocuments(manifest) {
		var content map[string]any
		if err := yaml.Unmarshal([]byte(doc), &content); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(content) == 0 {
			continue
		}
		object := &unstructured.Unstructured{Object: content}
		if object.IsList() {
			list, err := object.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", source, err)
			}
			for i := range list.Items {
				objects = append(objects, renderedObject(&list.Items[i], source, hook))
			}
			continue
		}
		objects = append(objects, renderedObject(object, source, hook))
	}
	return objects, nil
}

func renderedObject(object *unstructured.Unstructured, source, hook string) RenderedObject {
	return RenderedObject{
		APIVersion: object.GetAPIVersion(), Kind: object.GetKind(),
		Namespace: object.GetNamespace(), Name: object.GetName(),
		Hook: hook, Source: source,
	}
}

// splitDocuments splits a YAML stream at its "---" separator lines.
func splitDocuments(manifest string) []string {
	var docs []string
	var current strings.Builder
	for _, line := range strings.SplitAfter(manifest, "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, current.String())
			current.Reset()
			continue
		}
		current.WriteString(line)
	}
	return append(docs, current.String())
}

// CheckNamespaces refuses objects whose metadata.namespace is set to another
// namespace than the release's. It does not consult the member's API, so it
// refuses such a namespace on cluster-scoped kinds too (Kubernetes would
// ignore it there, but a chart that writes it is wrong or probing).
func CheckNamespaces(objects []RenderedObject, namespace string) error {
	var foreign []string
	for _, object := range objects {
		if object.Namespace != "" && object.Namespace != namespace {
			foreign = append(foreign, object.String())
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w %q: %s", ErrForeignNamespace, namespace, strings.Join(foreign, "; "))
	}
	return nil
}

// copyValues deep-copies values in their JSON form: the install must not
// edit the caller's map, and values compare equal to stored ones only in
// the same (JSON) types.
func copyValues(values map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(values) == 0 {
		return out, nil
	}
	data, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return out, nil
}
