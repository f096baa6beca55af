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

package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// TestRequestsSurviveTypeConfigChanges switches a type's propagation off and
// on while clients create, read and list its federated objects. Each switch
// changes the FTC's generation, so the kind's storage is rebuilt; requests
// already using the old storage must finish, not fail with "the client
// connection is closing".
func TestRequestsSurviveTypeConfigChanges(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	ctx := context.Background()
	serveWidgets(t, server)
	typeConfigs := server.client.CoreV1beta1().FederatedTypeConfigs(federationNamespace)
	config := rest.CopyConfig(server.config)
	config.QPS, config.Burst = 1000, 1000
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	widgets := client.Resource(federatedWidgets).Namespace("default")

	stop := make(chan struct{})
	var clients sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	requests := 0
	for c := range 4 {
		clients.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w-%d-%d", c, i)
				_, createErr := widgets.Create(ctx, federatedWidget(name, nil), metav1.CreateOptions{})
				_, getErr := widgets.Get(ctx, name, metav1.GetOptions{})
				_, listErr := widgets.List(ctx, metav1.ListOptions{Limit: 5})
				mu.Lock()
				requests += 3
				for _, err := range []error{createErr, getErr, listErr} {
					if err != nil {
						failures = append(failures, err.Error())
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range 10 {
		typeConfig, err := typeConfigs.Get(ctx, "widgets.example.com", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		typeConfig.Spec.Propagation = corev1beta1.PropagationDisabled
		if i%2 == 1 {
			typeConfig.Spec.Propagation = corev1beta1.PropagationEnabled
		}
		if _, err := typeConfigs.Update(ctx, typeConfig, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Spread the changes over the clients' work: each waits for 300 more requests.
		waitForRequests(t, &mu, &requests, 300*(i+1))
	}
	close(stop)
	clients.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed while the FTC changed; first: %s", len(failures), requests, failures[0])
	}
	t.Logf("%d requests while the FTC changed 10 times", requests)
}

// waitForRequests polls until the clients have made at least n requests.
func waitForRequests(t *testing.T, mu *sync.Mutex, requests *int, n int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return *requests >= n, nil
	})
	if err != nil {
		t.Fatalf("the clients did not make %d requests within a minute", n)
	}
}
