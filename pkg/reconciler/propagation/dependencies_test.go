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

package propagation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler/dependencies"
	"github.com/fedhub/fedhub/pkg/reconciler/reconcilertest"
)

var configMapsResource = corev1beta1.APIResource{Version: "v1", Kind: "ConfigMap", PluralName: "configmaps", Scope: corev1beta1.NamespaceScoped}

// dependencyFixture is a FederatedDeployment controller and a
// FederatedConfigMap controller that know each other, as a Manager runs them.
type dependencyFixture struct {
	workloads, configMaps *propagationFixture
}

// unadmitted makes it a standalone fedhub's, which records no grants.
func newDependencyFixture(t *testing.T, unadmitted bool) *dependencyFixture {
	fx := &dependencyFixture{workloads: newPropagationFixture(t, fixtureTargets[0], 0), configMaps: newPropagationFixture(t, configMapsResource, 0)}
	hub := newDependencyHub(func() []*TypeController { return []*TypeController{fx.workloads.controller, fx.configMaps.controller} }, unadmitted)
	fx.workloads.controller.deps, fx.configMaps.controller.deps = hub, hub
	return fx
}

// object reads YAML as a federated object with the metadata an API server gives it.
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetUID(types.UID("uid-" + obj.GetName()))
	obj.SetResourceVersion("7")
	obj.SetGeneration(1)
	obj.SetCreationTimestamp(metav1.NewTime(time.Now()))
	return obj
}

func grantAnnotation(grant string) string {
	if grant == "-" {
		return ""
	}
	return typesv1beta1.AuthorClustersAnnotation + `: "` + grant + `"`
}

// workloadManifest mounts the ConfigMap settings; follows adds the opt-in annotation.
func workloadManifest(placement string, follows bool, grant string) string {
	annotations := grantAnnotation(grant)
	if follows {
		annotations += ", " + dependencies.Annotation + `: "true"`
	}
	return `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: demo, annotations: {` + strings.TrimPrefix(annotations, ", ") + `}}
spec:
  placement: {clusters: [` + placement + `]}
  template:
    spec:
      template:
        spec:
          containers: [{name: app, image: nginx}]
          volumes: [{name: config, configMap: {name: settings}}]
`
}

func configMapManifest(placement, grant string) string {
	return `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedConfigMap
metadata: {name: settings, namespace: demo, annotations: {` + grantAnnotation(grant) + `}}
spec:
  placement: {clusters: [` + placement + `]}
  template: {data: {color: teal}}
`
}

