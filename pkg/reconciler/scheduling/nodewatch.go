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

package scheduling

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// nodeWatch follows a member's nodes and records when they last gained
// room: a node added, made schedulable or Ready, untainted, or given more
// allocatable pods, CPU or memory.
type nodeWatch struct {
	cancel context.CancelFunc

	mu   sync.Mutex
	grew time.Time
}

// startNodeWatch watches the member's nodes until ctx ends or stop is
// called; grew is called whenever they gain room.
func startNodeWatch(ctx context.Context, client kubernetes.Interface, grew func()) *nodeWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &nodeWatch{cancel: cancel}
	nodes := client.CoreV1().Nodes()
	// Through the typed client, which says whether it can stream the
	// initial list (a fake cannot).
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			return nodes.List(ctx, options)
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			return nodes.Watch(ctx, options)
		},
	}, client)
	informer := cache.NewSharedIndexInformer(lw, &corev1.Node{}, 0, cache.Indexers{})
	// Only what room depends on is kept: a node's images and volumes can
	// be large, and a member may have thousands of nodes.
	_ = informer.SetTransform(trimNode)
	mark := func() {
		w.mu.Lock()
		w.grew = time.Now()
		w.mu.Unlock()
		grew()
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if node, ok := obj.(*corev1.Node); ok && !initial && hasRoom(node) {
				mark()
			}
		},
		UpdateFunc: func(old, obj any) {
			before, okBefore := old.(*corev1.Node)
			after, okAfter := obj.(*corev1.Node)
			if okBefore && okAfter && roomGrew(before, after) {
				mark()
			}
		},
	})
	go informer.RunWithContext(ctx)
	return w
}

func (w *nodeWatch) stop() { w.cancel() }

func (w *nodeWatch) grewAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.grew
}

// trimNode keeps the fields hasRoom and roomGrew read.
func trimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil // a tombstone: nothing to trim
	}
	trimmed := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, ResourceVersion: node.ResourceVersion, UID: node.UID},
		Spec:       corev1.NodeSpec{Unschedulable: node.Spec.Unschedulable, Taints: node.Spec.Taints},
		Status:     corev1.NodeStatus{Allocatable: node.Status.Allocatable},
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			trimmed.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	return trimmed, nil
}

// hasRoom says whether the scheduler may place pods on the node at all.
func hasRoom(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return false
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// roomGrew says whether a node's update may let pods in that did not fit
// before.
func roomGrew(before, after *corev1.Node) bool {
	if !hasRoom(after) {
		return false
	}
	if !hasRoom(before) || blockingTaints(after) < blockingTaints(before) {
		return true
	}
	for _, name := range []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory} {
		was, is := before.Status.Allocatable[name], after.Status.Allocatable[name]
		if is.Cmp(was) > 0 {
			return true
		}
	}
	return false
}

// blockingTaints counts the taints that keep new pods off the node.
func blockingTaints(node *corev1.Node) int {
	n := 0
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			n++
		}
	}
	return n
}

// WatchNodeRoom follows a member's nodes until ctx ends, as fedhub does for
// a push member with an estimate, and returns when they last gained room
// (zero until they do); grew is called each time. A pull member's agent
// runs one and reports it in its ClusterRegistration.
func WatchNodeRoom(ctx context.Context, client kubernetes.Interface, grew func()) (grewAt func() time.Time) {
	return startNodeWatch(ctx, client, grew).grewAt
}
