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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// pullDeliverer carries decisions to pull members: it publishes each decided
// member object as a Work in fedhub's own storage, where the cluster's agent
// reads it, and reads back from the Work's status what the agent reported.
// It never reaches a member.
type pullDeliverer struct {
	works      workStore
	federated  schema.GroupVersionResource
	target     schema.GroupVersionResource
	namespaced bool
	adopt      Settings
	// reportStatus asks agents for the member object's status: for
	// workload sums and for status collection.
	reportStatus bool
}

// deliver makes the cluster's Work say what d decided and returns the
// cluster's status and what the agent last reported of the member object
// (nil while it has not reported on the current Work).
func (p *pullDeliverer) deliver(ctx context.Context, fed *unstructured.Unstructured, cluster string, d decision,
	writes *memberWrites) (string, *unstructured.Unstructured) {
	logger := klog.FromContext(ctx).WithValues("cluster", cluster, "object", klog.KObj(fed))
	name := WorkName(cluster, p.federated.Resource, fed.GetNamespace(), fed.GetName())
	current, err := p.works.get(name)
	if err != nil {
		return CachedRetrievalFailed, nil
	}
	if !d.placed {
		if current != nil && current.DeletionTimestamp == nil {
			if err := p.works.delete(ctx, name); err != nil {
				logger.V(2).Info("Withdrawing the Work failed", "work", name, "err", err.Error())
				return "", nil
			}
			writes.add(deleteInCluster, cluster)
		}
		return "", nil
	}
	if d.failure != "" {
		return d.failure, nil
	}
	desired, err := p.work(fed, cluster, name, d.desired)
	if err != nil {
		return ApplyOverridesFailed, nil
	}
	switch {
	case current == nil:
		if err := p.works.create(ctx, desired); err != nil {
			logger.V(2).Info("Publishing the Work failed", "work", name, "err", err.Error())
			return CreationFailed, nil
		}
		writes.add(createInCluster, cluster)
		return WaitingForAgent, nil
	case current.DeletionTimestamp != nil:
		// Withdrawn a moment ago and placed again: the agent removes the old
		// object first, then the Work is published anew.
		return WaitingForRemoval, nil
	case !SameWorkSpec(current.Spec, desired.Spec):
		updated := current.DeepCopy()
		updated.Spec = desired.Spec
		if err := p.works.update(ctx, updated); err != nil {
			logger.V(2).Info("Updating the Work failed", "work", name, "err", err.Error())
			return UpdateFailed, nil
		}
		writes.add(updateInCluster, cluster)
		return WaitingForAgent, nil
	}
	return reported(current)
}

// remove withdraws the cluster's Work of a federated object being deleted.
// The agent deletes the member object with the Work's delete options (or
// orphans it) and then lets the Work go; until then the cluster still holds
// the object. An unready cluster's Work is withdrawn as well, so that its
// agent cleans up when it is back, and counts as unreachable meanwhile.
func (p *pullDeliverer) remove(ctx context.Context, fed *unstructured.Unstructured, cluster Cluster, orphan bool,
	writes *memberWrites) clusterDeletion {
	name := WorkName(cluster.Name, p.federated.Resource, fed.GetNamespace(), fed.GetName())
	work, err := p.works.get(name)
	if err != nil {
		return clusterDeletion{reason: CachedRetrievalFailed, detail: err.Error()}
	}
	if work == nil {
		return clusterDeletion{}
	}
	requested := false
	if work.DeletionTimestamp == nil {
		options := workDeleteOptions(fed)
		if work.Spec.Orphan != orphan || !equality.Semantic.DeepEqual(work.Spec.DeleteOptions, options) {
			// The agent deletes as the Work says: make it say what the
			// federated object asks for now.
			updated := work.DeepCopy()
			updated.Spec.Orphan, updated.Spec.DeleteOptions = orphan, options
			if err := p.works.update(ctx, updated); err != nil {
				return clusterDeletion{reason: DeletionFailed, detail: err.Error()}
			}
		}
		if err := p.works.delete(ctx, name); err != nil {
			return clusterDeletion{reason: DeletionFailed, detail: err.Error()}
		}
		if !orphan {
			writes.add(deleteInCluster, cluster.Name)
		}
		requested = true
	}
	if !cluster.Ready {
		return clusterDeletion{reason: ClusterNotReady, detail: "the cluster's agent is not connected; it removes the object when it is back"}
	}
	detail := "waiting for the cluster's agent"
	if work.Status.Message != "" {
		detail += ": " + work.Status.Message
	}
	return clusterDeletion{reason: WaitingForRemoval, detail: detail, requested: requested}
}

// work is the Work that carries desired to cluster.
func (p *pullDeliverer) work(fed *unstructured.Unstructured, cluster, name string, desired *unstructured.Unstructured) (*agentv1alpha1.Work, error) {
	manifest, err := json.Marshal(desired.Object)
	if err != nil {
		return nil, err
	}
	retainReplicas, _, _ := unstructured.NestedBool(fed.Object, "spec", "retainReplicas")
	return &agentv1alpha1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: []string{agentidentity.WorkFinalizer}},
		Spec: agentv1alpha1.WorkSpec{
			ClusterName: cluster,
			Source: agentv1alpha1.WorkSource{APIVersion: fed.GetAPIVersion(), Kind: fed.GetKind(), Resource: p.federated.Resource,
				Namespace: fed.GetNamespace(), Name: fed.GetName(), UID: fed.GetUID()},
			Resource: agentv1alpha1.WorkResource{Group: p.target.Group, Version: p.target.Version, Resource: p.target.Resource,
				Namespaced: p.namespaced},
			Manifest:       runtime.RawExtension{Raw: manifest},
			RetainReplicas: retainReplicas,
			Adopt:          p.adopt(),
			Orphan:         fed.GetAnnotations()[OrphanAnnotation] == "true",
			DeleteOptions:  workDeleteOptions(fed),
			ReportStatus:   p.reportStatus,
		},
	}, nil
}

