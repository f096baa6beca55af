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
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler/reconcilertest"
)

// maxFuzzTypeConfigs bounds the controllers one input starts.
const maxFuzzTypeConfigs = 4

// FuzzManagerTypeConfigs gives the propagation manager FederatedTypeConfigs
// whose typed fields are fuzzed (decoded from JSON: empty or odd names,
// groups, versions, kinds and plurals, any scope, propagation and
// statusCollection, pointers nil or not) and a fuzzed KubeFedConfig, and has
// it start the types' controllers, write the FTCs' status and stop them.
// Nothing may panic, no controller may be reported as having panicked (the
// manager recovers such a panic), and each FTC stored reports its controller
// Running exactly when its propagation is Enabled.
func FuzzManagerTypeConfigs(f *testing.F) {
	f.Add([]byte(`[{"metadata":{"name":"deployments.apps"},"spec":{"propagation":"Enabled","statusCollection":"Enabled",`+
		`"targetType":{"group":"apps","version":"v1","kind":"Deployment","pluralName":"deployments","scope":"Namespaced"},`+
		`"federatedType":{"group":"types.kubefed.io","version":"v1beta1","kind":"FederatedDeployment","pluralName":"federateddeployments","scope":"Namespaced"}}}]`),
		[]byte(`{"spec":{"syncController":{"adoptResources":"Disabled"}}}`))
	f.Fuzz(func(t *testing.T, typeConfigsJSON, configJSON []byte) {
		var typeConfigs []corev1beta1.FederatedTypeConfig
		if err := json.Unmarshal(typeConfigsJSON, &typeConfigs); err != nil {
			return // not FederatedTypeConfigs at all: the API server refuses them
		}
		var config corev1beta1.KubeFedConfig
		_ = json.Unmarshal(configJSON, &config) // what does not decode stays empty

		const namespace = "kube-federation-system"
		client := fedfake.NewSimpleClientset()
		factory := fedinformers.NewSharedInformerFactory(client, 0)
		served := map[schema.GroupVersionResource]string{}
		stored := map[string]bool{}
		for i := range typeConfigs {
			tc := &typeConfigs[i]
			tc.Namespace = namespace
			if stored[tc.Name] || len(stored) == maxFuzzTypeConfigs {
				continue
			}
			stored[tc.Name] = true
			if err := client.Tracker().Add(tc); err != nil {
				t.Fatal(err)
			}
			_ = factory.Core().V1beta1().FederatedTypeConfigs().Informer().GetIndexer().Add(tc)
			if federated := tc.Spec.FederatedType; federated.Version != "" {
				served[federated.GroupVersionResource()] = federated.Kind + "List"
			}
		}
		config.Name, config.Namespace = "kubefed", namespace
		_ = factory.Core().V1beta1().KubeFedConfigs().Informer().GetIndexer().Add(&config)

		clusters := &ClusterSet{namespace: namespace, clusters: fedlisters.NewKubeFedClusterLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})),
			clients: map[string]memberClient{}, listeners: map[int]func(){}, tuning: Tuning{WorkersPerType: 1}}
		recorder := record.NewFakeRecorder(100)
		fedhub := fuzzServer{Interface: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), served), served: served}
		m, err := NewManager(namespace, fedhub, client.CoreV1beta1(), factory.Core().V1beta1().FederatedTypeConfigs(),
			factory.Core().V1beta1().KubeFedConfigs(), clusters, recorder)
		if err != nil {
			t.Fatal(err)
		}

		// The controllers stop as soon as they start: what is fuzzed is how
		// the manager and a controller's start read the FTCs.
		ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.Discard()))
		cancel()
		m.syncTypes(ctx)
		_ = m.reportTypes(ctx)
		_ = m.adoptResources()
		m.mu.Lock()
		running := m.running
		m.running = map[string]*runningType{}
		m.mu.Unlock()
		for _, r := range running {
			r.cancel()
			<-r.done
		}

		reconcilertest.NoPanicReported(t, recorder)
		for name := range stored {
			tc, err := client.CoreV1beta1().FederatedTypeConfigs(namespace).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := corev1beta1.ControllerStatusNotRunning
			if tc.Spec.Propagation == corev1beta1.PropagationEnabled {
				want = corev1beta1.ControllerStatusRunning
			}
			if tc.Status.PropagationController != want {
				t.Errorf("FederatedTypeConfig %q with propagation %q reports %q, want %q", name, tc.Spec.Propagation, tc.Status.PropagationController, want)
			}
		}
	})
}

// fuzzServer serves the resources in served from a fake, and answers
// NotFound for any other, as fedhub does for a type it does not serve. (The
// fake cannot hold a resource without a version at all.)
type fuzzServer struct {
	dynamic.Interface
	served map[schema.GroupVersionResource]string
}

func (s fuzzServer) Resource(resource schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	if _, ok := s.served[resource]; ok {
		return s.Interface.Resource(resource)
	}
	return notServed{resource: resource}
}

// notServed is a resource fedhub does not serve; only what a controller
// calls before it knows that is implemented.
type notServed struct {
	dynamic.NamespaceableResourceInterface
	resource schema.GroupVersionResource
}

func (n notServed) Namespace(string) dynamic.ResourceInterface { return n }

func (n notServed) List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return nil, apierrors.NewNotFound(n.resource.GroupResource(), "")
}

func (n notServed) Watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	return nil, apierrors.NewNotFound(n.resource.GroupResource(), "")
}
