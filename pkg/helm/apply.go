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
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"

	"helm.sh/helm/v4/pkg/action"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/kube"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ReleaseSpec is a release as the member should have it.
type ReleaseSpec struct {
	Chart       *Chart
	ReleaseName string
	// Namespace must exist in the member: the engine never creates it.
	Namespace string
	// Values are the user-supplied values (the chart's own defaults apply beneath them).
	Values map[string]any
	// Authorize, when set, is asked about every object the release would
	// create (hooks and CRDs included), with the member's REST mapper, after
	// rendering and before anything is written; an error refuses the
	// release and writes nothing. A release already as spec asks is not
	// rendered again, so not asked about.
	Authorize func(objects []RenderedObject, mapper meta.RESTMapper) error
}

// ReleaseInfo is the member's latest revision of a release.
type ReleaseInfo struct {
	Revision int
	// Status is Helm's: deployed, failed, pending-install, pending-upgrade, ...
	Status       string
	ChartName    string
	ChartVersion string
	AppVersion   string
	Description  string
}

// StatusDeployed is the Status of a release whose last operation succeeded.
const StatusDeployed = string(rcommon.StatusDeployed)

// ErrOperationInProgress is wrapped when the member's release is pending
// (another install, upgrade or rollback runs, or one died half way).
var ErrOperationInProgress = errors.New("another operation on the release is in progress")

// Apply makes the member's release match spec: it installs an absent
// release, upgrades one whose chart or values differ, and otherwise writes
// nothing. Before any write it renders the chart (lookup finds nothing) and
// refuses objects outside the release namespace. A release whose last
// revision failed with this same chart and values is left as it is (no new
// failed revision on every resync); a changed spec upgrades it.
func (e *Engine) Apply(ctx context.Context, member *rest.Config, spec ReleaseSpec) (ReleaseInfo, error) {
	if spec.Chart == nil {
		return ReleaseInfo{}, errors.New("release has no chart")
	}
	if err := validateRelease(spec.ReleaseName, spec.Namespace); err != nil {
		return ReleaseInfo{}, err
	}
	values, err := copyValues(spec.Values)
	if err != nil {
		return ReleaseInfo{}, err
	}
	m, err := e.newMember(member, spec.Namespace)
	if err != nil {
		return ReleaseInfo{}, err
	}
	last, found, err := m.last(spec.ReleaseName)
	if err != nil {
		return ReleaseInfo{}, err
	}
	if found {
		if last.Info.Status.IsPending() {
			return infoOf(last), fmt.Errorf("release %s/%s is %s: %w", spec.Namespace, spec.ReleaseName, last.Info.Status, ErrOperationInProgress)
		}
		if sameRelease(last, spec.Chart, values) && last.Info.Status != rcommon.StatusUninstalled {
			return infoOf(last), nil
		}
	}

	// Until something is written, the member's latest revision (if any) is what runs there.
	var current ReleaseInfo
	if found {
		current = infoOf(last)
	}
	discovered, err := discoverCapabilities(m.getter.discovery)
	if err != nil {
		return current, err
	}
	caps, err := helmCapabilities(discovered)
	if err != nil {
		return current, err
	}
	// Checked before anything is written, CRDs included (Helm creates crds/ before rendering templates).
	_, objects, err := e.render(ctx, spec.Chart, spec.ReleaseName, spec.Namespace, values, discovered, found)
	if err != nil {
		return current, err
	}
	if err := CheckNamespaces(objects, spec.Namespace); err != nil {
		return current, err
	}
	if spec.Authorize != nil {
		mapper, err := m.getter.ToRESTMapper()
		if err != nil {
			return current, err
		}
		if err := spec.Authorize(objects, mapper); err != nil {
			return current, err
		}
	}
	loaded, err := spec.Chart.load()
	if err != nil {
		return current, err
	}
	m.cfg.Capabilities = caps

	var releaser any
	if !found {
		install := action.NewInstall(m.cfg)
		install.ReleaseName = spec.ReleaseName
		install.Namespace = spec.Namespace
		install.CreateNamespace = false
		install.WaitStrategy = kube.HookOnlyStrategy
		install.Timeout = e.options.OperationTimeout
		install.PostRenderer = nil
		releaser, err = install.RunWithContext(ctx, loaded, values)
	} else {
		upgrade := action.NewUpgrade(m.cfg)
		upgrade.Namespace = spec.Namespace
		// Exactly the values given: without ResetValues an empty map would reuse the last ones.
		upgrade.ResetValues = true
		upgrade.WaitStrategy = kube.HookOnlyStrategy
		upgrade.Timeout = e.options.OperationTimeout
		upgrade.MaxHistory = e.options.MaxHistory
		upgrade.PostRenderer = nil
		releaser, err = upgrade.RunWithContext(ctx, spec.ReleaseName, loaded, values)
	}
	if rel, ok := releaser.(*release.Release); ok && rel != nil && err == nil {
		return infoOf(rel), nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected release type %T", releaser)
	}
	// Report what the member holds now (e.g. a failed revision) beside the error.
	if now, found, getErr := m.last(spec.ReleaseName); getErr == nil && found {
		return infoOf(now), err
	}
	return ReleaseInfo{}, err
}

