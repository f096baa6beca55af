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

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// discoveryTimeout bounds how long a new or removed federated type may take to show in discovery.
const discoveryTimeout = 30 * time.Second

var federatedWidgets = schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedwidgets"}

func widgetTypeConfig() *corev1beta1.FederatedTypeConfig {
	return &corev1beta1.FederatedTypeConfig{
		ObjectMeta: objectMetaIn("widgets.example.com", nil),
		Spec: corev1beta1.FederatedTypeConfigSpec{
			TargetType: corev1beta1.APIResource{Group: "example.com", Version: "v1", Kind: "Widget", PluralName: "widgets", Scope: corev1beta1.NamespaceScoped},
			FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "FederatedWidget",
				PluralName: "federatedwidgets", Scope: corev1beta1.NamespaceScoped},
			Propagation: corev1beta1.PropagationEnabled,
		},
	}
}

func federatedWidget(name string, labels map[string]string) *unstructured.Unstructured {
	widget := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "types.kubefed.io/v1beta1",
		"kind":       "FederatedWidget",
		"metadata":   map[string]any{"name": name, "namespace": "default"},
		"spec": map[string]any{
			"template":  map[string]any{"spec": map[string]any{"size": int64(3)}},
			"placement": map[string]any{"clusters": []any{map[string]any{"name": "member-1"}}},
			"overrides": []any{map[string]any{"clusterName": "member-1", "clusterOverrides": []any{
				map[string]any{"path": "/spec/size", "value": int64(1)},
			}}},
		},
	}}
	widget.SetLabels(labels)
	return widget
}

// serveWidgets creates the widgets FTC and waits until its federated kind is served.
func serveWidgets(t *testing.T, server *fedhub) {
	t.Helper()
	typeConfigs := server.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace)
	if _, err := typeConfigs.Create(context.Background(), widgetTypeConfig(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForDiscovery(t, server, "federatedwidgets", true)
}

// waitForDiscovery polls until discovery does or does not list resource in types.kubefed.io/v1beta1.
func waitForDiscovery(t *testing.T, server *fedhub, resource string, listed bool) {
	t.Helper()
	client, err := discovery.NewDiscoveryClientForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, discoveryTimeout, true, func(context.Context) (bool, error) {
		resources, err := client.ServerResourcesForGroupVersion("types.kubefed.io/v1beta1")
		found := false
		if err == nil {
			for _, r := range resources.APIResources {
				found = found || r.Name == resource
			}
		}
		return found == listed, nil
	})
	if err != nil {
		t.Fatalf("discovery listing %s: want %v within %s", resource, listed, discoveryTimeout)
	}
}

