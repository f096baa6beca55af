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
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/helm"
)

// fakeReleases renders what objects says, asks the release's Authorize
// about it with a mapper of ConfigMaps and ClusterRoles, and records the
// calls; it stands in for Helm, whose engine is tested against a real
// kube-apiserver in pkg/helm.
type fakeReleases struct {
	objects     []helm.RenderedObject
	fetchErr    error
	applyErr    error
	info        helm.ReleaseInfo
	applied     []helm.ReleaseSpec
	uninstalled []string
}

func (f *fakeReleases) Fetch(_ context.Context, source helm.ChartSource) (*helm.Chart, error) {
	if f.fetchErr != nil {
		return nil, f.fetchErr
	}
	return &helm.Chart{Source: source}, nil
}

func (f *fakeReleases) Apply(_ context.Context, spec helm.ReleaseSpec) (helm.ReleaseInfo, error) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	if spec.Authorize != nil {
		if err := spec.Authorize(f.objects, mapper); err != nil {
			return f.info, err
		}
	}
	f.applied = append(f.applied, spec)
	return f.info, f.applyErr
}

func (f *fakeReleases) Uninstall(_ context.Context, namespace, releaseName string) error {
	f.uninstalled = append(f.uninstalled, namespace+"/"+releaseName)
	return nil
}

func helmWork() *agentv1alpha1.Work {
	return &agentv1alpha1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2-0123456789abcdef", Generation: 3, Finalizers: []string{Finalizer}},
		Spec: agentv1alpha1.WorkSpec{
			ClusterName: "member-2",
			HelmRelease: &agentv1alpha1.WorkHelmRelease{
				Chart:       agentv1alpha1.WorkChart{Repository: "https://charts.example.com", Name: "hello", Version: "1.0.0"},
				ReleaseName: "hello", Namespace: "shop",
				Values:  &runtime.RawExtension{Raw: []byte(`{"greeting":"hi"}`)},
				Allowed: []agentv1alpha1.WorkAllowedKind{{Kind: "ConfigMap", Namespaced: true}},
			},
		},
	}
}

var (
	helloConfigMap = helm.RenderedObject{APIVersion: "v1", Kind: "ConfigMap", Name: "hello", Source: "hello/templates/cm.yaml"}
	deployed       = helm.ReleaseInfo{Revision: 2, Status: helm.StatusDeployed, ChartName: "hello", ChartVersion: "1.0.0", AppVersion: "1.0"}
)

func TestHelmReconcile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		modify   func(*agentv1alpha1.Work, *fakeReleases)
		want     agentv1alpha1.WorkHelmReleaseStatus
		message  string // part of want.Message
		applied  bool
		retry    bool
		noAction bool
	}{
		{name: "installs with the Work's values", applied: true,
			want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Revision: 2, Status: "deployed", ChartVersion: "1.0.0", AppVersion: "1.0"}},
		{name: "an unchanged release reports nothing new", applied: true, noAction: true,
			modify: func(w *agentv1alpha1.Work, _ *fakeReleases) {
				w.Status = agentv1alpha1.WorkStatus{ObservedGeneration: 3, HelmRelease: &agentv1alpha1.WorkHelmReleaseStatus{
					ObservedGeneration: 3, Revision: 2, Status: "deployed", ChartVersion: "1.0.0", AppVersion: "1.0"}}
			},
			want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Revision: 2, Status: "deployed", ChartVersion: "1.0.0", AppVersion: "1.0"}},
		{name: "a kind outside the allowed set is refused, nothing applied",
			modify: func(w *agentv1alpha1.Work, f *fakeReleases) {
				// The engine reports the member's current revision beside a refusal.
				f.info = helm.ReleaseInfo{Revision: 1, Status: helm.StatusDeployed, ChartVersion: "0.9.0"}
				f.objects = append(f.objects, helm.RenderedObject{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "all"})
			},
			want:    agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Revision: 1, Status: "failed", ChartVersion: "0.9.0"},
			message: "ClusterRole all (): not among the kinds fedhub checked"},
		{name: "an object in another namespace is refused",
			modify: func(_ *agentv1alpha1.Work, f *fakeReleases) {
				f.objects, f.info = []helm.RenderedObject{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "kube-system", Name: "x"}}, helm.ReleaseInfo{}
			},
			want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Status: "failed"}, message: "outside the release's namespace shop"},
		{name: "no allowed kinds refuses everything",
			modify: func(w *agentv1alpha1.Work, f *fakeReleases) {
				w.Spec.HelmRelease.Allowed, f.info = nil, helm.ReleaseInfo{}
			},
			want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Status: "failed"}, message: "not among the kinds"},
		{name: "values not an object", modify: func(w *agentv1alpha1.Work, _ *fakeReleases) {
			w.Spec.HelmRelease.Values = &runtime.RawExtension{Raw: []byte(`[1]`)}
		}, want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Status: "failed"}, message: "not a JSON object"},
		{name: "a fetch failure is retried", retry: true, modify: func(_ *agentv1alpha1.Work, f *fakeReleases) {
			f.fetchErr = errors.New("connection refused")
		}, want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Status: "failed"}, message: "fetching chart hello: connection refused"},
		{name: "a member error keeps the failed revision Helm reports, retried", applied: true, retry: true,
			modify: func(_ *agentv1alpha1.Work, f *fakeReleases) {
				f.info = helm.ReleaseInfo{Revision: 3, Status: "failed", ChartVersion: "1.0.0"}
				f.applyErr = errors.New(`configmaps is forbidden: User "system:serviceaccount:fedhub-agent:fedhub-agent" cannot create`)
			},
			want: agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 3, Revision: 3, Status: "failed", ChartVersion: "1.0.0"}, message: "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := helmWork()
			f := &fakeReleases{objects: []helm.RenderedObject{helloConfigMap}, info: deployed}
			if tc.modify != nil {
				tc.modify(w, f)
			}
			out := (&HelmReconciler{Releases: f}).Reconcile(context.Background(), w)
			got := out.Status.HelmRelease
			if got == nil {
				t.Fatalf("no helmRelease status: %+v", out)
			}
			if !strings.Contains(got.Message, tc.message) {
				t.Errorf("message %q does not say %q", got.Message, tc.message)
			}
			got.Message = ""
			if *got != tc.want {
				t.Errorf("status %+v, want %+v", *got, tc.want)
			}
			if out.Status.ObservedGeneration != 3 {
				t.Errorf("observedGeneration %d", out.Status.ObservedGeneration)
			}
			if (len(f.applied) > 0) != tc.applied {
				t.Errorf("applied %v, want %v", f.applied, tc.applied)
			}
			if out.Retry != tc.retry {
				t.Errorf("retry %v, want %v", out.Retry, tc.retry)
			}
			if (out.Action == ActionNone) != tc.noAction {
				t.Errorf("action %s", out.Action)
			}
			for _, spec := range f.applied {
				if spec.ReleaseName != "hello" || spec.Namespace != "shop" || fmt.Sprint(spec.Values) != "map[greeting:hi]" {
					t.Errorf("applied %+v", spec)
				}
			}
		})
	}
}

