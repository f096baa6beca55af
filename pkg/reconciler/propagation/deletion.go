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
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// deletionRetry is how soon a deletion that waits for member objects to go
// looks again; with member informers their delete events come sooner.
const deletionRetry = 2 * time.Second

// clusterDeletion is how one cluster stands while a federated object is
// being deleted. The zero value means the cluster no longer holds a member
// object fedhub manages.
type clusterDeletion struct {
	// reason is a per-cluster status: WaitingForRemoval, DeletionFailed,
	// LabelRemovalFailed, ClusterNotReady or CachedRetrievalFailed, or
	// memberSyncing, which never reaches a status.
	reason string
	// detail says why, for events: an error, or what a removal waits for.
	detail string
	// requested is set when this pass sent the delete: whether the object
	// goes at once is not known yet, so it is not worth a status write.
	requested bool
}

// ensureDeletion handles the member objects of a federated object being
// deleted (deletes them with its delete options, or with kubefed.io/orphan
// removes their managed label), then releases it. While members still hold
// it, its status lists them with the reason and an event says so whenever
// that changes. Unready clusters hold it for at most UnreadyDeletionTimeout;
// the event then says where objects may remain.
func (c *TypeController) ensureDeletion(ctx context.Context, fed *unstructured.Unstructured) (time.Duration, error) {
	if !hasFinalizer(fed) {
		// Not fedhub's to handle (any more): whoever holds it releases it.
		c.forget(fedKey(fed))
		return 0, nil
	}
	orphan := fed.GetAnnotations()[OrphanAnnotation] == "true"
	namespace, name := c.memberName(fed)
	outcomes := map[string]clusterDeletion{}
	writes := &memberWrites{}
	var mu sync.Mutex
	var wg reconciler.Group
	// Every member at once, as when propagating: a slow one delays only itself.
	for _, cluster := range c.clusters.Clusters() {
		wg.Go(func() {
			outcome := c.deleteFromCluster(ctx, fed, cluster, namespace, name, orphan, writes)
			if outcome.reason == "" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			outcomes[cluster.Name] = outcome
		})
	}
	wg.Wait()
	c.recordWrites(fed, writes)

	progress := assessDeletion(outcomes)
	if progress.done() {
		return 0, c.release(ctx, fed)
	}
	if progress.onlyUnreachable() {
		left := UnreadyDeletionTimeout - time.Since(fed.GetDeletionTimestamp().Time)
		if left <= 0 {
			c.recorder.Eventf(fed, corev1.EventTypeWarning, "DeletionIncomplete",
				"Released after waiting %s for unready clusters; %s %s may remain in: %s",
				UnreadyDeletionTimeout, c.targetKind.Kind, objectName(namespace, name), strings.Join(progress.unreachable, ", "))
			return 0, c.release(ctx, fed)
		}
	}
	if progress.settled {
		if err := c.reportDeletion(ctx, fed, outcomes, orphan, namespace, name); err != nil {
			return 0, err
		}
	}
	if len(progress.failed) > 0 {
		// Retried with backoff; the status and an event say where and why.
		return 0, fmt.Errorf("deleting in members: %s", strings.Join(progress.failed, "; "))
	}
	if progress.onlyUnreachable() {
		return UnreadyDeletionTimeout - time.Since(fed.GetDeletionTimestamp().Time), nil
	}
	return deletionRetry, nil
}

