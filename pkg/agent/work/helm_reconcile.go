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

package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/helm"
)

// Actions of a Work that carries a Helm release.
const (
	ActionHelmApply     Action = "helm-apply"
	ActionHelmUninstall Action = "helm-uninstall"
)

// helmStatusFailed is the release's status when nothing could be applied for
// the Work's generation, as fedhub reports it for push members.
const helmStatusFailed = "failed"

// helmTimeout bounds one install, upgrade or uninstall as a worker sees it;
// Helm's own timeouts bound its operations.
const helmTimeout = 6 * time.Minute

// ReleaseInstaller is what the agent needs of Helm in its member.
type ReleaseInstaller interface {
	Fetch(ctx context.Context, source helm.ChartSource) (*helm.Chart, error)
	Apply(ctx context.Context, spec helm.ReleaseSpec) (helm.ReleaseInfo, error)
	Uninstall(ctx context.Context, namespace, releaseName string) error
}

// NewReleaseInstaller installs releases in the member reached with config,
// fetching charts from their repositories itself.
func NewReleaseInstaller(config *rest.Config, fetch helm.FetcherOptions) ReleaseInstaller {
	return &memberReleases{config: config, fetcher: helm.NewFetcher(fetch), engine: helm.NewEngine(helm.EngineOptions{})}
}

type memberReleases struct {
	config  *rest.Config
	fetcher *helm.Fetcher
	engine  *helm.Engine
}

func (m *memberReleases) Fetch(ctx context.Context, source helm.ChartSource) (*helm.Chart, error) {
	return m.fetcher.Fetch(ctx, source)
}

func (m *memberReleases) Apply(ctx context.Context, spec helm.ReleaseSpec) (helm.ReleaseInfo, error) {
	return m.engine.Apply(ctx, m.config, spec)
}

func (m *memberReleases) Uninstall(ctx context.Context, namespace, releaseName string) error {
	return m.engine.Uninstall(ctx, m.config, namespace, releaseName)
}

// HelmReconciler installs, upgrades and uninstalls the Helm releases of Works
// with a helmRelease. The chart is fetched and rendered in the member, and
// every object it renders must be of a kind fedhub checked (spec.helmRelease.allowed)
// in that kind's scope, namespaced ones in the release namespace: a chart
// that renders differently here than on the hub creates nothing unchecked.
type HelmReconciler struct {
	// Releases reaches Helm in the member; nil refuses every release.
	Releases ReleaseInstaller
}

// Reconcile brings the member's release in line with w, or uninstalls it
// (keeps it with orphan) when w is being deleted.
func (r *HelmReconciler) Reconcile(ctx context.Context, w *agentv1alpha1.Work) Outcome {
	spec := w.Spec.HelmRelease
	if w.DeletionTimestamp != nil {
		return r.remove(ctx, w)
	}
	status := *w.Status.DeepCopy()
	status.ObservedGeneration = w.Generation
	status.Result, status.Message, status.Member, status.Unschedulable = "", "", nil, nil
	report := agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: w.Generation}
	if previous := w.Status.HelmRelease; previous != nil {
		// What ran before keeps running until something is applied.
		report.Revision, report.Status = previous.Revision, previous.Status
		report.ChartVersion, report.AppVersion = previous.ChartVersion, previous.AppVersion
	}
	failed := func(err error, retry bool) Outcome {
		report.Message = err.Error()
		if report.Status == "" || report.Status == helm.StatusDeployed {
			report.Status = helmStatusFailed
		}
		status.HelmRelease = &report
		return Outcome{Action: ActionHelmApply, Status: status, Retry: retry}
	}
	if r.Releases == nil {
		return failed(errors.New("this fedhub-agent installs no Helm releases"), false)
	}
	values, err := releaseValues(spec)
	if err != nil {
		return failed(err, false)
	}
	if err := helm.ValidateRelease(spec.ReleaseName, spec.Namespace); err != nil {
		return failed(err, false)
	}
	ctx, cancel := context.WithTimeout(ctx, helmTimeout)
	defer cancel()
	chart, err := r.Releases.Fetch(ctx, helm.ChartSource{Repository: spec.Chart.Repository, Name: spec.Chart.Name, Version: spec.Chart.Version})
	if err != nil {
		return failed(fmt.Errorf("fetching chart %s: %w", spec.Chart.Name, err), !errors.Is(err, helm.ErrUnsupportedSource))
	}
	info, err := r.Releases.Apply(ctx, helm.ReleaseSpec{Chart: chart, ReleaseName: spec.ReleaseName, Namespace: spec.Namespace,
		Values: values, Authorize: helm.AllowKinds(allowedKinds(spec.Allowed), spec.Namespace)})
	report.Revision, report.Status = int32(info.Revision), info.Status
	report.ChartVersion, report.AppVersion = info.ChartVersion, info.AppVersion
	if err != nil {
		// A refused or unrenderable chart stays so until the Work changes
		// (the resync looks again); member errors are retried sooner.
		return failed(err, !errors.Is(err, helm.ErrNotAllowed) && !errors.Is(err, helm.ErrRender) && !errors.Is(err, helm.ErrForeignNamespace))
	}
	status.HelmRelease = &report
	action := ActionHelmApply
	if StatusEqual(w.Status, status) {
		action = ActionNone
	}
	return Outcome{Action: action, Status: status}
}

