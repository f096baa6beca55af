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

package registration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// Event reasons, on the ClusterRegistration.
const (
	// ReasonClusterCreated: the registration's KubeFedCluster was created.
	ReasonClusterCreated = "ClusterCreated"
	// ReasonClusterNameTaken: a push KubeFedCluster has the registration's name.
	ReasonClusterNameTaken = "ClusterNameTaken"
	// ReasonClusterDeleted: the KubeFedCluster of an unapproved registration was deleted.
	ReasonClusterDeleted = "ClusterDeleted"
	// ReasonAgentRevoked: the agent ServiceAccount of an unapproved registration was deleted.
	ReasonAgentRevoked = "AgentRevoked"
)

// sync brings one cluster name to what its registration says.
func (c *Controller) sync(ctx context.Context, name string) error {
	registration, err := c.registrations.ClusterRegistrations(c.namespace).Get(name)
	if apierrors.IsNotFound(err) {
		registration = nil
	} else if err != nil {
		return err
	}
	cluster, err := c.clusters.KubeFedClusters(c.namespace).Get(name)
	if apierrors.IsNotFound(err) {
		cluster = nil
	} else if err != nil {
		return err
	}
	// A registration being deleted (fedhubctl unjoin) is approved no more.
	if registration != nil && registration.Spec.Approved && registration.DeletionTimestamp == nil {
		return c.ensureCluster(ctx, registration, cluster)
	}
	var errs []error
	if cluster != nil {
		errs = append(errs, c.deletePullCluster(ctx, registration, cluster))
	}
	errs = append(errs, c.revokeAgent(ctx, registration, name))
	if registration == nil && cluster == nil {
		errs = append(errs, c.deleteWorks(ctx, name))
	}
	return errors.Join(errs...)
}

// ensureCluster creates or updates the Pull KubeFedCluster of an approved
// registration. A push cluster of the same name is left as it is.
func (c *Controller) ensureCluster(ctx context.Context, registration *agentv1alpha1.ClusterRegistration, cluster *corev1beta1.KubeFedCluster) error {
	logger := klog.FromContext(ctx)
	switch {
	case cluster == nil:
		created, err := c.fedhub.CoreV1beta1().KubeFedClusters(c.namespace).Create(ctx, &corev1beta1.KubeFedCluster{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: registration.Name},
			Spec:       corev1beta1.KubeFedClusterSpec{Mode: corev1beta1.ClusterModePull, APIEndpoint: registration.Spec.APIEndpoint},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating the KubeFedCluster of the approved registration: %w", err)
		}
		logger.V(2).Info("Created the pull cluster", "apiEndpoint", created.Spec.APIEndpoint)
		c.recorder.Eventf(registration, corev1.EventTypeNormal, ReasonClusterCreated, "Created the KubeFedCluster %s (mode Pull)", registration.Name)
		return nil
	case cluster.Spec.Mode != corev1beta1.ClusterModePull:
		logger.V(2).Info("A push cluster has the registration's name; leaving both alone")
		c.recorder.Eventf(registration, corev1.EventTypeWarning, ReasonClusterNameTaken,
			"The push KubeFedCluster %s has this name; fedhub does not turn it into a pull cluster: unjoin it, or register the agent under another name",
			cluster.Name)
		return nil
	case cluster.DeletionTimestamp != nil:
		return nil // created again once its deletion is seen
	case cluster.Spec.APIEndpoint != registration.Spec.APIEndpoint:
		update := cluster.DeepCopy()
		update.Spec.APIEndpoint = registration.Spec.APIEndpoint
		if _, err := c.fedhub.CoreV1beta1().KubeFedClusters(c.namespace).Update(ctx, update, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating the apiEndpoint of the KubeFedCluster: %w", err)
		}
		logger.V(2).Info("Updated the pull cluster's apiEndpoint", "apiEndpoint", update.Spec.APIEndpoint)
	}
	return nil
}

