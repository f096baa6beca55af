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

package agent

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/join"
)

// unjoinOrphan is the value of join.UnjoinAnnotation that keeps the member
// objects, without their managed label; any other value deletes them.
const unjoinOrphan = "orphan"

// unjoin is what the agent learned of its registration's end.
type unjoin struct {
	// orphan keeps the member objects instead of deleting them.
	orphan bool
	// known is false when the registration went without the agent seeing its
	// last state, so what was asked cannot be known.
	known bool
	// mode is the annotation's value, for the log.
	mode string
}

// registrationWatch watches the agent's own ClusterRegistration (the only
// one it may watch) and tells once when it is being deleted or is gone.
type registrationWatch struct {
	informer cache.SharedIndexInformer
	lister   agentlisters.ClusterRegistrationNamespaceLister
	handler  cache.ResourceEventHandlerFuncs
	ended    chan unjoin
	once     sync.Once
}

func newRegistrationWatch(hub versioned.Interface, namespace, name string) *registrationWatch {
	w := &registrationWatch{ended: make(chan unjoin, 1)}
	w.informer = agentinformers.NewFilteredClusterRegistrationInformer(hub, namespace, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		})
	w.lister = agentlisters.NewClusterRegistrationLister(w.informer.GetIndexer()).ClusterRegistrations(namespace)
	seen := func(obj interface{}) {
		if reg, ok := obj.(*agentv1alpha1.ClusterRegistration); ok && reg.Name == name && reg.DeletionTimestamp != nil {
			w.end(unjoinOf(reg, true))
		}
	}
	w.handler = cache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, obj interface{}) { seen(obj) },
		DeleteFunc: func(obj interface{}) {
			switch o := obj.(type) {
			case *agentv1alpha1.ClusterRegistration:
				w.end(unjoinOf(o, true))
			case cache.DeletedFinalStateUnknown:
				// The last state was missed: only an annotation seen before
				// says what was asked.
				reg, ok := o.Obj.(*agentv1alpha1.ClusterRegistration)
				if !ok {
					w.end(unjoin{})
					return
				}
				_, annotated := reg.Annotations[join.UnjoinAnnotation]
				w.end(unjoinOf(reg, annotated))
			}
		},
	}
	_, _ = w.informer.AddEventHandler(w.handler)
	return w
}

func unjoinOf(reg *agentv1alpha1.ClusterRegistration, known bool) unjoin {
	mode := reg.GetAnnotations()[join.UnjoinAnnotation]
	return unjoin{orphan: mode == unjoinOrphan, known: known, mode: mode}
}

func (w *registrationWatch) end(u unjoin) {
	w.once.Do(func() { w.ended <- u })
}
