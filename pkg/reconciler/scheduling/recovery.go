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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ConditionReady is False, with reason ReconcileError, while planning the
// preference panics; a preference planned without a panic has none.
const ConditionReady = "Ready"

// reportPanic records on the preference at key that planning it panicked: a
// Warning event and Ready=False with reason ReconcileError, both with the
// panic. The Scheduled condition is left alone: it still says what the plan
// in force is.
func (c *Controller) reportPanic(ctx context.Context, key, message string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	// The plan may have been written before the panic: the cache can be
	// behind, and a write from it would conflict.
	rsp, err := c.status.ReplicaSchedulingPreferences(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	c.recorder.Event(rsp, corev1.EventTypeWarning, reconciler.ReasonReconcileError, message)
	update := rsp.DeepCopy()
	meta.SetStatusCondition(&update.Status.Conditions, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse,
		Reason: reconciler.ReasonReconcileError, Message: message, ObservedGeneration: rsp.Generation})
	if equality.Semantic.DeepEqual(update.Status, rsp.Status) {
		return nil // the same panic again: its echo would only plan it again at once
	}
	_, err = c.status.ReplicaSchedulingPreferences(namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{})
	return err
}

// clearReconcileError drops the Ready condition a panic left, once the
// preference at key has been planned without one. sync keeps the conditions
// it does not write, so without this the condition would outlive the panic.
func (c *Controller) clearReconcileError(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rsp, err := c.preferences.ReplicaSchedulingPreferences(namespace).Get(name)
	if err != nil || meta.FindStatusCondition(rsp.Status.Conditions, ConditionReady) == nil {
		return nil
	}
	// sync may just have written the status: the cache can be behind.
	stored, err := c.status.ReplicaSchedulingPreferences(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if !meta.RemoveStatusCondition(&stored.Status.Conditions, ConditionReady) {
		return nil
	}
	_, err = c.status.ReplicaSchedulingPreferences(namespace).UpdateStatus(ctx, stored, metav1.UpdateOptions{})
	return err
}