func TestHelmReconcileDeletion(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name        string
		modify      func(*agentv1alpha1.Work)
		uninstalled []string
		release     bool
	}{
		{"uninstalls, then releases", func(*agentv1alpha1.Work) {}, []string{"shop/hello"}, true},
		{"orphan keeps the release", func(w *agentv1alpha1.Work) { w.Spec.Orphan = true }, nil, true},
		{"names Helm refuses: nothing to uninstall", func(w *agentv1alpha1.Work) { w.Spec.HelmRelease.ReleaseName = "Not/A/Name" }, nil, true},
		{"already released", func(w *agentv1alpha1.Work) { w.Finalizers = nil }, nil, false},
	} {
		w := helmWork()
		w.DeletionTimestamp = &now
		tc.modify(w)
		f := &fakeReleases{}
		out := (&HelmReconciler{Releases: f}).Reconcile(context.Background(), w)
		if fmt.Sprint(f.uninstalled) != fmt.Sprint(tc.uninstalled) || out.Release != tc.release {
			t.Errorf("%s: uninstalled %v, release %v; want %v, %v", tc.name, f.uninstalled, out.Release, tc.uninstalled, tc.release)
		}
	}
}

func TestSweepReleases(t *testing.T) {
	f := &fakeReleases{}
	manifest := &agentv1alpha1.Work{}
	handled, errs := SweepReleases(context.Background(), f, []*agentv1alpha1.Work{helmWork(), manifest, helmWork()}, false)
	if handled != 1 || len(errs) != 0 || fmt.Sprint(f.uninstalled) != "[shop/hello]" {
		t.Errorf("handled %d, errors %v, uninstalled %v", handled, errs, f.uninstalled)
	}
	f = &fakeReleases{}
	if handled, _ := SweepReleases(context.Background(), f, []*agentv1alpha1.Work{helmWork()}, true); handled != 0 || len(f.uninstalled) != 0 {
		t.Errorf("orphaning unjoin uninstalled %v", f.uninstalled)
	}
}

// FuzzHelmReconcile: whatever a Work's release holds, a reconcile answers
// with an outcome, never a panic, and never applies a release that renders
// a kind outside the allowed set.
func FuzzHelmReconcile(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "hello", "shop", "", "ConfigMap", true, "rbac.authorization.k8s.io", "ClusterRole", false, false)
	f.Add([]byte(`null`), "", "", "x", "", false, "", "", true, true)
	f.Add([]byte(`[]`), "Bad Name", "kube-system", "example.com", "Widget", false, "", "ConfigMap", true, false)
	f.Fuzz(func(t *testing.T, values []byte, releaseName, namespace, allowedGroup, allowedKind string, namespaced bool,
		renderedGroup, renderedKind string, deleting, orphan bool) {
		w := helmWork()
		spec := w.Spec.HelmRelease
		spec.Values = &runtime.RawExtension{Raw: values}
		spec.ReleaseName, spec.Namespace, w.Spec.Orphan = releaseName, namespace, orphan
		spec.Allowed = []agentv1alpha1.WorkAllowedKind{{Group: allowedGroup, Kind: allowedKind, Namespaced: namespaced}}
		if deleting {
			now := metav1.Now()
			w.DeletionTimestamp = &now
		}
		rendered := helm.RenderedObject{APIVersion: schema.GroupVersion{Group: renderedGroup, Version: "v1"}.String(), Kind: renderedKind, Name: "x"}
		fake := &fakeReleases{objects: []helm.RenderedObject{rendered}, info: deployed}
		out := (&HelmReconciler{Releases: fake}).Reconcile(context.Background(), w)
		if out.Action == "" {
			t.Errorf("no action")
		}
		if len(fake.applied) > 0 && (renderedGroup != allowedGroup || renderedKind != allowedKind) {
			t.Errorf("applied a release rendering %s.%s with only %s.%s allowed", renderedKind, renderedGroup, allowedKind, allowedGroup)
		}
	})
}
