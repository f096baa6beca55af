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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

// reportPanic records on the federated object at key that reconciling it
// panicked: a Warning event saying so and its Ready condition False with
// reason ReconcileError (KubeFed's conditions have no message; the event
// has it). The next reconcile that completes writes the conditions afresh,
// which drops it. The write is remembered as fedhub's own, so its echo does
// not undo the backoff.
func (c *TypeController) reportPanic(ctx context.Context, key, message string) error {
	cached, err := c.federatedObject(key)
	if err != nil || cached == nil {
		return err
	}
	// The reconcile may have written the object before it panicked: the
	// cache can be behind, and a write from it would conflict.
	fed, err := c.resource(cached).Get(ctx, cached.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	c.recorder.Event(fed, corev1.EventTypeWarning, reconciler.ReasonReconcileError, message)
	current := currentStatus(fed)
	desired := *current.DeepCopy()
	desired.Conditions = withCondition(desired.Conditions, condition(current, ReadyCondition, false, reconciler.ReasonReconcileError, time.Now()))
	return c.storeStatus(ctx, fed, current, desired)
}

// withCondition replaces the condition of c's type in conditions, or adds c.
func withCondition(conditions []typesv1beta1.FederatedCondition, c typesv1beta1.FederatedCondition) []typesv1beta1.FederatedCondition {
	for i := range conditions {
		if conditions[i].Type == c.Type {
			conditions[i] = c
			return conditions
		}
	}
	return append(conditions, c)
}