func TestDependenciesFollowWorkloads(t *testing.T) {
	tests := []struct {
		name      string
		workload  string
		configMap string // "" for none
		// members is where the ConfigMap must be afterwards, among member-1 and member-2.
		members       map[string]bool
		wantReason    string // of DependenciesResolved; "" for no condition
		wantMessage   string
		workloadThere bool
		unadmitted    bool
	}{
		{name: "an unplaced ConfigMap follows its workload",
			workload: workloadManifest("{name: member-1}", true, "*"), configMap: configMapManifest("", "*"),
			members: map[string]bool{"member-1": true}, wantReason: DependenciesFound, workloadThere: true},
		{name: "the ConfigMap's own placement stays",
			workload: workloadManifest("{name: member-1}", true, "*"), configMap: configMapManifest("{name: member-2}", "*"),
			members: map[string]bool{"member-1": true, "member-2": true}, wantReason: DependenciesFound, workloadThere: true},
		{name: "an override that names another object in a cluster",
			workload: workloadManifest("{name: member-1}, {name: member-2}", true, "*") + `
  overrides:
  - clusterName: member-2
    clusterOverrides: [{path: /spec/template/spec/volumes/0/configMap/name, value: settings-2}]
`, configMap: configMapManifest("", "*"),
			members: map[string]bool{"member-1": true}, wantReason: DependencyNotFound, wantMessage: "ConfigMap settings-2", workloadThere: true},
		{name: "without the annotation nothing follows",
			workload: workloadManifest("{name: member-1}", false, "*"), configMap: configMapManifest("", "*"),
			members: map[string]bool{}, workloadThere: true},
		{name: "only where the dependency's last author may propagate",
			workload: workloadManifest("{name: member-1}, {name: member-2}", true, "*"), configMap: configMapManifest("", "member-2"),
			members: map[string]bool{"member-2": true}, wantReason: DependencyNotPropagated,
			wantMessage: "ConfigMap settings is not propagated to member-1: its last author may not propagate there", workloadThere: true},
		{name: "only where the workload's last author may propagate",
			workload: workloadManifest("{name: member-1}, {name: member-2}", true, "member-2"), configMap: configMapManifest("", "*"),
			members: map[string]bool{"member-2": true}, wantReason: DependencyNotPropagated,
			wantMessage: "no dependency follows the workload to member-1: the workload's last author may not propagate there", workloadThere: true},
		{name: "a dependency whose author is not recorded does not follow",
			workload: workloadManifest("{name: member-1}", true, "*"), configMap: configMapManifest("", "-"),
			members: map[string]bool{}, wantReason: DependencyNotPropagated, wantMessage: "its last author's clusters are not recorded", workloadThere: true},
		{name: "standalone fedhub records no grants, and narrows nothing",
			workload: workloadManifest("{name: member-1}", true, "-"), configMap: configMapManifest("", "-"), unadmitted: true,
			members: map[string]bool{"member-1": true}, wantReason: DependenciesFound, workloadThere: true},
		{name: "a missing dependency is reported, the workload propagated anyway",
			workload: workloadManifest("{name: member-1}", true, "*"),
			members:  map[string]bool{}, wantReason: DependencyNotFound, wantMessage: "not federated in namespace demo: ConfigMap settings", workloadThere: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fx := newDependencyFixture(t, tt.unadmitted)
			fx.workloads.add(t, object(t, tt.workload))
			if tt.configMap != "" {
				fx.configMaps.add(t, object(t, tt.configMap))
			}
			if _, err := fx.workloads.controller.reconcile(ctx, "demo/web"); err != nil {
				t.Fatal(err)
			}
			if tt.configMap != "" {
				if _, err := fx.configMaps.controller.reconcile(ctx, "demo/settings"); err != nil {
					t.Fatal(err)
				}
			}
			for _, member := range []string{"member-1", "member-2"} {
				_, err := fx.configMaps.controller.members[member].client.Resource(fx.configMaps.controller.target).Namespace("demo").
					Get(ctx, "settings", metav1.GetOptions{})
				if has := err == nil; has != tt.members[member] {
					t.Errorf("%s has the ConfigMap: %v, want %v (%v)", member, has, tt.members[member], err)
				}
			}
			if _, err := fx.workloads.member.Resource(fx.workloads.controller.target).Namespace("demo").Get(ctx, "web", metav1.GetOptions{}); (err == nil) != tt.workloadThere {
				t.Errorf("member-1 has the Deployment: %v (%v)", err == nil, err)
			}
			stored, err := fx.workloads.fedhub.Resource(fx.workloads.controller.federated).Namespace("demo").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var reason, message string
			conditions, _, _ := unstructured.NestedSlice(stored.Object, "status", "conditions")
			for _, raw := range conditions {
				if c := raw.(map[string]any); c["type"] == DependenciesCondition {
					reason, _ = c["reason"].(string)
					message, _ = c["message"].(string)
				}
			}
			if reason != tt.wantReason || !strings.Contains(message, tt.wantMessage) {
				t.Errorf("DependenciesResolved reason %q message %q, want %q with %q", reason, message, tt.wantReason, tt.wantMessage)
			}
		})
	}
}

// TestDependencyFollowsToPullMembers: the same decision reaches a pull
// member as a Work, since both deliverers share it.
func TestDependencyFollowsToPullMembers(t *testing.T) {
	ctx := context.Background()
	fx := newDependencyFixture(t, false)
	workload := object(t, workloadManifest("{name: member-4}", true, "*"))
	fx.workloads.add(t, workload)
	configMap := object(t, configMapManifest("", "*"))
	fx.configMaps.add(t, configMap)
	fx.workloads.addPullMember(t, workload, nil)
	works := fx.configMaps.addPullMember(t, configMap, nil)
	if _, err := fx.configMaps.controller.reconcile(ctx, "demo/settings"); err != nil {
		t.Fatal(err)
	}
	name := WorkName("member-4", fx.configMaps.controller.federated.Resource, "demo", "settings")
	if works.works[name] == nil {
		t.Errorf("no Work %s for member-4; writes: %v", name, works.writes)
	}
}

