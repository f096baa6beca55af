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

package apiserver

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	informers "github.com/fedhub/fedhub/generated/informers/externalversions"
	federatedtypes "github.com/fedhub/fedhub/registry/types"
)

// followTypeConfigs keeps the federated-types handler serving exactly the
// kinds the stored FederatedTypeConfigs name. It returns once the first set
// is served, so that readiness waits for it, and keeps following until ctx ends.
func followTypeConfigs(ctx context.Context, loopback *rest.Config, handler *federatedtypes.Handler, openAPI *federatedtypes.OpenAPIServices) error {
	if openAPI.V2 != nil && openAPI.V3 != nil {
		if err := handler.PublishOpenAPI(openAPI); err != nil {
			return err
		}
	}
	client, err := clientset.NewForConfig(loopback)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	typeConfigs := factory.Core().V1beta1().FederatedTypeConfigs()
	lister := typeConfigs.Lister()
	refresh := func() {
		all, err := lister.List(labels.Everything())
		if err != nil {
			return // the lister reads a local cache; it does not fail
		}
		handler.SetTypeConfigs(all)
	}
	if _, err := typeConfigs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { refresh() },
		UpdateFunc: func(any, any) { refresh() },
		DeleteFunc: func(any) { refresh() },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for informer, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("the %v cache did not sync", informer)
		}
	}
	refresh()
	if err := ensureDefaults(ctx, client); err != nil {
		// The API serves without them; a user can create them, and the next start retries.
		klog.ErrorS(err, "Creating the default federated types")
	}
	// Ready must mean the default kinds are served: the informer delivers the
	// FTCs just created a moment later, and a host that read discovery in
	// between would have told kubectl, which caches it, that they do not exist.
	if err := waitForCache(ctx, client, typeConfigs.Informer().GetStore().GetByKey); err != nil {
		klog.ErrorS(err, "Serving the stored federated types")
	}
	refresh()
	return nil
}

// typeConfigsCacheTimeout bounds the wait for the informer to hold the stored FTCs.
const typeConfigsCacheTimeout = 30 * time.Second

// waitForCache waits until the cache holds every FederatedTypeConfig stored
// now, at the version stored or later.
func waitForCache(ctx context.Context, client clientset.Interface, get func(key string) (any, bool, error)) error {
	stored, err := client.CoreV1beta1().FederatedTypeConfigs(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, typeConfigsCacheTimeout, true, func(context.Context) (bool, error) {
		for i := range stored.Items {
			key, err := cache.MetaNamespaceKeyFunc(&stored.Items[i])
			if err != nil {
				return false, err
			}
			if _, found, _ := get(key); !found {
				return false, nil
			}
		}
		return true, nil
	})
}