// deleteFromCluster deletes or orphans the member object in one cluster and
// says how the cluster stands.
func (c *TypeController) deleteFromCluster(ctx context.Context, fed *unstructured.Unstructured, cluster Cluster, namespace, name string,
	orphan bool, writes *memberWrites) clusterDeletion {
	if cluster.Pull {
		if c.pull == nil {
			return clusterDeletion{reason: CachedRetrievalFailed, detail: "fedhub keeps no Works"}
		}
		return c.pull.remove(ctx, fed, cluster, orphan, writes)
	}
	if !cluster.Ready {
		return clusterDeletion{reason: ClusterNotReady, detail: "the cluster is not ready"}
	}
	client, live, err := c.deletionTarget(ctx, cluster, namespace, name)
	if errors.Is(err, errMemberSyncing) {
		return clusterDeletion{reason: memberSyncing}
	}
	if err != nil {
		return clusterDeletion{reason: CachedRetrievalFailed, detail: err.Error()}
	}
	if live == nil {
		return clusterDeletion{}
	}
	if orphan {
		patch := []byte(`{"metadata":{"labels":{"` + ManagedLabel + `":null}}}`)
		_, err := client.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		observeMemberOperation(cluster.Name, c.target.Resource, "patch", ignoreNotFound(err))
		if err != nil && !apierrors.IsNotFound(err) {
			return clusterDeletion{reason: LabelRemovalFailed, detail: err.Error()}
		}
		return clusterDeletion{}
	}
	if live.GetDeletionTimestamp() != nil {
		// Deleted already; what is left is the member's to finish.
		return clusterDeletion{reason: WaitingForRemoval, detail: waitsFor(live)}
	}
	err = client.Delete(ctx, name, deleteOptions(fed))
	observeMemberOperation(cluster.Name, c.target.Resource, "delete", ignoreNotFound(err))
	if apierrors.IsNotFound(err) {
		return clusterDeletion{}
	}
	if err != nil {
		return clusterDeletion{reason: DeletionFailed, detail: err.Error()}
	}
	writes.add(deleteInCluster, cluster.Name)
	return clusterDeletion{reason: WaitingForRemoval, detail: "deleted, not yet gone", requested: true}
}

