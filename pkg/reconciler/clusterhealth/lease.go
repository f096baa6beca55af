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
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	agentinformers "github.com/fedhub/fedhub/generated/informers/externalversions/agent/v1alpha1"
)

// DefaultAgentLease is the lease a pull member's agent is granted when its
// registration names none.
const DefaultAgentLease = 40 * time.Second

// WatchAgentLeases has the controller judge pull members by their agents'
// leases (ClusterRegistration status) instead of probing them, which it
// cannot: fedhub holds no credential for a pull member. Call it before Run.
func (c *Controller) WatchAgentLeases(registrations agentinformers.ClusterRegistrationInformer) error {
	c.registrations = registrations.Lister()
	c.synced = append(c.synced, registrations.Informer().HasSynced)
	// Every renewal pokes the cluster's prober, so an agent that comes back
	// is ready at once; the status is written only when it changes.
	_, err := registrations.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueCluster,
		UpdateFunc: func(_, new any) { c.enqueueCluster(new) },
		DeleteFunc: c.enqueueCluster,
	})
	return err
}

// observeLease reads a pull member's health from its agent's lease: ready
// while the lease runs, offline once it expired (nothing is deleted: objects
// wait for the agent), malformed without an approved registration.
func (c *Controller) observeLease(cluster *corev1beta1.KubeFedCluster, now time.Time) observation {
	if c.registrations == nil {
		return observation{health: healthMalformed, message: "a pull cluster needs fedhub to run with a host cluster, where its agent connects"}
	}
	registration, err := c.registrations.ClusterRegistrations(cluster.Namespace).Get(cluster.Name)
	if apierrors.IsNotFound(err) {
		return observation{health: healthMalformed, message: fmt.Sprintf("no ClusterRegistration %s: a pull cluster is joined by its agent", cluster.Name)}
	}
	if err != nil {
		return observation{health: healthMalformed, message: err.Error()}
	}
	return leaseHealth(registration, now)
}

// leaseHealth judges an agent's registration at a moment.
func leaseHealth(registration *agentv1alpha1.ClusterRegistration, now time.Time) observation {
	if !registration.Spec.Approved {
		return observation{health: healthMalformed, message: fmt.Sprintf("ClusterRegistration %s is not approved", registration.Name)}
	}
	status := registration.Status
	if status.RenewTime == nil {
		return observation{health: healthOffline, message: "the cluster's agent has not renewed its lease yet"}
	}
	lease := DefaultAgentLease
	if status.LeaseDurationSeconds > 0 {
		lease = time.Duration(status.LeaseDurationSeconds) * time.Second
	}
	if expiry := status.RenewTime.Add(lease); now.After(expiry) {
		return observation{health: healthOffline, message: fmt.Sprintf("the cluster's agent has not renewed its lease since %s (lease %s, expired %s)",
			status.RenewTime.UTC().Format(time.RFC3339), lease, expiry.UTC().Format(time.RFC3339))}
	}
	o := observation{health: healthReady, message: "the cluster's agent renews its lease", kubernetesVersion: status.KubernetesVersion}
	if len(status.Zones) > 0 || status.Region != nil {
		o.topology = &topology{zones: status.Zones}
		if status.Region != nil {
			o.topology.region = *status.Region
		}
	}
	return o
}
