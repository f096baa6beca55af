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
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
)

// TestManagerSurvivesTypeTogglesUnderLoad disables and enables the
// configmaps type again and again while every FederatedConfigMap is being
// reconciled without pause, each reconcile asking the manager for its
// namespace's placement. Stopping a type must not wait for its workers
// while holding the lock those workers need: the manager would hang for
// good (before d57b937 it did, within a few toggles).
func TestManagerSurvivesTypeTogglesUnderLoad(t *testing.T) {
	const (
		namespace  = "kube-federation-system"
		configMaps = 300
		toggles    = 40
	)
	ftc := func(plural, kind string, scope corev1beta1.ResourceScope) *corev1beta1.FederatedTypeConfig {
		return &corev1beta1.FederatedTypeConfig{ObjectMeta: metav1.ObjectMeta{Name: plural, Namespace: namespace},
			Spec: corev1beta1.FederatedTypeConfigSpec{Propagation: corev1beta1.PropagationEnabled,
				TargetType: corev1beta1.APIResource{Version: "v1", Kind: kind, PluralName: plural, Scope: scope},
				FederatedType: corev1beta1.APIResource{Group: "types.kubefed.io", Version: "v1beta1", Kind: "Federated" + kind,
					PluralName: "federated" + plural, Scope: corev1beta1.NamespaceScoped}}}
	}
	namespacesType := ftc("namespaces", "Namespace", corev1beta1.ClusterScoped)
	configMapsType := ftc("configmaps", "ConfigMap", corev1beta1.NamespaceScoped)

	client := fedfake.NewSimpleClientset()
	factory := fedinformers.NewSharedInformerFactory(client, 0)
	typeConfigs := factory.Core().V1beta1().FederatedTypeConfigs().Informer().GetIndexer()
	for _, tc := range []*corev1beta1.FederatedTypeConfig{namespacesType, configMapsType} {
		if err := typeConfigs.Add(tc); err != nil {
			t.Fatal(err)
		}
	}
	federated := func(gvr schema.GroupVersionResource, kind, name string) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvr.GroupVersion().WithKind(kind))
		obj.SetNamespace("demo")
		obj.SetName(name)
		obj.SetFinalizers([]string{Finalizer})
		obj.Object["spec"] = map[string]any{"placement": map[string]any{"clusterSelector": map[string]any{}}}
		return obj
	}
	namespacesGVR := namespacesType.Spec.FederatedType.GroupVersionResource()
	configMapsGVR := configMapsType.Spec.FederatedType.GroupVersionResource()
	objects := []runtime.Object{federated(namespacesGVR, "FederatedNamespace", "demo")}
	for i := range configMaps {
		objects = append(objects, federated(configMapsGVR, "FederatedConfigMap", fmt.Sprintf("cm-%d", i)))
	}
	fedhub := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{namespacesGVR: "FederatedNamespaceList", configMapsGVR: "FederatedConfigMapList"}, objects...)
	// Status writes are taken and dropped: stored, each would be a watch
	// event, and the fake's watch panics ("channel full") when a new
	// informer's watch starts behind more than 100 of them.
	fedhub.PrependReactor("update", "*", func(action clienttesting.Action) (bool, runtime.Object, error) {
		update, ok := action.(clienttesting.UpdateAction)
		if !ok || update.GetSubresource() != "status" {
			return false, nil, nil
		}
		return true, update.GetObject(), nil
	})
	clusters := &ClusterSet{namespace: namespace, clusters: fedlisters.NewKubeFedClusterLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})),
		clients: map[string]memberClient{}, listeners: map[int]func(){}, tuning: Tuning{WorkersPerType: 16}}
	m, err := NewManager(namespace, fedhub, client.CoreV1beta1(), factory.Core().V1beta1().FederatedTypeConfigs(),
		factory.Core().V1beta1().KubeFedConfigs(), clusters, &record.FakeRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.Discard()))
	// Not waited for when the manager is wedged: the load would wait for
	// its lock too.
	defer cancel()
	var load sync.WaitGroup

	// syncTypes must return, or the manager never follows an FTC again.
	syncTypes := func(what string) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.syncTypes(ctx)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the manager is wedged; stopping a type waits for workers that wait for the manager's lock", what)
		}
	}
	// working returns the controller of the configmaps type once its
	// workers run (it has looked at the members, which it does just before
	// starting them).
	working := func(controller *TypeController) bool {
		if controller == nil {
			return false
		}
		controller.mu.Lock()
		defer controller.mu.Unlock()
		return controller.knownClusters != nil
	}
	running := func() *TypeController {
		t.Helper()
		var controller *TypeController
		deadline := time.Now().Add(30 * time.Second)
		for !working(controller) {
			if time.Now().After(deadline) {
				t.Fatalf("the configmaps controller did not start")
			}
			time.Sleep(10 * time.Millisecond)
			m.mu.Lock()
			if r, ok := m.running["configmaps"]; ok {
				controller = r.controller
			}
			m.mu.Unlock()
		}
		return controller
	}

	syncTypes("starting")
	// The load: every object queued again and again, as a KubeFedConfig
	// change or a cluster change does.
	load.Go(func() {
		for ctx.Err() == nil {
			m.enqueueAll()
			time.Sleep(time.Millisecond)
		}
	})
	for i := range toggles {
		controller := running()
		// Busy: the workers are reconciling, each asking for the namespace's placement.
		for controller.queue.Len() == 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		propagation := corev1beta1.PropagationDisabled
		if i%2 == 1 {
			propagation = corev1beta1.PropagationEnabled
		}
		toggled := configMapsType.DeepCopy()
		toggled.Spec.Propagation = propagation
		if err := typeConfigs.Update(toggled); err != nil {
			t.Fatal(err)
		}
		syncTypes(fmt.Sprintf("toggle %d to %s", i+1, propagation))
	}
	cancel()
	load.Wait()
	m.mu.Lock()
	stopping := m.running
	m.running = map[string]*runningType{}
	m.mu.Unlock()
	for _, r := range stopping {
		r.cancel()
		<-r.done
	}
}