// TestFederatedTypeFollowsItsTypeConfig: an FTC for a type fedhub has never
// heard of makes its Federated<Kind> appear, behave like a built-in resource,
// and disappear with the FTC.
func TestFederatedTypeFollowsItsTypeConfig(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	typeConfigs := server.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace)
	serveWidgets(t, server)

	client, err := dynamic.NewForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	widgets := client.Resource(federatedWidgets).Namespace("default")
	created, err := widgets.Create(ctx, federatedWidget("blue", map[string]string{"team": "blue"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := widgets.Create(ctx, federatedWidget("red", map[string]string{"team": "red"}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := widgets.Get(ctx, "blue", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(got.Object, "spec", "template", "spec", "size"); size != 3 {
		t.Errorf("stored template size = %d, want 3", size)
	}
	list, err := widgets.List(ctx, metav1.ListOptions{LabelSelector: "team=blue"})
	if err != nil || len(list.Items) != 1 || list.Items[0].GetName() != "blue" {
		t.Fatalf("list team=blue: %v, %v", itemNamesOf(list), err)
	}

	watcher, err := widgets.Watch(ctx, metav1.ListOptions{LabelSelector: "team=blue", ResourceVersion: created.GetResourceVersion()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer watcher.Stop()
	if err := unstructured.SetNestedField(got.Object, int64(5), "spec", "template", "spec", "size"); err != nil {
		t.Fatal(err)
	}
	updated, err := widgets.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.GetGeneration() != 2 {
		t.Errorf("generation after a spec update = %d, want 2", updated.GetGeneration())
	}
	if event := nextEvent(t, watcher); event.Type != watch.Modified || objectMeta(t, event.Object).GetName() != "blue" {
		t.Errorf("watch delivered %s of %s, want MODIFIED of blue", event.Type, objectMeta(t, event.Object).GetName())
	}

	// Status is written through /status only, and such a write keeps the spec.
	if err := unstructured.SetNestedField(updated.Object, map[string]any{"observedGeneration": int64(2)}, "status"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(updated.Object, int64(9), "spec", "template", "spec", "size"); err != nil {
		t.Fatal(err)
	}
	withStatus, err := widgets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if generation, _, _ := unstructured.NestedInt64(withStatus.Object, "status", "observedGeneration"); generation != 2 {
		t.Errorf("status after a status write = %v", withStatus.Object["status"])
	}
	if size, _, _ := unstructured.NestedInt64(withStatus.Object, "spec", "template", "spec", "size"); size != 5 {
		t.Errorf("a status write changed the template size to %d", size)
	}

	// Finalizers hold a deletion, as for a built-in resource.
	held := federatedWidget("held", nil)
	held.SetFinalizers([]string{"example.com/hold"})
	if _, err := widgets.Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := widgets.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	terminating, err := widgets.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || terminating.GetDeletionTimestamp() == nil {
		t.Fatalf("a deleted object with a finalizer: %v, deletionTimestamp %v", err, terminating.GetDeletionTimestamp())
	}
	terminating.SetFinalizers(nil)
	if _, err := widgets.Update(ctx, terminating, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := widgets.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the object after its last finalizer went: %v, want NotFound", err)
	}

	// Server-side apply records its manager, and re-applying the same
	// configuration writes nothing.
	applied, err := widgets.Apply(ctx, "applied", federatedWidget("applied", nil), metav1.ApplyOptions{FieldManager: "platform"})
	if err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	if managers := applied.GetManagedFields(); len(managers) != 1 || managers[0].Manager != "platform" {
		t.Errorf("managed fields after apply: %+v", managers)
	}
	reapplied, err := widgets.Apply(ctx, "applied", federatedWidget("applied", nil), metav1.ApplyOptions{FieldManager: "platform"})
	if err != nil || reapplied.GetResourceVersion() != applied.GetResourceVersion() {
		t.Errorf("re-applying the same configuration: %v, resourceVersion %s -> %s", err, applied.GetResourceVersion(), reapplied.GetResourceVersion())
	}
	if err := widgets.Delete(ctx, "applied", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Turning propagation off keeps the type served.
	typeConfig, err := typeConfigs.Get(ctx, "widgets.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	typeConfig.Spec.Propagation = corev1beta1.PropagationDisabled
	if _, err := typeConfigs.Update(ctx, typeConfig, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := widgets.Get(ctx, "blue", metav1.GetOptions{}); err != nil {
		t.Errorf("reading an object after its type's propagation was disabled: %v", err)
	}
	waitForDiscovery(t, server, "federatedwidgets", true)

	// The FTC cannot go while its objects exist, and the refusal names them.
	err = typeConfigs.Delete(ctx, "widgets.example.com", metav1.DeleteOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "default/blue") {
		t.Errorf("deleting the FTC of a type in use: got %v, want a Conflict naming default/blue", err)
	}
	before, err := typeConfigs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = typeConfigs.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("deleting every FTC while one type is in use: got %v, want a Conflict", err)
	}
	if after, err := typeConfigs.List(ctx, metav1.ListOptions{}); err != nil || len(after.Items) != len(before.Items) {
		t.Errorf("a refused deletecollection deleted FTCs: %d before, %d after (%v)", len(before.Items), len(after.Items), err)
	}
	waitForDiscovery(t, server, "federatedwidgets", true)

	for _, name := range []string{"blue", "red"} {
		if err := widgets.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
		if _, err := widgets.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get after delete: %v, want NotFound", err)
		}
	}

	if !openAPIV3Describes(t, server, "FederatedWidget") {
		t.Error("/openapi/v3 does not describe FederatedWidget while it is served")
	}
	if err := typeConfigs.Delete(ctx, "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForDiscovery(t, server, "federatedwidgets", false)
	if openAPIV3Describes(t, server, "FederatedWidget") {
		t.Error("/openapi/v3 still describes FederatedWidget after its FTC is gone")
	}
	if _, err := widgets.List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("listing a type whose FTC is gone: %v, want NotFound", err)
	}
}

// TestFederatedTypeRejectsMalformedSpec: placement and overrides of the wrong
// shape are refused with the field path.
func TestFederatedTypeRejectsMalformedSpec(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	serveWidgets(t, server)
	client, err := dynamic.NewForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		spoil func(*unstructured.Unstructured)
		field string
	}{
		{"placement clusters not a list", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(w.Object, "member-1", "spec", "placement", "clusters")
		}, "spec.placement.clusters"},
		{"placement cluster without a name", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{}}, "spec", "placement", "clusters")
		}, "spec.placement.clusters[0].name"},
		{"override without a path", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{"clusterName": "member-1",
				"clusterOverrides": []any{map[string]any{"value": int64(1)}}}}, "spec", "overrides")
		}, "spec.overrides[0].clusterOverrides[0].path"},
		{"overrides without a cluster name", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{}}, "spec", "overrides")
		}, "spec.overrides[0].clusterName"},
		{"override of the object's name", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{"clusterName": "member-1",
				"clusterOverrides": []any{map[string]any{"path": "/metadata/name", "value": "other"}}}}, "spec", "overrides")
		}, "spec.overrides[0].clusterOverrides[0].path"},
		{"unknown override op", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{"clusterName": "member-1",
				"clusterOverrides": []any{map[string]any{"op": "move", "path": "/spec/size", "value": int64(1)}}}}, "spec", "overrides")
		}, "spec.overrides[0].clusterOverrides[0].op"},
		{"two override entries for one cluster", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{"clusterName": "member-1"},
				map[string]any{"clusterName": "member-1"}}, "spec", "overrides")
		}, "spec.overrides[1].clusterName"},
		{"one path twice for a cluster", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(w.Object, []any{map[string]any{"clusterName": "member-1", "clusterOverrides": []any{
				map[string]any{"path": "/spec/size", "value": int64(1)}, map[string]any{"path": "/spec/size", "value": int64(2)}}}}, "spec", "overrides")
		}, "spec.overrides[0].clusterOverrides[1].path"},
		{"malformed cluster selector", func(w *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(w.Object, map[string]any{"matchExpressions": []any{
				map[string]any{"key": "tier", "operator": "Near"}}}, "spec", "placement", "clusterSelector")
		}, "spec.placement.clusterSelector.matchExpressions[0].operator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			widget := federatedWidget("bad", nil)
			tc.spoil(widget)
			_, err := client.Resource(federatedWidgets).Namespace("default").Create(ctx, widget, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want Invalid naming %s", err, tc.field)
			}
			// Nothing of a refused object is stored.
			if _, err := client.Resource(federatedWidgets).Namespace("default").Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the refused object is readable: %v", err)
			}
		})
	}
}

