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
	"context"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestRemovedClustersAreForgotten: the prober of every removed cluster is
// stopped and dropped, and the queue forgets its key, so joining and
// removing clusters does not grow the controller.
func TestRemovedClustersAreForgotten(t *testing.T) {
	const clusters = 50
	cluster := func(i int) *corev1beta1.KubeFedCluster {
		return &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("member-%d", i), Namespace: fixtureNamespace},
			Spec: corev1beta1.KubeFedClusterSpec{APIEndpoint: "https://127.0.0.1:1", SecretRef: corev1beta1.LocalSecretReference{Name: "missing"}}}
	}
	fx := newHealthFixture(t, cluster(0), nil, nil)
	c := fx.controller
	defer c.queue.ShutDown()
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.Discard()))
	defer cancel()
	for i := 1; i < clusters; i++ {
		if err := fx.clusterCache.Add(cluster(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range clusters {
		c.processNext(ctx, cluster(i).Name)
	}
	if n := c.proberCount(); n != clusters {
		t.Fatalf("%d probers run for %d clusters", n, clusters)
	}
	for i := range clusters {
		if err := fx.clusterCache.Delete(cluster(i)); err != nil {
			t.Fatal(err)
		}
		c.processNext(ctx, cluster(i).Name)
		if c.queue.NumRequeues(cluster(i).Name) != 0 {
			t.Errorf("the queue still counts retries of %s", cluster(i).Name)
		}
	}
	if n := c.proberCount(); n != 0 {
		t.Errorf("%d probers remain after every cluster was removed", n)
	}
}

func (c *Controller) proberCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.probers)
}
