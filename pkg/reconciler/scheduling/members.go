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
	"fmt"
	"math"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
)

// memberRequestTimeout bounds each read of a member, so one slow member
// holds a worker for at most this long.
const memberRequestTimeout = 10 * time.Second

// Members reads what the capacity estimate needs from push members: the
// member's copy of a workload and its pods, read when the workload is not
// rolled out, and, for clusters with an estimate, whether their nodes gained
// room. fedhub holds no credentials for pull members: their agents report
// the same (pullReports).
type Members struct {
	secrets corelisters.SecretLister

	mu      sync.Mutex
	members map[string]*memberState
	// ctx bounds the node watches; set by start.
	ctx context.Context
	// roomGrew is called with a cluster's name when its nodes gain room.
	roomGrew func(cluster string)
}

// memberState is one push member's client and, once needed, its node watch.
type memberState struct {
	fingerprint string
	client      kubernetes.Interface
	nodes       *nodeWatch
}

// NewMembers reads members with the credentials Secrets in secrets.
func NewMembers(secrets corelisters.SecretLister) *Members {
	return &Members{secrets: secrets, members: map[string]*memberState{}}
}

// start lets node watches run until ctx ends and report room to roomGrew.
func (m *Members) start(ctx context.Context, roomGrew func(cluster string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx, m.roomGrew = ctx, roomGrew
}

// client returns the member's client, rebuilt when its spec or Secret
// changed; nil without error for a pull member.
func (m *Members) client(cluster *corev1beta1.KubeFedCluster) (*memberState, error) {
	if cluster.IsPull() {
		return nil, nil
	}
	secret, err := m.secrets.Secrets(cluster.Namespace).Get(cluster.Spec.SecretRef.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	fingerprint := member.Fingerprint(cluster, secret)
	m.mu.Lock()
	defer m.mu.Unlock()
	if cached, ok := m.members[cluster.Name]; ok && cached.fingerprint == fingerprint {
		return cached, nil
	}
	config, err := member.Config(cluster, secret)
	if err != nil {
		return nil, err
	}
	config.Timeout = memberRequestTimeout
	config.UserAgent = "fedhub-scheduling"
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	if old, ok := m.members[cluster.Name]; ok && old.nodes != nil {
		old.nodes.stop()
	}
	state := &memberState{fingerprint: fingerprint, client: client}
	m.members[cluster.Name] = state
	return state, nil
}

// forget stops following the clusters not in names.
func (m *Members) forget(names map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, state := range m.members {
		if !names[name] {
			if state.nodes != nil {
				state.nodes.stop()
			}
			delete(m.members, name)
		}
	}
}

// roomGrewAt is when the cluster's nodes last gained room, as far as its
// node watch saw; zero when it has none (yet).
func (m *Members) roomGrewAt(cluster string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if state, ok := m.members[cluster]; ok && state.nodes != nil {
		return state.nodes.grewAt()
	}
	return time.Time{}
}

// watchNodes follows the nodes of a cluster that has an estimate, so that
// the estimate is dropped as soon as they gain room.
func (m *Members) watchNodes(cluster string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	state, ok := m.members[cluster]
	if !ok || state.nodes != nil || m.ctx == nil {
		return
	}
	roomGrew := m.roomGrew
	state.nodes = startNodeWatch(m.ctx, state.client, func() { roomGrew(cluster) })
}

// memberWorkload is what the capacity estimate reads of a member's workload.
type memberWorkload struct {
	selector      *metav1.LabelSelector
	replicas      int32
	readyReplicas int32
}

// readWorkload reads the member's Deployment or ReplicaSet; found is false
// when the member has none.
func readWorkload(ctx context.Context, client kubernetes.Interface, kind, namespace, name string) (w memberWorkload, found bool, err error) {
	switch kind {
	case "FederatedDeployment":
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
		if apierrors.IsNotFound(err) {
			return w, false, nil
		} else if err != nil {
			return w, false, err
		}
		return memberWorkload{selector: d.Spec.Selector, replicas: replicasOrOne(d.Spec.Replicas), readyReplicas: d.Status.ReadyReplicas}, true, nil
	case "FederatedReplicaSet":
		rs, err := client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
		if apierrors.IsNotFound(err) {
			return w, false, nil
		} else if err != nil {
			return w, false, err
		}
		return memberWorkload{selector: rs.Spec.Selector, replicas: replicasOrOne(rs.Spec.Replicas), readyReplicas: rs.Status.ReadyReplicas}, true, nil
	}
	return w, false, fmt.Errorf("no member kind for %s", kind)
}

// replicasOrOne reads spec.replicas as the API defaults it.
func replicasOrOne(replicas *int32) int32 {
	if replicas == nil {
		return 1
	}
	return *replicas
}

// ShortWorkload reads a member's Deployment or ReplicaSet as an agent holds
// it: whether it is short of ready replicas, which is when its pods are
// counted, and the selector of its pods. ok is false when obj has no
// usable selector, which the member's API refuses, so only a malformed
// object lacks one.
func ShortWorkload(obj *unstructured.Unstructured) (selector labels.Selector, short, ok bool) {
	var w memberWorkload
	var spec struct {
		Selector *metav1.LabelSelector `json:"selector"`
		Replicas *int32                `json:"replicas"`
	}
	rawSpec, found, err := unstructured.NestedMap(obj.Object, "spec")
	if !found || err != nil || runtime.DefaultUnstructuredConverter.FromUnstructured(rawSpec, &spec) != nil {
		return nil, false, false
	}
	if spec.Selector == nil {
		return nil, false, false // LabelSelectorAsSelector would make it select nothing, not Empty
	}
	w.selector, w.replicas = spec.Selector, replicasOrOne(spec.Replicas)
	ready, found, err := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
	if found && err == nil && ready >= 0 && ready <= math.MaxInt32 {
		w.readyReplicas = int32(ready)
	}
	selector, err = metav1.LabelSelectorAsSelector(w.selector)
	if err != nil || selector.Empty() {
		return nil, false, false
	}
	return selector, w.short(), true
}

// short says whether the workload lacks ready replicas.
func (w memberWorkload) short() bool { return w.readyReplicas < w.replicas }

// observe counts the pods of the member's copy of a workload, when it has
// not rolled out: a member whose workload is ready has room for it, and its
// pods are not read at all. observed is false when there is nothing to count.
func (m *Members) observe(ctx context.Context, state *memberState, cluster, kind, namespace, name string,
	now time.Time, threshold time.Duration) (counts podCounts, observed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, memberRequestTimeout)
	defer cancel()
	w, found, err := readWorkload(ctx, state.client, kind, namespace, name)
	if err != nil || !found || !w.short() {
		return counts, false, err
	}
	selector, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil || selector.Empty() {
		// A workload without a usable selector cannot tell its pods from
		// others; the member's API refuses one, so this is only defensive.
		return counts, false, nil
	}
	// From the member's watch cache: the pods of one workload, read only
	// while it is short of ready replicas.
	pods, err := state.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String(), ResourceVersion: "0"})
	if err != nil {
		return counts, false, err
	}
	return countPods(pods.Items, now, m.roomGrewAt(cluster), threshold), true, nil
}
