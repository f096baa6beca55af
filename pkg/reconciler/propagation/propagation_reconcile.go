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
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/placement"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// KubeFed's finalizer and annotations, with KubeFed's meaning.
const (
	// Finalizer holds a federated object until its member objects are handled.
	Finalizer = "kubefed.io/sync-controller"
	// ManagedLabel marks member objects the federation manages.
	ManagedLabel           = typesv1beta1.ManagedLabel
	OrphanAnnotation       = typesv1beta1.OrphanAnnotation
	DeleteOptionAnnotation = typesv1beta1.DeleteOptionAnnotation
)

// UnreadyDeletionTimeout is how long deleting a federated object waits for
// unready clusters before it lets the object go and says what may be left
// there (KubeFed waited forever).
var UnreadyDeletionTimeout = time.Minute

var everything = labels.Everything()

func isNamespaceKind(gvk schema.GroupVersionKind) bool {
	return gvk.Group == "" && gvk.Kind == "Namespace"
}

// memberSyncing is syncCluster's outcome for a member whose cache is still
// filling; it never reaches a status.
const memberSyncing = "memberSyncing"

// reconcile brings the members in line with one federated object and
// reports how that went in its status.
func (c *TypeController) reconcile(ctx context.Context, key string) (time.Duration, error) {
	fed, err := c.federatedObject(key)
	if err != nil {
		return 0, err
	}
	c.seen(key, fed)
	if fed == nil {
		// Gone, with or without fedhub's finalizer: nothing will ask about it again.
		c.forget(key)
		return 0, nil
	}
	if fed.GetDeletionTimestamp() != nil {
		return c.ensureDeletion(ctx, fed)
	}
	if c.deletionOnly {
		return 0, nil
	}
	if !hasFinalizer(fed) {
		// Go on with the object as stored with the finalizer, rather than
		// waiting for its update event: a create reaches members sooner.
		if fed, err = c.addFinalizer(ctx, fed); err != nil {
			return 0, err
		}
	}
	clusters := c.clusters.Clusters()
	placed, aggregate, err := c.placement(fed, clusters)
	if err != nil {
		return 0, err
	}
	// A dependency also goes where the workloads naming it run; a workload
	// says where that is. Neither changes the user's placement.
	placed, held := c.followers(fed, clusters, placed, aggregate)
	dependencies := c.followDependencies(fed, clusters, placed, aggregate)
	outcomes := map[string]string{}
	members := map[string]*unstructured.Unstructured{}
	writes := &memberWrites{}
	var mu sync.Mutex
	var wg reconciler.Group
	syncing := false
	// An object whose namespace is not federated is held: its member
	// objects, if any, are neither updated nor deleted. They stay managed by
	// it (its delete still deletes or orphans them) and are updated again
	// once the FederatedNamespace is back. This is what keeps the contents
	// of a namespace whose FederatedNamespace was deleted with
	// kubefed.io/orphan in the members.
	if aggregate != NamespaceNotFederated {
		for _, cluster := range clusters {
			isPlaced := placed[cluster.Name]
			if held && !isPlaced {
				continue
			}
			wg.Go(func() {
				outcome, member := c.syncCluster(ctx, fed, cluster, isPlaced, writes)
				mu.Lock()
				defer mu.Unlock()
				syncing = syncing || outcome == memberSyncing
				if isPlaced {
					outcomes[cluster.Name], members[cluster.Name] = outcome, member
				}
			})
		}
		wg.Wait()
	}
	c.recordWrites(fed, writes)
	if syncing {
		// A status now would report objects missing that may well be there,
		// and a member object where it is no longer placed would stay: wait
		// for the member's cache instead.
		return 0, errMemberSyncing
	}
	var workload *workloadSummary
	if isWorkload(c.targetKind) {
		workload = summarize(c.targetKind, members)
	}
	var remote map[string]*typesv1beta1.JSON
	if collect := c.typeConfig.Spec.StatusCollection; collect != nil && *collect == corev1beta1.StatusCollectionEnabled {
		remote = map[string]*typesv1beta1.JSON{}
		for name, member := range members {
			remote[name] = remoteStatusOf(member)
		}
	}
	if err := c.writeStatus(ctx, fed, aggregate, outcomes, workload, remote, dependencies); err != nil {
		return 0, err
	}
	for name, outcome := range outcomes {
		if outcome != "" && outcome != ClusterNotReady && outcome != ManagedLabelFalse && outcome != AlreadyExists && outcome != WaitingForAgent {
			// Retried with backoff; a cluster turning ready requeues everything anyway.
			return 0, fmt.Errorf("cluster %s: %s", name, outcome)
		}
	}
	if held {
		return dependencyHoldRetry, nil
	}
	return 0, nil
}

