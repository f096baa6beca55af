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
	"fmt"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// watchTimeout bounds how long an expected watch event may take to arrive.
const watchTimeout = 30 * time.Second

// typedClient is what the generated clientset offers for every fedhub kind.
type typedClient[T runtime.Object, L runtime.Object, A any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Apply(ctx context.Context, obj A, opts metav1.ApplyOptions) (T, error)
}

// kindCase describes one kind for the lifecycle test.
type kindCase[T runtime.Object, L runtime.Object, A any] struct {
	client typedClient[T, L, A]
	// newObject returns a valid object with the given name and labels.
	newObject func(name string, labels map[string]string) T
	// changeSpec changes something in the spec that must be persisted.
	changeSpec func(T)
	spec       func(T) any
	// applyConfig is a server-side apply configuration for a new object with the given name.
	applyConfig func(name string) A
	// updateStatus writes a status through /status; nil for kinds without status.
	updateStatus func(ctx context.Context, obj T) (T, error)
	setStatus    func(T)
	clearStatus  func(T)
	status       func(T) any
}

func (k kindCase[T, L, A]) run(t *testing.T, namespace string) {
	ctx := context.Background()
	selected := map[string]string{"team": "blue"}

	created, err := k.client.Create(ctx, k.newObject("first", selected), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := k.client.Create(ctx, k.newObject("second", map[string]string{"team": "red"}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create second: %v", err)
	}
	if _, err := k.client.Create(ctx, k.newObject("first", nil), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("creating a duplicate: got %v, want AlreadyExists", err)
	}

	got, err := k.client.Get(ctx, "first", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !apiequality.Semantic.DeepEqual(k.spec(got), k.spec(created)) {
		t.Errorf("get returned spec %+v, want %+v", k.spec(got), k.spec(created))
	}

	list, err := k.client.List(ctx, metav1.ListOptions{LabelSelector: "team=blue"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if names := itemNames(t, list); fmt.Sprint(names) != "[first]" {
		t.Errorf("list with team=blue returned %v, want [first]", names)
	}
	list, err = k.client.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=second"})
	if err != nil {
		t.Fatalf("list by field: %v", err)
	}
	if names := itemNames(t, list); fmt.Sprint(names) != "[second]" {
		t.Errorf("list with metadata.name=second returned %v, want [second]", names)
	}

	// A watch from the create's resourceVersion sees the update, and a label
	// selector keeps other objects' events out of it.
	watcher, err := k.client.Watch(ctx, metav1.ListOptions{LabelSelector: "team=blue", ResourceVersion: objectMeta(t, created).GetResourceVersion()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer watcher.Stop()
	k.changeSpec(got)
	updated, err := k.client.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if !apiequality.Semantic.DeepEqual(k.spec(updated), k.spec(got)) {
		t.Errorf("update stored spec %+v, want %+v", k.spec(updated), k.spec(got))
	}
	if objectMeta(t, updated).GetGeneration() != 2 {
		t.Errorf("a spec change must bump the generation to 2, got %d", objectMeta(t, updated).GetGeneration())
	}
	event := nextEvent(t, watcher)
	if event.Type != watch.Modified || objectMeta(t, event.Object).GetName() != "first" {
		t.Errorf("watch delivered %s of %s, want MODIFIED of first", event.Type, objectMeta(t, event.Object).GetName())
	}

	if k.updateStatus != nil {
		withStatus, err := k.client.Get(ctx, "first", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		k.setStatus(withStatus)
		afterStatus, err := k.updateStatus(ctx, withStatus)
		if err != nil {
			t.Fatalf("update status: %v", err)
		}
		if !apiequality.Semantic.DeepEqual(k.status(afterStatus), k.status(withStatus)) {
			t.Errorf("status write stored %+v, want %+v", k.status(afterStatus), k.status(withStatus))
		}
		// The main resource keeps the status it has: only /status writes it.
		k.changeSpec(afterStatus)
		reset := afterStatus.DeepCopyObject().(T)
		k.clearStatus(reset)
		afterMain, err := k.client.Update(ctx, reset, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update after status: %v", err)
		}
		if !apiequality.Semantic.DeepEqual(k.status(afterMain), k.status(withStatus)) {
			t.Errorf("a write to the main resource changed status to %+v", k.status(afterMain))
		}
	}

	applied, err := k.client.Apply(ctx, k.applyConfig("applied"), metav1.ApplyOptions{FieldManager: "integration-test", Force: true})
	if err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	managers := objectMeta(t, applied).GetManagedFields()
	if len(managers) == 0 || managers[0].Manager != "integration-test" || managers[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("server-side apply recorded managed fields %+v, want an Apply entry for integration-test", managers)
	}
	// Applying the same configuration again changes nothing.
	reapplied, err := k.client.Apply(ctx, k.applyConfig("applied"), metav1.ApplyOptions{FieldManager: "integration-test", Force: true})
	if err != nil {
		t.Fatalf("second server-side apply: %v", err)
	}
	if objectMeta(t, reapplied).GetResourceVersion() != objectMeta(t, applied).GetResourceVersion() {
		t.Errorf("re-applying an unchanged configuration wrote a new resourceVersion")
	}

	for _, name := range []string{"first", "second", "applied"} {
		if err := k.client.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
		if _, err := k.client.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get after delete of %s: got %v, want NotFound", name, err)
		}
	}
}

func objectMeta(t *testing.T, obj runtime.Object) metav1.Object {
	t.Helper()
	accessor, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return accessor
}

func itemNames(t *testing.T, list runtime.Object) []string {
	t.Helper()
	var names []string
	if err := meta.EachListItem(list, func(obj runtime.Object) error {
		names = append(names, objectMeta(t, obj).GetName())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

func nextEvent(t *testing.T, watcher watch.Interface) watch.Event {
	t.Helper()
	select {
	case event, ok := <-watcher.ResultChan():
		if !ok {
			t.Fatal("watch closed before the expected event")
		}
		return event
	case <-time.After(watchTimeout):
		t.Fatalf("no watch event within %s", watchTimeout)
	}
	return watch.Event{}
}
