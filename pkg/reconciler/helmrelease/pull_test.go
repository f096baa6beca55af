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

package helmrelease

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/helm"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
)

func TestReportedStatus(t *testing.T) {
	previous := appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 1, Status: "deployed", ChartVersion: "0.1.0", ObservedGeneration: 4}
	deployed := &agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 2, Revision: 2, Status: "deployed", ChartVersion: "0.2.0", AppVersion: "1.1"}
	for _, tc := range []struct {
		name   string
		status agentv1alpha1.WorkStatus
		want   appsv1alpha1.HelmReleaseClusterStatus
	}{
		{"not reported yet", agentv1alpha1.WorkStatus{},
			appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 1, Status: "waiting", ChartVersion: "0.1.0",
				ObservedGeneration: 4, Message: "waiting for the cluster's agent"}},
		{"reported on the previous generation", agentv1alpha1.WorkStatus{ObservedGeneration: 1,
			HelmRelease: &agentv1alpha1.WorkHelmReleaseStatus{ObservedGeneration: 1, Revision: 1, Status: "deployed"}},
			appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 1, Status: "waiting", ChartVersion: "0.1.0",
				ObservedGeneration: 4, Message: "waiting for the cluster's agent"}},
		{"deployed", agentv1alpha1.WorkStatus{ObservedGeneration: 2, HelmRelease: deployed},
			appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 2, Status: "deployed", ChartVersion: "0.2.0",
				AppVersion: "1.1", ObservedGeneration: 5}},
		{"refused by the agent", agentv1alpha1.WorkStatus{ObservedGeneration: 2, HelmRelease: &agentv1alpha1.WorkHelmReleaseStatus{
			ObservedGeneration: 2, Revision: 1, Status: "failed", ChartVersion: "0.1.0", Message: "object of a kind the release may not create"}},
			appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 1, Status: "failed", ChartVersion: "0.1.0",
				ObservedGeneration: 5, Message: "object of a kind the release may not create"}},
		{"the agent could not handle the Work", agentv1alpha1.WorkStatus{ObservedGeneration: 2, Result: "ReconcileError", Message: "boom"},
			appsv1alpha1.HelmReleaseClusterStatus{Name: "member-2", Revision: 1, Status: "failed", ChartVersion: "0.1.0",
				ObservedGeneration: 5, Message: "ReconcileError: boom"}},
	} {
		work := &agentv1alpha1.Work{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: tc.status}
		if got := reportedStatus(5, "member-2", work, previous); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestAllowedKinds(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	objects := []helm.RenderedObject{{APIVersion: "v1", Kind: "ConfigMap", Name: "a"}, {APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "r"},
		{APIVersion: "v1", Kind: "ConfigMap", Name: "b"}}
	got, err := allowedKinds(objects, mapper)
	want := []agentv1alpha1.WorkAllowedKind{{Kind: "ConfigMap", Namespaced: true}, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if _, err := allowedKinds([]helm.RenderedObject{{APIVersion: "example.com/v1", Kind: "Widget", Name: "w"}}, mapper); err == nil ||
		!strings.Contains(err.Error(), "the host does not serve this kind") {
		t.Errorf("a kind the host does not serve: %v", err)
	}
}

func TestReleaseWorkComparesValuesByContent(t *testing.T) {
	release := &appsv1alpha1.FederatedHelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u"}}
	chart := &helm.Chart{Source: helm.ChartSource{Repository: "https://charts.example.com", Name: "web", Version: "1.2.3"}}
	work, err := releaseWork(release, "member-2", chart, map[string]any{"a": 1, "b": map[string]any{"c": true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if work.Spec.HelmRelease.Chart.Version != "1.2.3" || work.Spec.HelmRelease.ReleaseName != "web" || work.Spec.Source.Resource != "federatedhelmreleases" ||
		work.Name != propagation.WorkName("member-2", "federatedhelmreleases", "shop", "web") {
		t.Errorf("work %+v", work)
	}
	stored := work.DeepCopy()
	stored.Spec.HelmRelease.Values = &runtime.RawExtension{Raw: []byte(`{"b": {"c": true}, "a": 1}`)}
	if !propagation.SameWorkSpec(stored.Spec, work.Spec) {
		t.Errorf("the same values in other bytes differ")
	}
	stored.Spec.HelmRelease.Values = &runtime.RawExtension{Raw: []byte(`{"a": 2, "b": {"c": true}}`)}
	if propagation.SameWorkSpec(stored.Spec, work.Spec) {
		t.Errorf("other values are the same")
	}
	stored = work.DeepCopy()
	stored.Spec.HelmRelease.Allowed = []agentv1alpha1.WorkAllowedKind{{Kind: "Secret", Namespaced: true}}
	if propagation.SameWorkSpec(stored.Spec, work.Spec) {
		t.Errorf("another allowed set is the same")
	}
}

// fakeRenderer renders objects whatever the chart, and keeps the
// capabilities it was last asked for in caps when set.
type fakeRenderer struct {
	objects []helm.RenderedObject
	caps    **helm.Capabilities
}

func (r fakeRenderer) Render(_ context.Context, _ *helm.Chart, _, _ string, _ map[string]any, caps *helm.Capabilities) ([]helm.RenderedObject, error) {
	if r.caps != nil {
		*r.caps = caps
	}
	return r.objects, nil
}

// fakeWorks keeps Works by name, and whether each deleted one said orphan.
type fakeWorks struct {
	byName  map[string]*agentv1alpha1.Work
	deleted map[string]bool
}

func (f *fakeWorks) get(name string) (*agentv1alpha1.Work, error) { return f.byName[name], nil }
func (f *fakeWorks) list() ([]*agentv1alpha1.Work, error) {
	var out []*agentv1alpha1.Work
	for _, w := range f.byName {
		out = append(out, w)
	}
	return out, nil
}
func (f *fakeWorks) create(_ context.Context, w *agentv1alpha1.Work) error {
	w.Generation = 1
	f.byName[w.Name] = w
	return nil
}
func (f *fakeWorks) update(_ context.Context, w *agentv1alpha1.Work) error {
	w.Generation++
	f.byName[w.Name] = w
	return nil
}
func (f *fakeWorks) delete(_ context.Context, name string) error {
	if w := f.byName[name]; w != nil {
		f.deleted[name] = w.Spec.Orphan
	}
	delete(f.byName, name)
	return nil
}

func TestApplyToPull(t *testing.T) {
	release := &appsv1alpha1.FederatedHelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a", Generation: 7}}
	cluster := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-2"}}
	chart := &helm.Chart{Source: helm.ChartSource{Repository: "https://charts.example.com", Name: "web", Version: "1.0.0"}}
	alice := &user.DefaultInfo{Name: "alice"}
	configMap := helm.RenderedObject{APIVersion: "v1", Kind: "ConfigMap", Name: "settings"}
	clusterRole := helm.RenderedObject{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "everything"}
	name := workName(release, "member-2")

	works := &fakeWorks{byName: map[string]*agentv1alpha1.Work{}, deleted: map[string]bool{}}
	clusters := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	c := &Controller{authz: editorOf("team-a"), hostMapper: testMapper(), works: works, clusters: corelisters.NewKubeFedClusterLister(clusters),
		renderer: fakeRenderer{objects: []helm.RenderedObject{configMap, clusterRole}}}
	if _, err := c.applyToPull(context.Background(), release, cluster, chart, alice, appsv1alpha1.HelmReleaseClusterStatus{}); err == nil ||
		!strings.Contains(err.Error(), "ClusterRole.rbac.authorization.k8s.io everything") || len(works.byName) != 0 {
		t.Fatalf("a ClusterRole by an editor: %v, Works %v", err, works.byName)
	}

	// Rendered for the version the member's agent reports.
	var caps *helm.Capabilities
	c.renderer = fakeRenderer{objects: []helm.RenderedObject{configMap}, caps: &caps}
	cluster.Status.KubernetesVersion = "v1.29.3"
	s, err := c.applyToPull(context.Background(), release, cluster, chart, alice, appsv1alpha1.HelmReleaseClusterStatus{})
	work := works.byName[name]
	if err != nil || s.Status != StatusWaiting || work == nil {
		t.Fatalf("first apply: %+v, %v, Work %v", s, err, work)
	}
	if caps == nil || caps.KubeVersion != "v1.29.3" {
		t.Errorf("rendered with %+v, want the member's version v1.29.3", caps)
	}
	if allowed := work.Spec.HelmRelease.Allowed; len(allowed) != 1 || allowed[0] != (agentv1alpha1.WorkAllowedKind{Kind: "ConfigMap", Namespaced: true}) {
		t.Errorf("allowed %v, want the ConfigMap kind only", allowed)
	}

	// The agent reports; an unchanged spec writes nothing and maps the report.
	work.Status = agentv1alpha1.WorkStatus{ObservedGeneration: 1, HelmRelease: &agentv1alpha1.WorkHelmReleaseStatus{
		ObservedGeneration: 1, Revision: 1, Status: "deployed", ChartVersion: "1.0.0"}}
	s, err = c.applyToPull(context.Background(), release, cluster, chart, alice, s)
	if err != nil || s.Status != "deployed" || s.Revision != 1 || s.ObservedGeneration != 7 || works.byName[name].Generation != 1 {
		t.Errorf("after the report: %+v, %v, generation %d", s, err, works.byName[name].Generation)
	}

	// Deletion withdraws it, orphan set first when asked; its cluster is
	// not known here, so it counts as unreachable.
	waiting, unreachable, err := c.withdrawAll(context.Background(), release, true)
	if err != nil || len(waiting) != 0 || strings.Join(unreachable, ",") != "member-2" {
		t.Errorf("withdraw: waiting %v, unreachable %v, %v", waiting, unreachable, err)
	}
	if orphan, deleted := works.deleted[name]; !deleted || !orphan {
		t.Errorf("the Work was deleted %v, with orphan %v", deleted, orphan)
	}
}