func (c *TypeController) federatedObject(key string) (*unstructured.Unstructured, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, nil // a key we cannot parse names nothing we can reconcile
	}
	var obj runtime.Object
	if namespace == "" {
		obj, err = c.fedLister.Get(name)
	} else {
		obj, err = c.fedLister.ByNamespace(namespace).Get(name)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fed, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected %T in the cache of %s", obj, c.federated.Resource)
	}
	return fed, nil
}

// placement says which clusters the object is placed on: its own placement,
// intersected for namespaced kinds with that of its namespace's FederatedNamespace.
// An error means the placement cannot be known yet (the reconcile is
// retried); a placement that is known to be wrong is an aggregate reason.
func (c *TypeController) placement(fed *unstructured.Unstructured, clusters []Cluster) (map[string]bool, string, error) {
	own, err := placement.Of(fed)
	if err != nil {
		return nil, ComputePlacementFailed, nil
	}
	var namespacePlacement *placement.Placement
	if c.namespaced && !isNamespaceKind(c.targetKind) && c.namespaces != nil {
		federatedNamespace, federated, err := c.namespaces(fed.GetNamespace())
		if err != nil {
			return nil, "", err
		}
		if federated && federatedNamespace == nil {
			return nil, NamespaceNotFederated, nil
		}
		if federatedNamespace != nil {
			if namespacePlacement, err = placement.Of(federatedNamespace); err != nil {
				return nil, ComputePlacementFailed, nil
			}
		}
	}
	placed := map[string]bool{}
	for _, cluster := range clusters {
		selected, _, err := own.Selects(cluster.KubeFedCluster)
		if err != nil {
			return nil, ComputePlacementFailed, nil
		}
		if selected && namespacePlacement != nil {
			selected, _, _ = namespacePlacement.Selects(cluster.KubeFedCluster)
		}
		placed[cluster.Name] = selected
	}
	return placed, "", nil
}

// syncCluster makes one member agree with the federated object: the object
// exists and matches where placed, is gone where not. The decision is the
// same for every member; push members are written here, pull members get a
// Work their agent applies. It returns the cluster's status for a placed
// cluster, and the member object as known.
func (c *TypeController) syncCluster(ctx context.Context, fed *unstructured.Unstructured, cluster Cluster, placed bool,
	writes *memberWrites) (string, *unstructured.Unstructured) {
	if !cluster.Ready {
		return ClusterNotReady, nil
	}
	d := decide(fed, c.targetKind, c.namespaced, cluster.Name, placed)
	if d.err != nil {
		c.recorder.Eventf(fed, corev1.EventTypeWarning, ApplyOverridesFailed, "Cluster %s: %v", cluster.Name, d.err)
	}
	if cluster.Pull {
		if c.pull == nil {
			return CachedRetrievalFailed, nil
		}
		return c.pull.deliver(ctx, fed, cluster.Name, d, writes)
	}
	return c.pushTo(ctx, fed, cluster, d, writes)
}

// pushTo is the push deliverer: it writes the decided object into the member
// itself, comparing with the member's cache first so that an object in sync
// costs no request.
func (c *TypeController) pushTo(ctx context.Context, fed *unstructured.Unstructured, cluster Cluster, d decision,
	writes *memberWrites) (string, *unstructured.Unstructured) {
	logger := klog.FromContext(ctx).WithValues("cluster", cluster.Name, "object", klog.KObj(fed))
	m, err := c.member(cluster.Name)
	if errors.Is(err, errMemberSyncing) {
		return memberSyncing, nil
	}
	if err != nil {
		logger.V(4).Info("No member cache yet", "err", err.Error())
		c.reportForbiddenList(ctx, fed, cluster)
		return CachedRetrievalFailed, nil
	}
	namespace, name := c.memberName(fed)
	client := m.client.Resource(c.target).Namespace(namespace)
	live, err := c.cached(m, namespace, name)
	if err != nil {
		return CachedRetrievalFailed, nil
	}
	if !d.placed {
		if live != nil {
			c.deleteMember(ctx, fed, cluster.Name, client, name, writes)
		}
		return "", nil
	}
	if d.failure != "" {
		return d.failure, nil
	}
	desired := d.desired
	if live == nil {
		created, err := client.Create(ctx, desired, metav1.CreateOptions{})
		observeMemberOperation(cluster.Name, c.target.Resource, "create", ignoreAlreadyExists(err))
		if err == nil {
			propagationLatency.WithLabelValues(c.federated.Resource).Observe(time.Since(fed.GetCreationTimestamp().Time).Seconds())
			c.applied(cluster.Name, fed, created)
			writes.add(createInCluster, cluster.Name)
			return "", created
		}
		if !apierrors.IsAlreadyExists(err) {
			logger.V(2).Info("Creating in member failed", "err", err.Error())
			return CreationFailed, nil
		}
		if live, err = client.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return RetrievalFailed, nil
		}
		if live.GetLabels()[ManagedLabel] == "false" {
			return ManagedLabelFalse, nil
		}
		if !c.settings() {
			return AlreadyExists, nil
		}
		logger.V(2).Info("Adopting an existing member object")
	}
	return c.updateMember(ctx, fed, cluster.Name, client, desired, live, writes)
}