// deletionTarget finds the managed member object to delete: in the member's
// cache while the type propagates, by asking the member while only
// deletions are handled (no member informers run then). live is nil when
// the member holds no object fedhub manages.
func (c *TypeController) deletionTarget(ctx context.Context, cluster Cluster, namespace, name string) (dynamic.ResourceInterface, *unstructured.Unstructured, error) {
	if !c.deletionOnly {
		m, err := c.member(cluster.Name)
		if err != nil {
			return nil, nil, err
		}
		live, err := c.cached(m, namespace, name)
		return m.client.Resource(c.target).Namespace(namespace), live, err
	}
	if cluster.Client == nil {
		return nil, nil, fmt.Errorf("no client for cluster %s", cluster.Name)
	}
	client := cluster.Client.Resource(c.target).Namespace(namespace)
	live, err := client.Get(ctx, name, metav1.GetOptions{})
	observeMemberOperation(cluster.Name, c.target.Resource, "get", ignoreNotFound(err))
	if apierrors.IsNotFound(err) {
		return client, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if live.GetLabels()[ManagedLabel] != "true" {
		return client, nil, nil
	}
	return client, live, nil
}

// waitsFor says what a member object being deleted waits for.
func waitsFor(live *unstructured.Unstructured) string {
	if finalizers := live.GetFinalizers(); len(finalizers) > 0 {
		return "its removal waits for the finalizers " + strings.Join(finalizers, ", ")
	}
	return "its removal is in progress"
}

// deletionProgress sorts the clusters that still hold a deleting object.
type deletionProgress struct {
	// failed are "cluster: error" where a delete or label removal failed.
	failed []string
	// unreachable are clusters that may hold it but cannot be asked.
	unreachable []string
	// waiting are clusters whose member object is still being removed.
	waiting []string
	// settled is set when some cluster's state is known beyond a delete
	// just sent (or a cache still filling): worth reporting in the status.
	settled bool
}

func assessDeletion(outcomes map[string]clusterDeletion) deletionProgress {
	var p deletionProgress
	for name, o := range outcomes {
		switch o.reason {
		case DeletionFailed, LabelRemovalFailed:
			p.failed = append(p.failed, name+": "+o.detail)
		case ClusterNotReady, CachedRetrievalFailed:
			p.unreachable = append(p.unreachable, name)
		default:
			p.waiting = append(p.waiting, name)
		}
		if !o.requested && o.reason != memberSyncing {
			p.settled = true
		}
	}
	sort.Strings(p.failed)
	sort.Strings(p.unreachable)
	sort.Strings(p.waiting)
	return p
}

func (p deletionProgress) done() bool {
	return len(p.failed)+len(p.unreachable)+len(p.waiting) == 0
}

func (p deletionProgress) onlyUnreachable() bool {
	return len(p.unreachable) > 0 && len(p.failed)+len(p.waiting) == 0
}

// release removes fedhub's finalizer and forgets the object.
func (c *TypeController) release(ctx context.Context, fed *unstructured.Unstructured) error {
	if err := c.removeFinalizer(ctx, fed); err != nil {
		return err
	}
	c.forget(fedKey(fed))
	return nil
}

// reportDeletion writes the status of a deletion in progress and, when it
// changed, records an event naming each cluster that holds the object and why.
func (c *TypeController) reportDeletion(ctx context.Context, fed *unstructured.Unstructured, outcomes map[string]clusterDeletion,
	orphan bool, namespace, name string) error {
	current := currentStatus(fed)
	desired := deletionStatus(current, fed.GetGeneration(), outcomes, time.Now())
	if !statusChanged(current, desired) {
		return nil
	}
	if err := c.storeStatus(ctx, fed, current, desired); err != nil {
		return err
	}
	reason, eventType := WaitingForRemoval, corev1.EventTypeNormal
	for _, s := range desired.Conditions {
		if s.Type == PropagationCondition && s.Reason == EnsureDeletionFailed {
			reason, eventType = EnsureDeletionFailed, corev1.EventTypeWarning
		}
	}
	for _, s := range desired.Clusters {
		if s.Status == ClusterNotReady || s.Status == CachedRetrievalFailed {
			eventType = corev1.EventTypeWarning
		}
	}
	what := "Deleting"
	if orphan {
		what = "Orphaning"
	}
	c.recorder.Eventf(fed, eventType, reason, "%s %s %s: still in cluster(s) %s", what, c.targetKind.Kind, objectName(namespace, name),
		describeDeletion(outcomes, fed.GetDeletionTimestamp().Add(UnreadyDeletionTimeout)))
	return nil
}

// deletionStatus is the status of a federated object being deleted:
// clusters[] lists each cluster that still holds (or may hold) its member
// object with the reason, and the Propagation condition is False with
// EnsureDeletionFailed when a delete or label removal failed, CheckClusters
// while members are only still removing it or cannot be reached. A cluster
// whose cache is still filling is left out: nothing is known of it yet.
func deletionStatus(current typesv1beta1.FederatedStatus, generation int64, outcomes map[string]clusterDeletion, now time.Time) typesv1beta1.FederatedStatus {
	status := typesv1beta1.FederatedStatus{ObservedGeneration: generation}
	aggregate := CheckClusters
	names := make([]string, 0, len(outcomes))
	for name, o := range outcomes {
		if o.reason != memberSyncing {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		reason := outcomes[name].reason
		status.Clusters = append(status.Clusters, typesv1beta1.ClusterStatus{Name: name, Status: reason})
		if reason == DeletionFailed || reason == LabelRemovalFailed {
			aggregate = EnsureDeletionFailed
		}
	}
	status.Conditions = []typesv1beta1.FederatedCondition{condition(current, PropagationCondition, false, aggregate, now)}
	return status
}

// describeDeletion names each cluster that holds the object and why, for an event.
func describeDeletion(outcomes map[string]clusterDeletion, releaseBy time.Time) string {
	names := make([]string, 0, len(outcomes))
	for name, o := range outcomes {
		if o.reason != memberSyncing {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		o := outcomes[name]
		detail := o.detail
		if o.reason == ClusterNotReady || o.reason == CachedRetrievalFailed {
			detail += fmt.Sprintf("; released without it at %s at the latest", releaseBy.UTC().Format(time.RFC3339))
		}
		parts = append(parts, fmt.Sprintf("%s (%s: %s)", name, o.reason, detail))
	}
	return strings.Join(parts, ", ")
}
