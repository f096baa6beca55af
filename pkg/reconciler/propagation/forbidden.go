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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// forbiddenProbeTimeout bounds the one list that tells why a member cache has not synced.
const forbiddenProbeTimeout = 5 * time.Second

// forbiddenListMessage says why a cluster reports CachedRetrievalFailed when
// the member refuses to let the federation list the target type, and how to
// fix it. A member joined with least rights before the type was enabled is
// the usual case: its role names only the types enabled at join time.
func forbiddenListMessage(cluster string, resource schema.GroupResource) string {
	return fmt.Sprintf("cluster %s: the federation's identity in the member lacks list/watch on %s, so fedhub cannot see or manage them there; "+
		"run 'fedhubctl enable %s --update-member-roles' with a kubeconfig that reaches %s as an administrator, "+
		"or have an administrator of %s grant it get, list, watch, create, update, patch and delete on %s",
		cluster, resource, resource, cluster, cluster, resource)
}

// reportForbiddenList tells, with a Warning event on the federated object,
// when a member cache has not synced because the member answers 403 to a
// list of the type: the informer only logs that, and the status alone says
// CachedRetrievalFailed. Other causes are left to the status.
func (c *TypeController) reportForbiddenList(ctx context.Context, fed *unstructured.Unstructured, cluster Cluster) {
	if cluster.Client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, forbiddenProbeTimeout)
	defer cancel()
	_, err := cluster.Client.Resource(c.target).List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: ManagedLabel + "=true"})
	if apierrors.IsForbidden(err) {
		c.recorder.Event(fed, corev1.EventTypeWarning, CachedRetrievalFailed, forbiddenListMessage(cluster.Name, c.target.GroupResource()))
	}
}
