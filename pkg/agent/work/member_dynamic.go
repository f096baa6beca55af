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
	"github.com/fedhub/fedhub/pkg/reconciler"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// memberSyncGrace is how long a read waits for a new resource's informer to
// fill before it reads with a GET instead (a resource the member does not
// serve, or may not be listed, never fills).
const memberSyncGrace = 30 * time.Second

var _ Member = &DynamicMember{}

// DynamicMember reaches the member through a dynamic client and reads from
// one informer per resource on the objects labelled kubefed.io/managed=true,
// started on demand, so a restart reads every managed object with one list
// per resource, not a GET per object. An object the cache does not hold (not
// created yet, or not managed) is read with a GET.
type DynamicMember struct {
	client dynamic.Interface
	// uncached members read every object with a GET.
	uncached bool
	// changed is told of every event of a member object, and of every
	// object of a resource once its informer has filled.
	changed func(ref Ref)
	synced  func(resource schema.GroupVersionResource)

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionResource]*memberInformer
	// written holds the objects the agent's applies returned while the cache
	// still shows the version the apply replaced, so the next read does not
	// take the cache's older copy for drift.
	written map[Ref]writtenObject
}

type memberInformer struct {
	informer cache.SharedIndexInformer
	started  time.Time
}

type writtenObject struct {
	replaced string
	obj      *unstructured.Unstructured
}

// NewDynamicMember returns a Member on client. changed is called with every
// member object an informer sees change, synced with a resource whose
// informer has filled. Informers run until ctx ends.
func NewDynamicMember(ctx context.Context, client dynamic.Interface, changed func(Ref), synced func(schema.GroupVersionResource)) *DynamicMember {
	return &DynamicMember{
		client: client, changed: changed, synced: synced, ctx: ctx,
		informers: map[schema.GroupVersionResource]*memberInformer{},
		written:   map[Ref]writtenObject{},
	}
}

// NewUncachedMember returns a Member on client that reads with GETs and
// runs no informers: for a sweep of the member at exit.
func NewUncachedMember(client dynamic.Interface) *DynamicMember {
	return &DynamicMember{client: client, uncached: true, written: map[Ref]writtenObject{}}
}

// Watch starts the informer of resource if it does not run yet.
func (m *DynamicMember) Watch(resource schema.GroupVersionResource) {
	if m.uncached {
		return
	}
	m.informerFor(resource)
}

// WaitForCaches waits until the informers started so far have filled, at
// most until ctx ends.
func (m *DynamicMember) WaitForCaches(ctx context.Context) {
	if m.uncached {
		return
	}
	m.mu.Lock()
	var synced []cache.InformerSynced
	for _, inf := range m.informers {
		synced = append(synced, inf.informer.HasSynced)
	}
	m.mu.Unlock()
	cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Get implements Member.
func (m *DynamicMember) Get(ctx context.Context, ref Ref) (*unstructured.Unstructured, error) {
	if m.uncached {
		return m.get(ctx, ref)
	}
	inf := m.informerFor(ref.Resource)
	if !inf.informer.HasSynced() {
		if wait := time.Until(inf.started.Add(memberSyncGrace)); wait > 0 {
			waitCtx, cancel := context.WithTimeout(ctx, wait)
			cache.WaitForCacheSync(waitCtx.Done(), inf.informer.HasSynced)
			cancel()
		}
	}
	if inf.informer.HasSynced() {
		item, exists, err := inf.informer.GetIndexer().GetByKey(cacheKey(ref))
		if err == nil && exists {
			if obj, ok := item.(*unstructured.Unstructured); ok {
				return m.fresher(ref, obj), nil
			}
		}
	}
	return m.get(ctx, ref)
}

func (m *DynamicMember) get(ctx context.Context, ref Ref) (*unstructured.Unstructured, error) {
	obj, err := m.resource(ref).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// Apply implements Member.
func (m *DynamicMember) Apply(ctx context.Context, ref Ref, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	replaced := ""
	if inf := m.existing(ref.Resource); inf != nil {
		if item, exists, _ := inf.informer.GetIndexer().GetByKey(cacheKey(ref)); exists {
			if cached, ok := item.(*unstructured.Unstructured); ok {
				replaced = cached.GetResourceVersion()
			}
		}
	}
	applied, err := m.resource(ref).Apply(ctx, ref.Name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return nil, err
	}
	if replaced != "" && replaced != applied.GetResourceVersion() {
		m.mu.Lock()
		m.written[ref] = writtenObject{replaced: replaced, obj: applied}
		m.mu.Unlock()
	}
	return applied, nil
}

// Delete implements Member.
func (m *DynamicMember) Delete(ctx context.Context, ref Ref, uid string, opts metav1.DeleteOptions) (bool, error) {
	if opts.Preconditions == nil && uid != "" {
		// Never delete an object created again under the same name since.
		opts.Preconditions = &metav1.Preconditions{UID: ptr.To(types.UID(uid))}
	}
	err := m.resource(ref).Delete(ctx, ref.Name, opts)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case apierrors.IsConflict(err):
		// The precondition failed: the object we saw is gone.
		return true, nil
	case err != nil:
		return false, err
	}
	obj, err := m.resource(ref).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, err
	}
	return uid != "" && string(obj.GetUID()) != uid, nil
}

