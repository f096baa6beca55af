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

package clusterhealth

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// reportPanic records on the KubeFedCluster that handling it panicked: a
// Warning event saying so, and Ready=False with reason ReconcileError, since
// fedhub no longer knows how the member is (a Ready=True left as it was
// would keep sending work to a member nobody watches). The next probe that
// completes writes the conditions afresh.
func (c *Controller) reportPanic(ctx context.Context, name, message string) error {
	cluster, err := c.clusters.KubeFedClusters(c.namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.recorder.Event(cluster, corev1.EventTypeWarning, ReasonReconcileError, message)
	_, err = c.writeStatus(ctx, cluster, observation{health: healthUnhandled, message: message})
	return err
}
