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
	"fmt"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedinformers "github.com/fedhub/fedhub/generated/informers/externalversions/core/v1beta1"
	fedlisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
)

// memberRequestTimeout bounds every request to a member, so one slow member
// holds a worker for at most this long.
const memberRequestTimeout = 15 * time.Second

// Cluster is a member as propagation sees it at one moment.
type Cluster struct {
	*corev1beta1.KubeFedCluster
	// Ready is the health controller's verdict.
	Ready bool
	// Pull is set for a pull-mode member: fedhub holds no client for it and
	// publishes Works that its agent applies.
	Pull bool
	// Client reaches the member; nil when its configuration is unusable.
	Client dynamic.Interface
	// Fingerprint changes whenever Client is rebuilt.
	Fingerprint string
}

// ClusterSet follows the KubeFedClusters and their credentials and hands
// every type controller the same clients.
type ClusterSet struct {
	namespace string
	tuning    Tuning
	clusters  fedlisters.KubeFedClusterLister
	// secrets is nil when fedhub has no host to keep credentials.
	secrets corelisters.SecretLister
	// works is where pull members' Works are published; nil when fedhub
	// serves no pull members (no host).
	works  *WorkStore
	synced []cache.InformerSynced

	mu        sync.Mutex
	clients   map[string]memberClient
	listeners map[int]func()
	nextID    int
}

type memberClient struct {
	fingerprint string
	client      dynamic.Interface
}

// NewClusterSet wires a ClusterSet to its informers; secrets and works may be nil.
func NewClusterSet(namespace string, tuning Tuning, clusters fedinformers.KubeFedClusterInformer, secrets coreinformers.SecretInformer,
	works *WorkStore) (*ClusterSet, error) {
	s := &ClusterSet{namespace: namespace, tuning: tuning, clusters: clusters.Lister(), clients: map[string]memberClient{}, listeners: map[int]func(){},
		synced: []cache.InformerSynced{clusters.Informer().HasSynced}, works: works}
	if works != nil {
		s.synced = append(s.synced, works.hasSynced)
	}
	changed := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.notify() },
		UpdateFunc: func(any, any) { s.notify() },
		DeleteFunc: func(any) { s.notify() },
	}
	if _, err := clusters.Informer().AddEventHandler(changed); err != nil {
		return nil, err
	}
	if secrets != nil {
		s.secrets = secrets.Lister()
		s.synced = append(s.synced, secrets.Informer().HasSynced)
		if _, err := secrets.Informer().AddEventHandler(changed); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// OnChange registers a function called whenever a cluster or a Secret
// changes; the returned function unregisters it.
func (s *ClusterSet) OnChange(f func()) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.listeners[id] = f
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.listeners, id)
	}
}

func (s *ClusterSet) notify() {
	s.mu.Lock()
	listeners := make([]func(), 0, len(s.listeners))
	for _, f := range s.listeners {
		listeners = append(listeners, f)
	}
	s.mu.Unlock()
	for _, f := range listeners {
		f()
	}
}

// HasSynced reports whether the clusters and Secrets are known.
func (s *ClusterSet) HasSynced() bool {
	for _, synced := range s.synced {
		if !synced() {
			return false
		}
	}
	return true
}

// Clusters returns every member, sorted by name, with a client for each
// whose configuration is usable.
func (s *ClusterSet) Clusters() []Cluster {
	list, _ := s.clusters.KubeFedClusters(s.namespace).List(labels.Everything())
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Cluster, 0, len(list))
	for _, kfc := range list {
		c := Cluster{KubeFedCluster: kfc, Ready: kfc.IsReady(), Pull: kfc.IsPull()}
		if c.Pull {
			// Nothing to dial: its agent comes to fedhub.
			out = append(out, c)
			continue
		}
		if client, err := s.clientFor(kfc); err == nil {
			c.Client, c.Fingerprint = client.client, client.fingerprint
		}
		out = append(out, c)
	}
	s.forgetRemoved(list)
	return out
}

// forgetRemoved drops the client and the metric series of every cluster no
// longer in list, which holds every KubeFedCluster; s.mu is held.
func (s *ClusterSet) forgetRemoved(list []*corev1beta1.KubeFedCluster) {
	if len(s.clients) <= len(list) {
		// Every cached client may still have its cluster: the usual case,
		// settled without building a set.
		present := 0
		for _, kfc := range list {
			if _, ok := s.clients[kfc.Name]; ok {
				present++
			}
		}
		if present == len(s.clients) {
			return
		}
	}
	existing := make(map[string]bool, len(list))
	for _, kfc := range list {
		existing[kfc.Name] = true
	}
	for name := range s.clients {
		if !existing[name] {
			delete(s.clients, name)
			forgetClusterMetrics(name)
		}
	}
}

// clientFor returns the member's client, rebuilt when its spec or Secret changed.
func (s *ClusterSet) clientFor(kfc *corev1beta1.KubeFedCluster) (memberClient, error) {
	if s.secrets == nil {
		return memberClient{}, fmt.Errorf("no host to read Secrets from")
	}
	secret, err := s.secrets.Secrets(kfc.Namespace).Get(kfc.Spec.SecretRef.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return memberClient{}, err
	}
	fingerprint := member.Fingerprint(kfc, secret)
	if cached, ok := s.clients[kfc.Name]; ok && cached.fingerprint == fingerprint {
		return cached, nil
	}
	config, err := member.Config(kfc, secret)
	if err != nil {
		return memberClient{}, err
	}
	config.Timeout = memberRequestTimeout
	config.UserAgent = "fedhub-propagation"
	config.QPS, config.Burst = s.tuning.MemberQPS, s.tuning.MemberBurst
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return memberClient{}, err
	}
	s.clients[kfc.Name] = memberClient{fingerprint: fingerprint, client: client}
	return s.clients[kfc.Name], nil
}
