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
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/core/v1beta1"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ControllerName names the propagation controllers in logs, events and --controllers.
const ControllerName = "propagation"

// Tuning sets how hard propagation may drive fedhub and the members.
type Tuning struct {
	// MemberQPS and MemberBurst limit the requests to each member, per
	// member and shared by every type (client-go's token bucket).
	MemberQPS   float32
	MemberBurst int
	// WorkersPerType is how many federated objects of one type reconcile at
	// once; each reconcile writes to its clusters in parallel.
	WorkersPerType int
	// EventQPS and EventBurst limit the Normal events propagation records
	// (one per reconcile that writes to members), for all types together;
	// EventQPS 0 records them all. Warnings are never limited.
	EventQPS   float32
	EventBurst int
}

// DefaultTuning is what fedhub-apiserver's flags default to. make bench
// on 2 cores with 3 members: 4 workers at 50 QPS made about 200 member
// objects/s, 16 workers without the QPS limit binding about 450-600/s, where
// fedhub's own CPU is the limit; a member's priority and fairness still
// protects it from a federation that asks too much.
func DefaultTuning() Tuning {
	return Tuning{MemberQPS: 500, MemberBurst: 1000, WorkersPerType: 16, EventQPS: 10, EventBurst: 100}
}

// typeStatusRetry is how long the manager waits before writing FTC statuses
// again after a write failed.
const typeStatusRetry = 2 * time.Second

// Manager runs one TypeController per FederatedTypeConfig: one that
// propagates while the FTC's propagation is enabled, one that only carries
// out deletions while it is disabled (so that a delete never waits on the
// finalizer for a type nobody propagates), and none once the FTC is deleted.
type Manager struct {
	namespace   string
	fedhub      dynamic.Interface
	typeStatus  fedclient.FederatedTypeConfigsGetter
	typeConfigs fedlisters.FederatedTypeConfigLister
	configs     fedlisters.KubeFedConfigLister
	clusters    *ClusterSet
	recorder    record.EventRecorder
	synced      []cache.InformerSynced
	changes     chan struct{}
	// backoff spaces the attempts to run a type whose controller panicked.
	backoff workqueue.TypedRateLimiter[string]
	// deps lets workloads and the objects they name reach each other's controllers.
	deps *dependencyHub

	mu      sync.Mutex
	running map[string]*runningType
}

type runningType struct {
	spec corev1beta1.FederatedTypeConfigSpec
	// propagating is false for a controller that only handles deletions.
	propagating bool
	controller  *TypeController
	cancel      context.CancelFunc
	done        chan struct{}
}

// NewManager wires the manager to its informers; typeStatus writes the
// FederatedTypeConfigs' status.
func NewManager(namespace string, fedhub dynamic.Interface, typeStatus fedclient.FederatedTypeConfigsGetter,
	typeConfigs fedinformers.FederatedTypeConfigInformer, configs fedinformers.KubeFedConfigInformer,
	clusters *ClusterSet, recorder record.EventRecorder) (*Manager, error) {
	m := &Manager{namespace: namespace, fedhub: fedhub, typeStatus: typeStatus, typeConfigs: typeConfigs.Lister(),
		configs: configs.Lister(), clusters: clusters, recorder: recorder, changes: make(chan struct{}, 1),
		running: map[string]*runningType{},
		backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute),
		synced:  []cache.InformerSynced{typeConfigs.Informer().HasSynced, configs.Informer().HasSynced}}
	// Without a host (standalone) fedhub has no Secrets to read and runs no admission.
	m.deps = newDependencyHub(m.propagatingControllers, clusters != nil && clusters.secrets == nil)
	changed := func(any) { m.changed() }
	if _, err := typeConfigs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: changed, UpdateFunc: func(_, obj any) { changed(obj) }, DeleteFunc: changed,
	}); err != nil {
		return nil, err
	}
	// Turning adoption on or off applies to objects already reconciled: one
	// that found its member object there, unmanaged, is adopted now.
	settingsChanged := func(any) { m.enqueueAll() }
	if _, err := configs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: settingsChanged, DeleteFunc: settingsChanged,
		UpdateFunc: func(old, obj any) {
			o, oldOK := old.(*corev1beta1.KubeFedConfig)
			n, newOK := obj.(*corev1beta1.KubeFedConfig)
			if !oldOK || !newOK || adoption(o) != adoption(n) {
				m.enqueueAll()
			}
		},
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// enqueueAll queues every object of every running type. It does so without
// holding the manager's lock: queuing a FederatedNamespace calls back into
// the manager (namespaceChanged).
func (m *Manager) enqueueAll() {
	m.mu.Lock()
	controllers := make([]*TypeController, 0, len(m.running))
	for _, r := range m.running {
		controllers = append(controllers, r.controller)
	}
	m.mu.Unlock()
	for _, controller := range controllers {
		controller.EnqueueAll()
	}
}