// deletePullCluster deletes the KubeFedCluster of a cluster without an
// approved registration, if it is a pull cluster: a push cluster is not the
// registrations' to manage.
func (c *Controller) deletePullCluster(ctx context.Context, registration *agentv1alpha1.ClusterRegistration, cluster *corev1beta1.KubeFedCluster) error {
	if cluster.Spec.Mode != corev1beta1.ClusterModePull || cluster.DeletionTimestamp != nil {
		return nil
	}
	err := c.fedhub.CoreV1beta1().KubeFedClusters(c.namespace).Delete(ctx, cluster.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cluster.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("deleting the pull KubeFedCluster without an approved registration: %w", err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted the pull cluster: it has no approved registration")
	if registration != nil {
		c.recorder.Eventf(registration, corev1.EventTypeNormal, ReasonClusterDeleted,
			"Deleted the KubeFedCluster %s: %s", cluster.Name, notApproved(registration))
	}
	return nil
}

// revokeAgent deletes the agent ServiceAccount of a cluster without an
// approved registration: the host then refuses every token of it.
func (c *Controller) revokeAgent(ctx context.Context, registration *agentv1alpha1.ClusterRegistration, name string) error {
	accountName := agentidentity.AgentServiceAccount(name)
	sa, err := c.serviceAccounts.ServiceAccounts(agentidentity.AgentNamespace).Get(accountName)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if sa.DeletionTimestamp != nil {
		return nil
	}
	err = c.host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace).Delete(ctx, accountName,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &sa.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("revoking the agent: deleting the host ServiceAccount %s/%s: %w", agentidentity.AgentNamespace, accountName, err)
	}
	klog.FromContext(ctx).V(2).Info("Revoked the agent: it has no approved registration", "serviceAccount", agentidentity.AgentNamespace+"/"+accountName)
	if registration != nil {
		c.recorder.Eventf(registration, corev1.EventTypeNormal, ReasonAgentRevoked,
			"Deleted the agent's host ServiceAccount %s/%s: %s", agentidentity.AgentNamespace, accountName, notApproved(registration))
	}
	return nil
}

// notApproved says why a registration counts as not approved.
func notApproved(registration *agentv1alpha1.ClusterRegistration) string {
	if registration.DeletionTimestamp != nil {
		return "the registration is being deleted"
	}
	return "the registration is not approved"
}

// deleteWorks deletes the Works of a cluster that has neither registration
// nor KubeFedCluster. No agent will remove their finalizer (its identity is
// refused once its registration is gone), so it is removed first.
func (c *Controller) deleteWorks(ctx context.Context, cluster string) error {
	objs, err := c.works.ByIndex(worksByCluster, cluster)
	if err != nil {
		return err
	}
	// In name order, so that a run does the same thing in the same order.
	slices.SortFunc(objs, func(a, b any) int {
		wa, _ := a.(*agentv1alpha1.Work)
		wb, _ := b.(*agentv1alpha1.Work)
		if wa == nil || wb == nil {
			return 0
		}
		return strings.Compare(wa.Name, wb.Name)
	})
	works := c.fedhub.AgentV1alpha1().Works(c.namespace)
	var errs []error
	for _, obj := range objs {
		work, ok := obj.(*agentv1alpha1.Work)
		if !ok || work.Namespace != c.namespace {
			continue
		}
		if i := slices.Index(work.Finalizers, agentidentity.WorkFinalizer); i >= 0 {
			update := work.DeepCopy()
			update.Finalizers = slices.Delete(update.Finalizers, i, i+1)
			updated, err := works.Update(ctx, update, metav1.UpdateOptions{})
			if apierrors.IsNotFound(err) {
				continue
			} else if err != nil {
				errs = append(errs, fmt.Errorf("removing the finalizer of Work %s: %w", work.Name, err))
				continue
			}
			work = updated
		}
		if work.DeletionTimestamp != nil {
			continue // gone with its last finalizer, or waiting for another's
		}
		err := works.Delete(ctx, work.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &work.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting Work %s: %w", work.Name, err))
			continue
		}
		klog.FromContext(ctx).V(2).Info("Deleted a Work of a cluster with neither registration nor KubeFedCluster", "work", work.Name)
	}
	return errors.Join(errs...)
}