// TestGeneratedClientsetServesFederatedDeployments: a program creates and watches FederatedDeployments with the typed clientset,
// and KubeFed's manifest keeps its template, placement and overrides.
func TestGeneratedClientsetServesFederatedDeployments(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	// deployments.apps is one of the types federated from the first start.
	waitForDiscovery(t, server, "federateddeployments", true)

	manifest, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "kubefed", "federateddeployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var deployment typesv1beta1.FederatedDeployment
	if err := yaml.UnmarshalStrict(manifest, &deployment); err != nil {
		t.Fatal(err)
	}
	deployments := server.client.TypesV1beta1().FederatedDeployments("default")
	watcher, err := deployments.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()
	if _, err := deployments.Create(ctx, &deployment, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	event := nextEvent(t, watcher)
	seen, ok := event.Object.(*typesv1beta1.FederatedDeployment)
	if event.Type != watch.Added || !ok {
		t.Fatalf("watch delivered %s %T, want ADDED *FederatedDeployment", event.Type, event.Object)
	}
	if *seen.Spec.Template.Spec.Replicas != 3 || seen.Spec.Template.Spec.Template.Spec.Containers[0].Image != "nginx:latest" {
		t.Errorf("template came back as %+v", seen.Spec.Template.Spec)
	}
	if len(seen.Spec.Placement.Clusters) != 1 || seen.Spec.Placement.Clusters[0].Name != "member-1" {
		t.Errorf("placement came back as %+v", seen.Spec.Placement)
	}
	if len(seen.Spec.Overrides) != 1 || string(seen.Spec.Overrides[0].ClusterOverrides[0].Value.Raw) != "1" {
		t.Errorf("overrides came back as %+v", seen.Spec.Overrides)
	}
}

func itemNamesOf(list *unstructured.UnstructuredList) []string {
	if list == nil {
		return nil
	}
	var names []string
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	return names
}

// warningRecorder keeps the warnings the server sends.
type warningRecorder struct{ warnings []string }

func (r *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	r.warnings = append(r.warnings, text)
}

// TestTemplatesAreCheckedAgainstTheTarget: a FederatedDeployment's template is
// validated as a Deployment, unknown template fields follow the request's
// field validation, and a target without a known schema is stored with a warning.
func TestTemplatesAreCheckedAgainstTheTarget(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	waitForDiscovery(t, server, "federateddeployments", true)
	client, err := dynamic.NewForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "kubefed", "federateddeployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployment := func(spoil func(*unstructured.Unstructured)) *unstructured.Unstructured {
		object := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(manifest, &object.Object); err != nil {
			t.Fatal(err)
		}
		spoil(object)
		return object
	}
	deployments := client.Resource(schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}).Namespace("default")

	_, err = deployments.Create(ctx, deployment(func(d *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(d.Object, "three", "spec", "template", "spec", "replicas")
	}), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.template.spec.replicas") {
		t.Errorf("replicas as text: got %v, want Invalid at spec.template.spec.replicas", err)
	}

	misspelt := func(d *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(d.Object, int64(2), "spec", "template", "spec", "replicass")
	}
	_, err = deployments.Create(ctx, deployment(misspelt), metav1.CreateOptions{FieldValidation: "Strict"})
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.template.spec.replicass"`) {
		t.Errorf("a misspelt template field with strict validation: got %v", err)
	}
	created, err := deployments.Create(ctx, deployment(misspelt), metav1.CreateOptions{FieldValidation: "Ignore"})
	if err != nil {
		t.Fatalf("a misspelt template field with validation ignored: %v", err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(created.Object, "spec", "template", "spec", "replicass"); found {
		t.Error("an unknown template field was stored")
	}

	// Bare YAML keys ("overrides:", "clusters:") are nulls: dropped, as a
	// custom resource drops them, instead of failing validation.
	withNulls, err := deployments.Create(ctx, deployment(func(d *unstructured.Unstructured) {
		d.SetName("bare-keys")
		d.Object["spec"].(map[string]any)["overrides"] = nil
		d.Object["spec"].(map[string]any)["placement"] = map[string]any{"clusters": nil, "clusterSelector": map[string]any{}}
	}), metav1.CreateOptions{FieldValidation: "Strict"})
	if err != nil {
		t.Fatalf("a manifest with bare keys: %v", err)
	}
	for _, path := range [][]string{{"spec", "overrides"}, {"spec", "placement", "clusters"}} {
		if _, found, _ := unstructured.NestedFieldNoCopy(withNulls.Object, path...); found {
			t.Errorf("the null %s was stored", strings.Join(path, "."))
		}
	}
	if _, found, _ := unstructured.NestedMap(withNulls.Object, "spec", "placement", "clusterSelector"); !found {
		t.Error("the clusterSelector next to a null was dropped")
	}

	serveWidgets(t, server)
	recorder := &warningRecorder{}
	config := *server.config
	config.WarningHandlerWithContext = nil
	config.WarningHandler = recorder
	warned, err := dynamic.NewForConfig(&config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := warned.Resource(federatedWidgets).Namespace("default").Create(ctx, federatedWidget("unchecked", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(recorder.warnings) != 1 || !strings.Contains(recorder.warnings[0], "FederatedWidget templates is unknown") {
		t.Errorf("warnings for a template of unknown schema: %q", recorder.warnings)
	}
}

// openAPIV3Describes reports whether fedhub's OpenAPI v3 for
// types.kubefed.io/v1beta1 has a schema for kind.
func openAPIV3Describes(t *testing.T, server *fedhub, kind string) bool {
	t.Helper()
	client, err := discovery.NewDiscoveryClientForConfig(server.config)
	if err != nil {
		t.Fatal(err)
	}
	body, err := client.RESTClient().Get().AbsPath("/openapi/v3/apis/types.kubefed.io/v1beta1").DoRaw(context.Background())
	if err != nil {
		return false
	}
	return strings.Contains(string(body), `"io.kubefed.types.v1beta1.`+kind+`"`)
}