// updateMember updates the member object only when it differs from what the
// federated object asks for; a difference fedhub did not cause is drift.
func (c *TypeController) updateMember(ctx context.Context, fed *unstructured.Unstructured, cluster string, client dynamic.ResourceInterface,
	desired, live *unstructured.Unstructured, writes *memberWrites) (string, *unstructured.Unstructured) {
	retainReplicas, _, _ := unstructured.NestedBool(fed.Object, "spec", "retainReplicas")
	Retain(desired, live, retainReplicas)
	if !Differs(desired, live) {
		c.applied(cluster, fed, live)
		return "", live
	}
	drifted := c.wasApplied(cluster, fed, live)
	updated, err := client.Update(ctx, desired, metav1.UpdateOptions{})
	observeMemberOperation(cluster, c.target.Resource, "update", err)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Updating in member failed", "cluster", cluster, "object", klog.KObj(fed), "err", err.Error())
		return UpdateFailed, nil
	}
	c.applied(cluster, fed, updated)
	if drifted {
		c.recorder.Eventf(fed, corev1.EventTypeWarning, "DriftCorrected", "%s %s in cluster %s was changed there; restored to the federated object's",
			c.targetKind.Kind, objectName(live.GetNamespace(), live.GetName()), cluster)
	} else {
		writes.add(updateInCluster, cluster)
	}
	return "", updated
}

func (c *TypeController) deleteMember(ctx context.Context, fed *unstructured.Unstructured, cluster string, client dynamic.ResourceInterface,
	name string, writes *memberWrites) {
	err := client.Delete(ctx, name, deleteOptions(fed))
	observeMemberOperation(cluster, c.target.Resource, "delete", ignoreNotFound(err))
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).V(2).Info("Deleting in member failed", "cluster", cluster, "object", klog.KObj(fed), "err", err.Error())
		return
	}
	writes.add(deleteInCluster, cluster)
}

// The reasons of the events that record member writes.
const (
	createInCluster = "CreateInCluster"
	updateInCluster = "UpdateInCluster"
	deleteInCluster = "DeleteInCluster"
)

// memberWrites collects the clusters one reconcile wrote to, by event
// reason, so that one event per reason names them all: a create placed on
// ten clusters costs the host one event write, not ten.
type memberWrites struct {
	mu       sync.Mutex
	clusters map[string][]string
}

func (w *memberWrites) add(reason, cluster string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.clusters == nil {
		w.clusters = map[string][]string{}
	}
	w.clusters[reason] = append(w.clusters[reason], cluster)
}

// recordWrites records one event per kind of write in writes.
func (c *TypeController) recordWrites(fed *unstructured.Unstructured, writes *memberWrites) {
	namespace, name := c.memberName(fed)
	verbs := map[string]string{createInCluster: "Created", updateInCluster: "Updated", deleteInCluster: "Deleted"}
	for _, reason := range []string{createInCluster, updateInCluster, deleteInCluster} {
		clusters := writes.clusters[reason]
		if len(clusters) == 0 {
			continue
		}
		sort.Strings(clusters)
		c.recorder.Eventf(fed, corev1.EventTypeNormal, reason, "%s %s %s in cluster(s) %s",
			verbs[reason], c.targetKind.Kind, objectName(namespace, name), strings.Join(clusters, ", "))
	}
}

