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

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// objectWatch follows the objects of one resource in one namespace of one
// cluster through a watch of their metadata only (the benchmark's own
// decoding must cost the machine little), recording when each was first
// seen, what each holds now, and how many writes happened.
type objectWatch struct {
	notifier
	mu        sync.Mutex
	firstSeen map[string]time.Time
	// versionSeen is when each object was first seen holding each
	// version, keyed by versionKey; deletedAt when each was seen deleted.
	versionSeen map[string]time.Time
	deletedAt   map[string]time.Time
	objects     map[string]*metav1.PartialObjectMetadata
	writes      int
	cancel      context.CancelFunc
}

// notifier tells waitUntil that something it waits on may have changed.
type notifier struct{ changed chan struct{} }

func newNotifier() notifier { return notifier{changed: make(chan struct{}, 1)} }

func (n notifier) notify() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

func (n notifier) changes() <-chan struct{} { return n.changed }

// changeSource is anything waitUntil can hear changes from.
type changeSource interface{ changes() <-chan struct{} }

func sources(watches []*objectWatch) []changeSource {
	out := make([]changeSource, 0, len(watches))
	for _, w := range watches {
		out = append(out, w)
	}
	return out
}

// managedLabel marks the member objects the federation manages, and
// managedSelector selects them.
const (
	managedLabel    = "kubefed.io/managed"
	managedSelector = managedLabel + "=true"
)

// watchObjects starts following resource in namespace, from now on (the
// namespace is expected to be empty or its objects already known not to matter).
func watchObjects(ctx context.Context, client metadata.Interface, resource schema.GroupVersionResource, namespace, labelSelector string) (*objectWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &objectWatch{notifier: newNotifier(), firstSeen: map[string]time.Time{}, objects: map[string]*metav1.PartialObjectMetadata{},
		versionSeen: map[string]time.Time{}, deletedAt: map[string]time.Time{}, cancel: cancel}
	resources := client.Resource(resource).Namespace(namespace)
	list, err := resources.List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
	if err != nil {
		cancel()
		return nil, err
	}
	now := time.Now()
	for i := range list.Items {
		w.objects[list.Items[i].GetName()] = &list.Items[i]
		w.firstSeen[list.Items[i].GetName()] = now
		w.versionSeen[versionKey(list.Items[i].GetName(), versionOf(&list.Items[i]))] = now
	}
	if err := follow(ctx, list.GetResourceVersion(), func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
		options.LabelSelector = labelSelector
		return resources.Watch(ctx, options)
	}, w.record); err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

// follow watches from resourceVersion on, through watchFunc and across
// broken connections, handing every event to record until ctx ends.
func follow(ctx context.Context, resourceVersion string, watchFunc cache.WatchFuncWithContext, record func(watch.Event, time.Time)) error {
	watcher, err := watchtools.NewRetryWatcherWithContext(ctx, resourceVersion, &cache.ListWatch{WatchFuncWithContext: watchFunc})
	if err != nil {
		return err
	}
	go consume(ctx, watcher, record)
	return nil
}

func consume(ctx context.Context, watcher watch.Interface, record func(watch.Event, time.Time)) {
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case event, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			record(event, time.Now())
		}
	}
}

func (w *objectWatch) record(event watch.Event, at time.Time) {
	obj, ok := event.Object.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	w.mu.Lock()
	name := obj.GetName()
	switch event.Type {
	case watch.Added, watch.Modified:
		w.writes++
		w.objects[name] = obj
		if _, seen := w.firstSeen[name]; !seen {
			w.firstSeen[name] = at
		}
		if key := versionKey(name, versionOf(obj)); w.versionSeen[key].IsZero() {
			w.versionSeen[key] = at
		}
	case watch.Deleted:
		w.writes++
		delete(w.objects, name)
		w.deletedAt[name] = at
	}
	w.mu.Unlock()
	w.notify()
}

// count returns how many objects satisfy ok now.
func (w *objectWatch) count(ok func(*metav1.PartialObjectMetadata) bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, obj := range w.objects {
		if ok(obj) {
			n++
		}
	}
	return n
}

// size is the number of objects present.
func (w *objectWatch) size() int {
	return w.count(func(*metav1.PartialObjectMetadata) bool { return true })
}

