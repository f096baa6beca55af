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

package clusterhealth

import (
	"strconv"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions"
)

// fixtureNamespace is the federation namespace of the fixture's clusters.
const fixtureNamespace = "kube-federation-system"

// healthFixture is the controller as NewController wires it, over fake
// clientsets and informers that never run: the fixture fills their caches.
type healthFixture struct {
	controller *Controller
	client     *fedfake.Clientset
	recorder   *record.FakeRecorder
	// clusterCache is the KubeFedClusters' informer cache.
	clusterCache cache.Indexer
}

// newHealthFixture stores the cluster in the fake clientset and the caches,
// and the KubeFedConfig and Secret (each nil for none) in the caches.
func newHealthFixture(t testing.TB, cluster *corev1beta1.KubeFedCluster, config *corev1beta1.KubeFedConfig, secret *corev1.Secret) *healthFixture {
	t.Helper()
	fx := &healthFixture{client: fedfake.NewSimpleClientset(), recorder: record.NewFakeRecorder(100)}
	// The fake stores objects with the resourceVersion they came with; a
	// status write must give a new one, as an API server does.
	var version atomic.Int64
	fx.client.PrependReactor("update", "*", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if object, err := meta.Accessor(action.(clienttesting.UpdateAction).GetObject()); err == nil {
			object.SetResourceVersion(strconv.FormatInt(version.Add(1), 10))
		}
		return false, nil, nil
	})
	factory := fedinformers.NewSharedInformerFactory(fx.client, 0)
	clusters, configs := factory.Core().V1beta1().KubeFedClusters(), factory.Core().V1beta1().KubeFedConfigs()
	secrets := kubeinformers.NewSharedInformerFactory(kubefake.NewSimpleClientset(), 0).Core().V1().Secrets()
	add := func(informer cache.SharedIndexInformer, obj runtime.Object) {
		if err := informer.GetIndexer().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.client.Tracker().Add(cluster); err != nil {
		t.Fatal(err)
	}
	add(clusters.Informer(), cluster)
	if config != nil {
		add(configs.Informer(), config)
	}
	if secret != nil {
		add(secrets.Informer(), secret)
	}
	fx.clusterCache = clusters.Informer().GetIndexer()
	c, err := NewController(fixtureNamespace, fx.client, clusters, configs, secrets, fx.recorder)
	if err != nil {
		t.Fatal(err)
	}
	fx.controller = c
	return fx
}