// Uninstall removes the release and its objects from the member; a release
// that is not there is success.
func (e *Engine) Uninstall(ctx context.Context, member *rest.Config, namespace, releaseName string) error {
	if err := validateRelease(releaseName, namespace); err != nil {
		return err
	}
	m, err := e.newMember(member, namespace)
	if err != nil {
		return err
	}
	uninstall := action.NewUninstall(m.cfg)
	uninstall.IgnoreNotFound = true
	uninstall.WaitStrategy = kube.HookOnlyStrategy
	uninstall.Timeout = e.options.OperationTimeout
	done := make(chan error, 1)
	go func() {
		_, err := uninstall.Run(releaseName)
		done <- err
	}()
	// Uninstall takes no context; its Kubernetes calls are bounded by OperationTimeout.
	select {
	case err := <-done:
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Get returns the member's latest revision of the release.
func (e *Engine) Get(ctx context.Context, member *rest.Config, namespace, releaseName string) (ReleaseInfo, bool, error) {
	if err := validateRelease(releaseName, namespace); err != nil {
		return ReleaseInfo{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return ReleaseInfo{}, false, err
	}
	m, err := e.newMember(member, namespace)
	if err != nil {
		return ReleaseInfo{}, false, err
	}
	last, found, err := m.last(releaseName)
	if err != nil || !found {
		return ReleaseInfo{}, found, err
	}
	return infoOf(last), true, nil
}

// ValidateRelease refuses a release name Helm would refuse and a namespace
// that is not a DNS label: nothing can be installed under them.
func ValidateRelease(releaseName, namespace string) error {
	return validateRelease(releaseName, namespace)
}

func validateRelease(releaseName, namespace string) error {
	if err := chartutil.ValidateReleaseName(releaseName); err != nil {
		return fmt.Errorf("release name %q: %w", releaseName, err)
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %v", namespace, errs)
	}
	return nil
}

// sameRelease is true when the stored revision has the chart's name and
// version and exactly these user values.
func sameRelease(last *release.Release, chart *Chart, values map[string]any) bool {
	if last.Chart == nil || last.Chart.Metadata == nil {
		return false
	}
	if last.Chart.Metadata.Name != chart.Source.Name || last.Chart.Metadata.Version != chart.Source.Version {
		return false
	}
	stored, err := copyValues(last.Config)
	if err != nil {
		return false
	}
	return reflect.DeepEqual(stored, values)
}

func infoOf(rel *release.Release) ReleaseInfo {
	info := ReleaseInfo{Revision: rel.Version}
	if rel.Info != nil {
		info.Status = string(rel.Info.Status)
		info.Description = rel.Info.Description
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		info.ChartName = rel.Chart.Metadata.Name
		info.ChartVersion = rel.Chart.Metadata.Version
		info.AppVersion = rel.Chart.Metadata.AppVersion
	}
	return info
}

// member is the Helm configuration for one member and release namespace.
type member struct {
	cfg    *action.Configuration
	getter *memberGetter
}

// newMember configures Helm's default storage (Secrets in the release
// namespace, where `helm list -n NAMESPACE` finds them) and its Kubernetes
// client, and then takes the REST client getter away from the configuration:
// with it, Helm gives the template engine a live client for `lookup`.
// Capabilities are set explicitly instead (see Apply).
func (e *Engine) newMember(config *rest.Config, namespace string) (*member, error) {
	getter, err := newMemberGetter(config, namespace)
	if err != nil {
		return nil, err
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(discardLogger().Handler())
	if err := cfg.Init(getter, namespace, "secret"); err != nil {
		return nil, err
	}
	client, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return nil, fmt.Errorf("unexpected Kubernetes client %T", cfg.KubeClient)
	}
	client.Namespace = namespace
	client.SetLogger(discardLogger().Handler())
	cfg.KubeClient = &namespacedClient{Client: client, namespace: namespace}
	cfg.RESTClientGetter = nil
	cfg.CustomTemplateFuncs = noClusterFuncs
	cfg.SetHookOutputFunc(func(_, _, _ string) io.Writer { return io.Discard })
	return &member{cfg: cfg, getter: getter}, nil
}

// last is the release's latest revision, found false when it has none.
func (m *member) last(releaseName string) (*release.Release, bool, error) {
	releaser, err := m.cfg.Releases.Last(releaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	rel, ok := releaser.(*release.Release)
	if !ok {
		return nil, false, fmt.Errorf("unexpected release type %T", releaser)
	}
	return rel, true, nil
}

// namespacedClient is Helm's Kubernetes client refusing to build (and so to
// create, update, delete or wait for) a namespaced object outside the release
// namespace. It catches what the render check cannot: templates that render
// differently each time, and stored release manifests written by someone
// else that an upgrade or uninstall would otherwise act on.
type namespacedClient struct {
	*kube.Client
	namespace string
}

func (c *namespacedClient) Build(reader io.Reader, validate bool) (kube.ResourceList, error) {
	resources, err := c.Client.Build(reader, validate)
	if err != nil {
		return nil, err
	}
	return resources, c.check(resources)
}

func (c *namespacedClient) BuildTable(reader io.Reader, validate bool) (kube.ResourceList, error) {
	resources, err := c.Client.BuildTable(reader, validate)
	if err != nil {
		return nil, err
	}
	return resources, c.check(resources)
}

func (c *namespacedClient) check(resources kube.ResourceList) error {
	return resources.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		if info.Namespaced() && info.Namespace != c.namespace {
			return fmt.Errorf("%w %q: %s %s/%s", ErrForeignNamespace, c.namespace, info.Mapping.GroupVersionKind, info.Namespace, info.Name)
		}
		return nil
	})
}

// memberGetter hands Helm's client the member's REST config, one cached
// discovery client and a REST mapper over it.
type memberGetter struct {
	config    *rest.Config
	namespace string
	discovery discovery.CachedDiscoveryInterface
	mapperMu  sync.Mutex
	mapper    meta.RESTMapper
}

var _ genericclioptions.RESTClientGetter = &memberGetter{}

func newMemberGetter(config *rest.Config, namespace string) (*memberGetter, error) {
	config = rest.CopyConfig(config)
	client, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, err
	}
	return &memberGetter{config: config, namespace: namespace, discovery: memory.NewMemCacheClient(client)}, nil
}

func (g *memberGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.config), nil }

func (g *memberGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}

func (g *memberGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.mapperMu.Lock()
	defer g.mapperMu.Unlock()
	if g.mapper == nil {
		g.mapper = restmapper.NewDeferredDiscoveryRESTMapper(g.discovery)
	}
	return g.mapper, nil
}

// ToRawKubeConfigLoader only supplies the namespace: no kubeconfig file is read.
func (g *memberGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{
		Context: clientcmdapi.Context{Namespace: g.namespace},
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
