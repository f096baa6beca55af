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

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
)

// ControllerName names the propagation controllers in logs, events and --controllers.
const ControllerName = "propagation"

// workersPerType is how many federated objects of one type reconcile at once.
const workersPerType = 4

// Manager runs one TypeController per FederatedTypeConfig whose propagation
// is enabled, and stops it when the FTC is disabled or deleted.
type Manager struct {
	namespace   string
	fedhub      dynamic.Interface
	typeConfigs fedlisters.FederatedTypeConfigLister
	configs     fedlisters.KubeFedConfigLister
	clusters    *ClusterSet
	recorder    record.EventRecorder
	synced      []cache.InformerSynced
	changes     chan struct{}

	mu      sync.Mutex
	running map[string]*runningType
}

type runningType struct {
	spec       corev1beta1.FederatedTypeConfigSpec
	controller *TypeController
	cancel     context.CancelFunc
	done       chan struct{}
}

// NewManager wires the manager to its informers.
func NewManager(namespace string, fedhub dynamic.Interface, typeConfigs fedinformers.FederatedTypeConfigInformer,
	configs fedinformers.KubeFedConfigInformer, clusters *ClusterSet, recorder record.EventRecorder) (*Manager, error) {
	m := &Manager{namespace: namespace, fedhub: fedhub, typeConfigs: typeConfigs.Lister(), configs: configs.Lister(),
		clusters: clusters, recorder: recorder, changes: make(chan struct{}, 1), running: map[string]*runningType{},
		synced: []cache.InformerSynced{typeConfigs.Informer().HasSynced, configs.Informer().HasSynced}}
	changed := func(any) {
		select {
		case m.changes <- struct{}{}:
		default:
		}
	}
	if _, err := typeConfigs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: changed, UpdateFunc: func(_, obj any) { changed(obj) }, DeleteFunc: changed,
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// Run starts and stops type controllers as the FTCs change, until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForCacheSync(ctx.Done(), m.synced...) {
		return
	}
	for {
		m.syncTypes(ctx)
		select {
		case <-ctx.Done():
			m.mu.Lock()
			running := m.running
			m.running = map[string]*runningType{}
			m.mu.Unlock()
			for _, r := range running {
				r.cancel()
				<-r.done
			}
			return
		case <-m.changes:
		}
	}
}

func (m *Manager) syncTypes(ctx context.Context) {
	typeConfigs, _ := m.typeConfigs.FederatedTypeConfigs(m.namespace).List(everything)
	wanted := map[string]*corev1beta1.FederatedTypeConfig{}
	for _, tc := range typeConfigs {
		if tc.Spec.Propagation == corev1beta1.PropagationEnabled {
			wanted[tc.Name] = tc
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var stopped []*runningType
	for name, r := range m.running {
		if tc, ok := wanted[name]; !ok || !equality.Semantic.DeepEqual(tc.Spec, r.spec) {
			r.cancel()
			stopped = append(stopped, r)
			delete(m.running, name)
			klog.FromContext(ctx).V(2).Info("Stopped propagating", "type", name)
		}
	}
	// Workers of a stopping controller may wait for m.mu (namespacePlacement):
	// wait for them only once it is released.
	defer func() {
		for _, r := range stopped {
			<-r.done
		}
	}()
	for name, tc := range wanted {
		if _, ok := m.running[name]; ok {
			continue
		}
		controller := NewTypeController(tc.DeepCopy(), m.fedhub, m.clusters, m.namespacePlacement, m.adoptResources, m.recorder)
		if isNamespaceKind(controller.targetKind) {
			controller.onChange = m.namespaceChanged
		}
		typeCtx, cancel := context.WithCancel(ctx)
		r := &runningType{spec: *tc.Spec.DeepCopy(), controller: controller, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			controller.Run(typeCtx, workersPerType)
		}()
		m.running[name] = r
		klog.FromContext(ctx).V(2).Info("Propagating", "type", name)
	}
}

// namespacePlacement finds the FederatedNamespace of a namespace through the
// controller of the namespaces type; without one, namespaces are not federated.
// Until that controller knows every FederatedNamespace it answers with an
// error: an unknown namespace placement must not read as "place nowhere".
func (m *Manager) namespacePlacement(namespace string) (*unstructured.Unstructured, bool, error) {
	m.mu.Lock()
	var namespaces *TypeController
	for _, r := range m.running {
		if isNamespaceKind(r.controller.targetKind) {
			namespaces = r.controller
		}
	}
	m.mu.Unlock()
	if namespaces == nil {
		return nil, false, nil
	}
	if !namespaces.hasSynced() {
		return nil, true, fmt.Errorf("the FederatedNamespaces are not known yet")
	}
	obj, err := namespaces.federatedObject(namespace + "/" + namespace)
	return obj, true, err
}

// namespaceChanged requeues the objects whose placement a FederatedNamespace bounds.
func (m *Manager) namespaceChanged(namespace string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.running {
		r.controller.EnqueueNamespace(namespace)
	}
}

// adoptResources follows KubeFedConfig kubefed's syncController.adoptResources (default Enabled).
func (m *Manager) adoptResources() bool {
	config, err := m.configs.KubeFedConfigs(m.namespace).Get("kubefed")
	if err != nil || config.Spec.SyncController == nil || config.Spec.SyncController.AdoptResources == nil {
		return true
	}
	return *config.Spec.SyncController.AdoptResources != corev1beta1.AdoptResourcesDisabled
}