// changed asks Run to bring the controllers and FTC statuses in line again.
func (m *Manager) changed() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
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
		if err := m.reportTypes(ctx); err != nil {
			logger.Error(err, "Writing the status of FederatedTypeConfigs failed; retrying")
			time.AfterFunc(typeStatusRetry, m.changed)
		}
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
		wanted[tc.Name] = tc
	}
	var stopped []*runningType
	// Workers of a stopping controller may wait for m.mu (namespacePlacement):
	// wait for them only once it is released, which the deferred Unlock
	// below, run first, does.
	defer func() {
		for _, r := range stopped {
			<-r.done
			m.deps.stopped(r.controller)
		}
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, r := range m.running {
		if tc, ok := wanted[name]; !ok || !equality.Semantic.DeepEqual(tc.Spec, r.spec) {
			r.cancel()
			m.backoff.Forget(name)
			stopped = append(stopped, r)
			delete(m.running, name)
			runningControllers.DeleteLabelValues(r.controller.federated.Resource)
			klog.FromContext(ctx).V(2).Info("Stopped the type's controller", "type", name, "propagating", r.propagating)
		}
	}
	for name, tc := range wanted {
		if _, ok := m.running[name]; ok {
			continue
		}
		if p := reconciler.Catch(func() { m.start(ctx, tc) }); p != nil {
			m.typePanicked(ctx, tc, p)
		}
	}
}

// start runs the controller of a type, propagating or handling deletions
// only as its propagation asks; m.mu is held. A controller that
// panics outside its workers (which recover their own panics) is reported
// and, after backoff, started again: one FederatedTypeConfig fedhub cannot
// handle must stop neither fedhub nor the other types.
func (m *Manager) start(ctx context.Context, tc *corev1beta1.FederatedTypeConfig) {
	propagating := tc.Spec.Propagation == corev1beta1.PropagationEnabled
	controller := NewTypeController(tc.DeepCopy(), m.fedhub, m.clusters, m.namespacePlacement, m.adoptResources, m.recorder)
	controller.deletionOnly = !propagating
	if propagating {
		controller.deps = m.deps
		m.deps.starting(controller)
	}
	if propagating && isNamespaceKind(controller.targetKind) {
		controller.onChange = m.namespaceChanged
	}
	typeCtx, cancel := context.WithCancel(ctx)
	r := &runningType{spec: *tc.Spec.DeepCopy(), propagating: propagating, controller: controller, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		p := reconciler.Catch(func() { controller.Run(typeCtx, m.clusters.tuning.WorkersPerType) })
		if p == nil {
			return
		}
		cancel()
		m.mu.Lock()
		if m.running[tc.Name] == r {
			delete(m.running, tc.Name)
			runningControllers.DeleteLabelValues(controller.federated.Resource)
		}
		m.mu.Unlock()
		m.deps.stopped(controller)
		m.typePanicked(ctx, tc, p)
	}()
	m.running[tc.Name] = r
	if !propagating {
		klog.FromContext(ctx).V(2).Info("Handling deletions only: propagation is disabled", "type", tc.Name)
		return
	}
	runningControllers.WithLabelValues(controller.federated.Resource).Set(1)
	klog.FromContext(ctx).V(2).Info("Propagating", "type", tc.Name)
}