// seenAt is when an object was first seen; false if not yet.
func (w *objectWatch) seenAt(name string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.firstSeen[name]
	return at, ok
}

// lastSeenAt is when the last of names was first seen; false while one has not been.
func (w *objectWatch) lastSeenAt(names []string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return latest(w.firstSeen, names)
}

// latest is the latest time of names in times; false while one has none.
func latest(times map[string]time.Time, names []string) (time.Time, bool) {
	var last time.Time
	for _, name := range names {
		at, ok := times[name]
		if !ok {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, true
}

// seenSince counts the objects first seen after start, and says when the last of them was.
func (w *objectWatch) seenSince(start time.Time) (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, last := 0, time.Time{}
	for _, at := range w.firstSeen {
		if at.After(start) {
			n++
			if at.After(last) {
				last = at
			}
		}
	}
	return n, last
}

func versionKey(name, version string) string { return name + "\x00" + version }

// versionSeenAt is when an object was first seen holding version; false if not yet.
func (w *objectWatch) versionSeenAt(name, version string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.versionSeen[versionKey(name, version)]
	return at, ok
}

// deletedSeenAt is when an object was seen deleted; false if not yet.
func (w *objectWatch) deletedSeenAt(name string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.deletedAt[name]
	return at, ok
}

// writeCount is the number of writes seen so far.
func (w *objectWatch) writeCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

func (w *objectWatch) stop() { w.cancel() }

// propagationWatch follows the federated objects of one resource in one
// namespace of fedhub and knows which say their generation is propagated. One
// watch of fedhub costs the machine less than watching every member.
type propagationWatch struct {
	notifier
	mu         sync.Mutex
	propagated map[string]bool
	// propagatedAt is when each object was first seen saying so.
	propagatedAt map[string]time.Time
	cancel       context.CancelFunc
}

func watchPropagation(ctx context.Context, client dynamic.Interface, resource schema.GroupVersionResource, namespace string) (*propagationWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &propagationWatch{notifier: newNotifier(), propagated: map[string]bool{}, propagatedAt: map[string]time.Time{}, cancel: cancel}
	resources := client.Resource(resource).Namespace(namespace)
	list, err := resources.List(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		return nil, err
	}
	now := time.Now()
	for i := range list.Items {
		w.set(&list.Items[i], now)
	}
	if err := follow(ctx, list.GetResourceVersion(), func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
		return resources.Watch(ctx, options)
	}, w.record); err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

func (w *propagationWatch) record(event watch.Event, at time.Time) {
	obj, ok := event.Object.(*unstructured.Unstructured)
	if !ok {
		return
	}
	w.mu.Lock()
	if event.Type == watch.Deleted {
		delete(w.propagated, obj.GetName())
		delete(w.propagatedAt, obj.GetName())
	} else {
		w.set(obj, at)
	}
	w.mu.Unlock()
	w.notify()
}

// set records what obj's status says, seen at at; the caller holds mu or
// owns w alone.
func (w *propagationWatch) set(obj *unstructured.Unstructured, at time.Time) {
	ok := propagated(obj)
	w.propagated[obj.GetName()] = ok
	if _, seen := w.propagatedAt[obj.GetName()]; ok && !seen {
		w.propagatedAt[obj.GetName()] = at
	}
}

// lastPropagatedAt is when the last of names was first seen saying its
// generation is propagated; false while one has not yet.
func (w *propagationWatch) lastPropagatedAt(names []string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return latest(w.propagatedAt, names)
}

// count is how many objects say their generation is propagated.
func (w *propagationWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, ok := range w.propagated {
		if ok {
			n++
		}
	}
	return n
}

// allPropagated tells whether every object present says so.
func (w *propagationWatch) allPropagated() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ok := range w.propagated {
		if !ok {
			return false
		}
	}
	return true
}

func (w *propagationWatch) stop() { w.cancel() }

// waitUntil polls done whenever a watch reports a change, and every 100 ms,
// until it holds or the deadline passes.
func waitUntil(ctx context.Context, deadline time.Duration, what string, done func() bool, sources ...changeSource) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	changed := make(chan struct{}, 1)
	for _, source := range sources {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-source.changes():
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %s", what, deadline)
		case <-changed:
		case <-ticker.C:
		}
	}
	return nil
}