// Unmanage implements Member.
func (m *DynamicMember) Unmanage(ctx context.Context, ref Ref) error {
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"labels": map[string]interface{}{managedLabel: nil}},
	})
	if err != nil {
		return err
	}
	_, err = m.resource(ref).Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	return err
}

// Forget drops what the member keeps about ref.
func (m *DynamicMember) Forget(ref Ref) {
	m.mu.Lock()
	delete(m.written, ref)
	m.mu.Unlock()
}

// fresher returns the object the agent's last apply returned while the
// cache still holds the version it replaced.
func (m *DynamicMember) fresher(ref Ref, cached *unstructured.Unstructured) *unstructured.Unstructured {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.written[ref]
	if !ok {
		return cached
	}
	if cached.GetResourceVersion() == w.replaced {
		return w.obj
	}
	delete(m.written, ref)
	return cached
}

func (m *DynamicMember) resource(ref Ref) dynamic.ResourceInterface {
	if ref.Namespace == "" {
		return m.client.Resource(ref.Resource)
	}
	return m.client.Resource(ref.Resource).Namespace(ref.Namespace)
}

func (m *DynamicMember) existing(resource schema.GroupVersionResource) *memberInformer {
	if m.uncached {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.informers[resource]
}

func (m *DynamicMember) informerFor(resource schema.GroupVersionResource) *memberInformer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inf, ok := m.informers[resource]; ok {
		return inf
	}
	informer := dynamicinformer.NewFilteredDynamicInformer(m.client, resource, metav1.NamespaceAll, 0,
		cache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = managedLabel + "=true" }).Informer()
	_ = informer.SetTransform(reconciler.StripManagedFields)
	notify := func(obj interface{}) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		o, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		ref := Ref{Resource: resource, Namespace: o.GetNamespace(), Name: o.GetName()}
		if m.changed != nil {
			m.changed(ref)
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj interface{}) { notify(obj) },
		DeleteFunc: notify,
	})
	inf := &memberInformer{informer: informer, started: time.Now()}
	m.informers[resource] = inf
	klog.FromContext(m.ctx).V(2).Info("Watching managed member objects", "resource", resource.String())
	go informer.Run(m.ctx.Done())
	go func() {
		if cache.WaitForCacheSync(m.ctx.Done(), informer.HasSynced) && m.synced != nil {
			m.synced(resource)
		}
	}()
	return inf
}

func cacheKey(ref Ref) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return ref.Namespace + "/" + ref.Name
}