// typePanicked reports that starting or running the controller of a type
// panicked, as a Warning event on its FederatedTypeConfig (whose status has
// no conditions), and looks at the types again after backoff.
func (m *Manager) typePanicked(ctx context.Context, tc *corev1beta1.FederatedTypeConfig, p *reconciler.Panic) {
	reconciler.HandlePanic(ctx, ControllerName, tc.Name, p, func(_ context.Context, message string) error {
		m.recorder.Event(tc, corev1.EventTypeWarning, reconciler.ReasonReconcileError, message)
		return nil
	})
	time.AfterFunc(m.backoff.When(tc.Name), m.changed)
}

// reportTypes writes each FederatedTypeConfig's status as KubeFed did: the
// generation acted on and whether its controllers run, so a user sees with
// kubectl that disabling a type took effect. It writes only what changed.
func (m *Manager) reportTypes(ctx context.Context) error {
	typeConfigs, err := m.typeConfigs.FederatedTypeConfigs(m.namespace).List(everything)
	if err != nil {
		return err
	}
	m.mu.Lock()
	running := map[string]bool{}
	for name, r := range m.running {
		running[name] = r.propagating
	}
	m.mu.Unlock()
	var errs []error
	for _, tc := range typeConfigs {
		status := typeStatus(tc, running[tc.Name])
		if equality.Semantic.DeepEqual(status, tc.Status) {
			continue
		}
		update := tc.DeepCopy()
		update.Status = status
		if _, err := m.typeStatus.FederatedTypeConfigs(m.namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("FederatedTypeConfig %s: %w", tc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// typeStatus is the status of a FederatedTypeConfig whose propagation
// controller runs or not. Members' status is collected by the same
// controller, so the status controller runs exactly when it runs and the
// type asks for status collection.
func typeStatus(tc *corev1beta1.FederatedTypeConfig, running bool) corev1beta1.FederatedTypeConfigStatus {
	state := func(on bool) corev1beta1.ControllerStatus {
		if on {
			return corev1beta1.ControllerStatusRunning
		}
		return corev1beta1.ControllerStatusNotRunning
	}
	status := corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: tc.Generation, PropagationController: state(running)}
	if collect := tc.Spec.StatusCollection; collect != nil {
		statusController := state(running && *collect == corev1beta1.StatusCollectionEnabled)
		status.StatusController = &statusController
	}
	return status
}

// namespacePlacement finds the FederatedNamespace of a namespace through the
// controller of the namespaces type; without one, namespaces are not federated.
// Until that controller knows every FederatedNamespace it answers with an
// error: an unknown namespace placement must not read as "place nowhere".
func (m *Manager) namespacePlacement(namespace string) (*unstructured.Unstructured, bool, error) {
	m.mu.Lock()
	var namespaces *TypeController
	for _, r := range m.running {
		if r.propagating && isNamespaceKind(r.controller.targetKind) {
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

// propagatingControllers are the running controllers that propagate.
func (m *Manager) propagatingControllers() []*TypeController {
	m.mu.Lock()
	defer m.mu.Unlock()
	var controllers []*TypeController
	for _, r := range m.running {
		if r.propagating {
			controllers = append(controllers, r.controller)
		}
	}
	return controllers
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
	if err != nil {
		return true
	}
	return adoption(config)
}

// adoption is whether a KubeFedConfig lets propagation adopt existing objects.
func adoption(config *corev1beta1.KubeFedConfig) bool {
	if config.Spec.SyncController == nil || config.Spec.SyncController.AdoptResources == nil {
		return true
	}
	return *config.Spec.SyncController.AdoptResources != corev1beta1.AdoptResourcesDisabled
}