// workDeleteOptions are the delete options a Work carries: none unless the
// federated object names some.
func workDeleteOptions(fed *unstructured.Unstructured) *metav1.DeleteOptions {
	if fed.GetAnnotations()[DeleteOptionAnnotation] == "" {
		return nil
	}
	options := deleteOptions(fed)
	return &options
}

// SameWorkSpec compares Work specs, the manifest and a Helm release's
// values by content: the stored Work need not keep the bytes fedhub sent.
// Both the propagation and the helm-release controllers write Works.
func SameWorkSpec(a, b agentv1alpha1.WorkSpec) bool {
	if !sameJSON(a.Manifest.Raw, b.Manifest.Raw) {
		return false
	}
	a.Manifest, b.Manifest = runtime.RawExtension{}, runtime.RawExtension{}
	if a.HelmRelease != nil && b.HelmRelease != nil {
		if !sameJSON(rawBytes(a.HelmRelease.Values), rawBytes(b.HelmRelease.Values)) {
			return false
		}
		// Copies, so that the callers' Works keep their values.
		releaseA, releaseB := *a.HelmRelease, *b.HelmRelease
		releaseA.Values, releaseB.Values = nil, nil
		a.HelmRelease, b.HelmRelease = &releaseA, &releaseB
	}
	return equality.Semantic.DeepEqual(a, b)
}

// sameJSON says whether two JSON documents hold the same value; no bytes
// count as null, and bytes that are not JSON are never the same.
func sameJSON(a, b []byte) bool {
	var av, bv any
	if len(a) > 0 && json.Unmarshal(a, &av) != nil || len(b) > 0 && json.Unmarshal(b, &bv) != nil {
		return false
	}
	return equality.Semantic.DeepEqual(av, bv)
}

func rawBytes(raw *runtime.RawExtension) []byte {
	if raw == nil {
		return nil
	}
	return raw.Raw
}

// reported is the cluster's status and member object as the agent last
// reported them, once it has reported on the Work's current generation.
func reported(work *agentv1alpha1.Work) (string, *unstructured.Unstructured) {
	if work.Status.ObservedGeneration < work.Generation {
		return WaitingForAgent, nil
	}
	return work.Status.Result, memberExcerpt(work)
}

// memberExcerpt is the agent's excerpt of the member object, enough for
// workload sums and status collection; nil when it reported none.
func memberExcerpt(work *agentv1alpha1.Work) *unstructured.Unstructured {
	if work.Status.Member == nil || len(work.Status.Member.Raw) == 0 {
		return nil
	}
	var object map[string]any
	// utiljson keeps whole numbers int64, as the unstructured accessors expect.
	if err := utiljson.Unmarshal(work.Status.Member.Raw, &object); err != nil || object == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: object}
}

// workHandler queues the federated object of a Work of this type whenever
// its agent reports (a status change) or it goes, and turns a drift the
// agent corrected into the same DriftCorrected event push members give.
// fedhub's own creates and spec updates bring nothing to do.
func (c *TypeController) workHandler() cache.ResourceEventHandler {
	mine := func(obj any) (*agentv1alpha1.Work, bool) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		work, ok := obj.(*agentv1alpha1.Work)
		return work, ok && work.Spec.Source.Resource == c.federated.Resource && work.Spec.Source.APIVersion == c.federated.GroupVersion().String()
	}
	enqueue := func(work *agentv1alpha1.Work) {
		c.queue.Add(objectName(work.Spec.Source.Namespace, work.Spec.Source.Name))
	}
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			before, ok := mine(old)
			work, ok2 := mine(obj)
			if !ok || !ok2 {
				return
			}
			if work.Status.DriftCorrections > before.Status.DriftCorrections {
				c.recordPullDrift(work)
			}
			if !equality.Semantic.DeepEqual(before.Status, work.Status) || (before.DeletionTimestamp == nil) != (work.DeletionTimestamp == nil) {
				enqueue(work)
			}
		},
		DeleteFunc: func(obj any) {
			if work, ok := mine(obj); ok {
				enqueue(work)
			}
		},
	}
}

// recordPullDrift records the agent's drift correction on the federated
// object, with the message a push member's correction gets.
func (c *TypeController) recordPullDrift(work *agentv1alpha1.Work) {
	lister := c.lister()
	if lister == nil {
		return
	}
	var obj runtime.Object
	var err error
	if work.Spec.Source.Namespace == "" {
		obj, err = lister.Get(work.Spec.Source.Name)
	} else {
		obj, err = lister.ByNamespace(work.Spec.Source.Namespace).Get(work.Spec.Source.Name)
	}
	if err != nil {
		return
	}
	namespace, name := work.Spec.Source.Namespace, work.Spec.Source.Name
	if isNamespaceKind(c.targetKind) {
		namespace = ""
	}
	c.recorder.Eventf(obj, corev1.EventTypeWarning, "DriftCorrected", "%s %s in cluster %s was changed there; restored to the federated object's",
		c.targetKind.Kind, objectName(namespace, name), work.Spec.ClusterName)
}