// TestDependencyHeldUntilWorkloadsKnown: before fedhub knows every workload
// (it has just started), a dependency is not taken from a cluster that a
// workload nobody has read yet may need it in.
func TestDependencyHeldUntilWorkloadsKnown(t *testing.T) {
	ctx := context.Background()
	fx := newDependencyFixture(t, false)
	fx.workloads.controller.fedSynced = func() bool { return false }
	// The fixture's member object is named web.
	fx.configMaps.add(t, object(t, strings.Replace(configMapManifest("", "*"), "name: settings", "name: web", 1)))
	fx.configMaps.memberObject(t, map[string]any{"data": map[string]any{"color": "teal"}}, false)

	requeue, err := fx.configMaps.controller.reconcile(ctx, "demo/web")
	if err != nil {
		t.Fatal(err)
	}
	if requeue != dependencyHoldRetry {
		t.Errorf("requeue after %s, want %s", requeue, dependencyHoldRetry)
	}
	if _, err := fx.configMaps.member.Resource(fx.configMaps.controller.target).Namespace("demo").Get(ctx, "web", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("member-1's ConfigMap was deleted while the workloads were not known")
	}

	// A workload type whose cache never fills holds nothing past its grace.
	hub := fx.configMaps.controller.deps
	hub.started[fx.workloads.controller] = time.Now().Add(-2 * workloadSyncGrace)
	if requeue, err = fx.configMaps.controller.reconcile(ctx, "demo/web"); err != nil || requeue != 0 {
		t.Errorf("past the grace: requeue %s, err %v; want neither", requeue, err)
	}
	if _, err := fx.configMaps.member.Resource(fx.configMaps.controller.target).Namespace("demo").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("past the grace, member-1 still has the ConfigMap placed nowhere: %v", err)
	}
}

// FuzzDependencies reconciles a FederatedDeployment that asks for its
// dependencies to follow it, whose content is fuzzed JSON (as in
// FuzzPropagationReconcile), and then the FederatedConfigMap it may name,
// whose content is fuzzed too. Neither reconcile may panic, and neither may
// change a federated object's spec: followed clusters are never written
// into a placement.
func FuzzDependencies(f *testing.F) {
	f.Add([]byte(`{"spec":{"placement":{"clusters":[{"name":"member-1"}]},"template":{"spec":{"template":{"spec":{"volumes":[{"configMap":{"name":"settings"}}]}}}}}}`),
		[]byte(`{"spec":{"template":{"data":{"a":"b"}}}}`), "*")
	f.Add([]byte(`{"spec":{"placement":{"clusterSelector":{}},"template":{"spec":{"template":{"spec":{"containers":[{"envFrom":[{"configMapRef":{"name":"settings"}}]}]}}}},`+
		`"overrides":[{"clusterName":"member-2","clusterOverrides":[{"path":"/spec/template/spec/containers/0/envFrom/0/configMapRef/name","value":7}]}]}}`),
		[]byte(`{"spec":{"placement":[1]}}`), "member-2,")
	f.Add([]byte(`{"spec":{"template":{"spec":{"template":"volumes"}}}}`), []byte(`null`), "")
	f.Fuzz(func(t *testing.T, workloadJSON, configMapJSON []byte, grant string) {
		ctx := context.Background()
		fx := newDependencyFixture(t, false)
		workload := fx.workloads.federated(reconcilertest.ObjectContent(workloadJSON), withFinalizer, "")
		workload.SetAnnotations(map[string]string{dependencies.Annotation: "true", typesv1beta1.AuthorClustersAnnotation: grant})
		fx.workloads.add(t, workload)
		configMap := fx.configMaps.federated(reconcilertest.ObjectContent(configMapJSON), withFinalizer, "")
		configMap.SetName("settings")
		configMap.SetAnnotations(map[string]string{typesv1beta1.AuthorClustersAnnotation: grant})
		fx.configMaps.add(t, configMap)
		for _, step := range []struct {
			fx  *propagationFixture
			obj *unstructured.Unstructured
		}{{fx.workloads, workload}, {fx.configMaps, configMap}} {
			before, _ := json.Marshal(step.obj.Object["spec"])
			if _, err := step.fx.controller.reconcile(ctx, "demo/"+step.obj.GetName()); err != nil && strings.TrimSpace(err.Error()) == "" {
				t.Errorf("reconcile failed with an empty message: %#v", err)
			}
			stored, err := step.fx.fedhub.Resource(step.fx.controller.federated).Namespace("demo").Get(ctx, step.obj.GetName(), metav1.GetOptions{})
			if err != nil {
				continue
			}
			if after, _ := json.Marshal(stored.Object["spec"]); string(after) != string(before) {
				t.Errorf("the reconcile changed %s's spec:\nbefore %s\nafter  %s", step.obj.GetName(), before, after)
			}
		}
	})
}