// memberName is the namespace and name of the member object.
func (c *TypeController) memberName(fed *unstructured.Unstructured) (string, string) {
	switch {
	case isNamespaceKind(c.targetKind):
		return "", fed.GetName()
	case c.namespaced:
		return fed.GetNamespace(), fed.GetName()
	}
	return "", fed.GetName()
}

// cached reads the managed member object from the member's informer; nil when absent.
func (c *TypeController) cached(m *memberInformer, namespace, name string) (*unstructured.Unstructured, error) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, found, err := m.store.GetByKey(key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	switch live := obj.(type) {
	case *compactMember:
		return live.object()
	case *unstructured.Unstructured:
		return live.DeepCopy(), nil
	}
	return nil, fmt.Errorf("unexpected %T in the cache of %s", obj, c.target.Resource)
}

func hasFinalizer(obj *unstructured.Unstructured) bool {
	for _, f := range obj.GetFinalizers() {
		if f == Finalizer {
			return true
		}
	}
	return false
}

func (c *TypeController) resource(obj *unstructured.Unstructured) dynamic.ResourceInterface {
	return c.fedhub.Resource(c.federated).Namespace(obj.GetNamespace())
}

// addFinalizer stores the finalizer and returns the object as stored.
func (c *TypeController) addFinalizer(ctx context.Context, fed *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": append(fed.GetFinalizers(), Finalizer), "resourceVersion": fed.GetResourceVersion()}})
	return c.resource(fed).Patch(ctx, fed.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
}

func (c *TypeController) removeFinalizer(ctx context.Context, fed *unstructured.Unstructured) error {
	var kept []string
	for _, f := range fed.GetFinalizers() {
		if f != Finalizer {
			kept = append(kept, f)
		}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": kept, "resourceVersion": fed.GetResourceVersion()}})
	_, err := c.resource(fed).Patch(ctx, fed.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// writeStatus stores the status of one reconcile when it changed.
func (c *TypeController) writeStatus(ctx context.Context, fed *unstructured.Unstructured, aggregate string, outcomes map[string]string,
	workload *workloadSummary, remote map[string]*typesv1beta1.JSON, dependencies *dependencyReport) error {
	current, now := currentStatus(fed), time.Now()
	desired := desiredStatus(current, fed.GetGeneration(), aggregate, outcomes, workload, remote, now)
	messages := conditionMessages{}
	if dependencies != nil {
		desired.Conditions = append(desired.Conditions, dependencies.condition(current, now))
		if dependencies.message != "" {
			messages[DependenciesCondition] = dependencies.message
		}
	}
	return c.storeStatusMessages(ctx, fed, current, desired, messages)
}

// currentStatus is the federated object's status as far as it can be read:
// a status fedhub did not write may have any shape.
func currentStatus(fed *unstructured.Unstructured) typesv1beta1.FederatedStatus {
	var current typesv1beta1.FederatedStatus
	if raw, ok := fed.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &current)
	}
	return current
}

// storeStatus writes desired as the federated object's status unless it
// differs from current only in times, and remembers the write so that its
// echo is not reconciled.
func (c *TypeController) storeStatus(ctx context.Context, fed *unstructured.Unstructured, current, desired typesv1beta1.FederatedStatus) error {
	return c.storeStatusMessages(ctx, fed, current, desired, nil)
}

// storeStatusMessages is storeStatus for a status whose conditions carry
// messages, by condition type.
func (c *TypeController) storeStatusMessages(ctx context.Context, fed *unstructured.Unstructured, current, desired typesv1beta1.FederatedStatus,
	messages conditionMessages) error {
	// nil messages: the caller does not report any, and leaves them be.
	if !statusChanged(current, desired) && (messages == nil || maps.Equal(messagesOf(fed), messages)) {
		return nil
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&desired)
	if err != nil {
		return err
	}
	messages.setIn(raw)
	updated := fed.DeepCopy()
	updated.Object["status"] = raw
	stored, err := c.resource(fed).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err == nil {
		c.statusStored(stored)
	}
	return err
}

// deleteOptions are the member delete options the federated object asks for.
func deleteOptions(fed *unstructured.Unstructured) metav1.DeleteOptions {
	var options metav1.DeleteOptions
	if raw := fed.GetAnnotations()[DeleteOptionAnnotation]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &options) // admission refuses a bad value; one stored before means defaults
	}
	return options
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// ignoreAlreadyExists and ignoreNotFound count an outcome the reconcile
// handles as success in the metrics.
func ignoreAlreadyExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