// remove uninstalls the release of a Work being deleted, unless it is
// orphaned, and then lets the Work go.
func (r *HelmReconciler) remove(ctx context.Context, w *agentv1alpha1.Work) Outcome {
	spec := w.Spec.HelmRelease
	switch {
	case !hasFinalizer(w):
		return Outcome{Action: ActionNone, Status: w.Status}
	case w.Spec.Orphan:
		return Outcome{Action: ActionOrphan, Release: true, Status: w.Status}
	case helm.ValidateRelease(spec.ReleaseName, spec.Namespace) != nil:
		// Nothing can have been installed under these names.
		return Outcome{Action: ActionRelease, Release: true, Status: w.Status}
	case r.Releases == nil:
		return fail(ActionFail, *w.Status.DeepCopy(), ResultDeletionFailed, "this fedhub-agent installs no Helm releases", true)
	}
	ctx, cancel := context.WithTimeout(ctx, helmTimeout)
	defer cancel()
	if err := r.Releases.Uninstall(ctx, spec.Namespace, spec.ReleaseName); err != nil {
		return fail(ActionFail, *w.Status.DeepCopy(), ResultDeletionFailed,
			fmt.Sprintf("uninstalling release %s/%s: %v", spec.Namespace, spec.ReleaseName, err), true)
	}
	return Outcome{Action: ActionHelmUninstall, Release: true, Status: w.Status}
}

// releaseValues reads the release's values, a JSON object; none is empty.
func releaseValues(spec *agentv1alpha1.WorkHelmRelease) (map[string]any, error) {
	values := map[string]any{}
	if spec.Values == nil || len(spec.Values.Raw) == 0 {
		return values, nil
	}
	var decoded any
	if err := json.Unmarshal(spec.Values.Raw, &decoded); err != nil {
		return nil, fmt.Errorf("the release's values: %w", err)
	}
	switch v := decoded.(type) {
	case nil:
		return values, nil
	case map[string]any:
		return v, nil
	}
	return nil, errors.New("the release's values are not a JSON object")
}

func allowedKinds(allowed []agentv1alpha1.WorkAllowedKind) []helm.AllowedKind {
	out := make([]helm.AllowedKind, 0, len(allowed))
	for _, k := range allowed {
		out = append(out, helm.AllowedKind{Group: k.Group, Kind: k.Kind, Namespaced: k.Namespaced})
	}
	return out
}

// SweepReleases uninstalls, at an unjoin, the Helm release of every Work
// that carries one, unless orphan (Helm in the member then keeps them).
func SweepReleases(ctx context.Context, releases ReleaseInstaller, works []*agentv1alpha1.Work, orphan bool) (handled int, errs []error) {
	if orphan || releases == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	for _, w := range works {
		spec := w.Spec.HelmRelease
		if spec == nil || seen[spec.Namespace+"/"+spec.ReleaseName] || helm.ValidateRelease(spec.ReleaseName, spec.Namespace) != nil {
			continue
		}
		seen[spec.Namespace+"/"+spec.ReleaseName] = true
		uninstallCtx, cancel := context.WithTimeout(ctx, helmTimeout)
		err := releases.Uninstall(uninstallCtx, spec.Namespace, spec.ReleaseName)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("release %s/%s: %w", spec.Namespace, spec.ReleaseName, err))
			continue
		}
		handled++
	}
	return handled, errs
}
