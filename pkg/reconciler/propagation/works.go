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
	"hash/fnv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	agentclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/agent/v1alpha1"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
)

// WaitingForAgent is the per-cluster status of a pull member whose agent has
// not yet reported on the current Work.
const WaitingForAgent = agentv1alpha1.WaitingForAgent

// WorkStore is fedhub's own storage of the Works published for pull members:
// the pull deliverer's side of what each cluster's agent reads.
type WorkStore struct {
	namespace string
	client    agentclient.WorksGetter
	lister    agentlisters.WorkLister
	informer  cache.SharedIndexInformer
}

// NewWorkStore reads Works through informer and writes them with client, in namespace.
func NewWorkStore(namespace string, client agentclient.WorksGetter, informer agentinformers.WorkInformer) *WorkStore {
	return &WorkStore{namespace: namespace, client: client, lister: informer.Lister(), informer: informer.Informer()}
}

// workStore is what the pull deliverer needs of the Works: the cached one by
// name (nil when absent) and the three writes.
type workStore interface {
	get(name string) (*agentv1alpha1.Work, error)
	create(ctx context.Context, work *agentv1alpha1.Work) error
	update(ctx context.Context, work *agentv1alpha1.Work) error
	delete(ctx context.Context, name string) error
}

func (s *WorkStore) get(name string) (*agentv1alpha1.Work, error) {
	work, err := s.lister.Works(s.namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return work, err
}

func (s *WorkStore) create(ctx context.Context, work *agentv1alpha1.Work) error {
	work.Namespace = s.namespace
	_, err := s.client.Works(s.namespace).Create(ctx, work, metav1.CreateOptions{})
	return err
}

func (s *WorkStore) update(ctx context.Context, work *agentv1alpha1.Work) error {
	_, err := s.client.Works(s.namespace).Update(ctx, work, metav1.UpdateOptions{})
	return err
}

func (s *WorkStore) delete(ctx context.Context, name string) error {
	err := s.client.Works(s.namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (s *WorkStore) hasSynced() bool {
	return s.informer.HasSynced()
}

// WorkName names the Work of one federated object for one cluster: the
// cluster's name and a hash of the object's resource, namespace and name, so
// that every Work of a cluster starts with its name and no two objects share one.
func WorkName(cluster, federatedResource, namespace, name string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(federatedResource + "/" + namespace + "/" + name))
	suffix := fmt.Sprintf("%016x", h.Sum64())
	// Object names may have 253 characters; a cluster name of that length
	// leaves no room, so its tail is hashed too.
	if len(cluster)+1+len(suffix) > 253 {
		c := fnv.New64a()
		_, _ = c.Write([]byte(cluster))
		cluster = fmt.Sprintf("%s-%016x", cluster[:253-2*len(suffix)-2], c.Sum64())
	}
	return cluster + "-" + suffix
}
