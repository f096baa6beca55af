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

package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	agentclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/agent/v1alpha1"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agent/identity"
	"github.com/fedhub/fedhub/pkg/member"
)

const (
	// memberInfoRefresh is how often the member's version and topology are
	// read again; the lease is renewed more often than they change.
	memberInfoRefresh = time.Minute
	// refusalsToGiveUp is how many lease renewals in a row the host may
	// refuse before the agent concludes its identity was revoked.
	refusalsToGiveUp = 3
)

// errRevoked says the host refuses the agent's identity everywhere.
var errRevoked = errors.New("the host refuses the agent's identity (revoked, or the registration was deleted or unapproved): " +
	"the agent cannot know whether the member's objects were to be deleted or orphaned, and leaves the member as it is")

// MemberInfo is what the lease reports about the member.
type MemberInfo interface {
	// Healthy says whether the member's API server answers /healthz with ok.
	Healthy(ctx context.Context) error
	// Version is the member API server's gitVersion.
	Version(ctx context.Context) (string, error)
	// NodeLabels are the labels of the member's nodes.
	NodeLabels(ctx context.Context) ([]map[string]string, error)
}

// lease renews the cluster's lease in its ClusterRegistration's status.
type lease struct {
	cluster       string
	duration      time.Duration
	registrations agentclient.ClusterRegistrationInterface
	lister        agentlisters.ClusterRegistrationNamespaceLister
	member        MemberInfo
	now           func() time.Time
	// roomGrewAt is when the member's nodes last gained room, reported for
	// fedhub's capacity estimate; zero, or a nil func, reports nothing new.
	roomGrewAt func() time.Time

	// info is what was last read of the member, and when.
	info     memberInfo
	infoRead time.Time
	refusals int
}

// memberInfo is the member's part of the lease; a field that could not be
// read keeps its last value.
type memberInfo struct {
	version  string
	topology *topology
}

type topology struct {
	zones  []string
	region string
}

// run renews the lease every quarter of its duration until ctx ends, and
// returns errRevoked once the host has refused it refusalsToGiveUp times in
// a row.
func (l *lease) run(ctx context.Context) error {
	ticker := time.NewTicker(l.duration / 4)
	defer ticker.Stop()
	for {
		if err := l.renew(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// renew writes the lease once. Failures are logged and retried at the next
// renewal, except the host's refusals, which end the agent when they last.
func (l *lease) renew(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	// The lease says the cluster is usable, as a push member's probe does:
	// while the member's API server does not answer, it is not renewed and
	// lapses, so fedhub reports the cluster Offline and its objects wait.
	if err := l.member.Healthy(ctx); err != nil {
		logger.Info("Not renewing the lease: the member's API server is not healthy", "err", err.Error())
		return nil
	}
	l.refreshMemberInfo(ctx)
	err := l.write(ctx)
	switch {
	case err == nil:
		l.refusals = 0
		logger.V(4).Info("Renewed the lease")
		return nil
	case identity.Refused(err) || apierrors.IsNotFound(err):
		l.refusals++
		logger.Info("The host refused the lease renewal", "err", err, "times", l.refusals)
		if l.refusals >= refusalsToGiveUp {
			return fmt.Errorf("%w: %v", errRevoked, err)
		}
	case ctx.Err() == nil:
		logger.Error(err, "Renewing the lease failed; retrying at the next renewal")
	}
	return nil
}

// write updates the registration's status, reading it again on a conflict.
func (l *lease) write(ctx context.Context) error {
	reg, err := l.lister.Get(l.cluster)
	if err != nil {
		if reg, err = l.registrations.Get(ctx, l.cluster, metav1.GetOptions{}); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		updated := reg.DeepCopy()
		updated.Status = l.status(reg.Status)
		_, err = l.registrations.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || attempt > 0 {
			return err
		}
		if reg, err = l.registrations.Get(ctx, l.cluster, metav1.GetOptions{}); err != nil {
			return err
		}
	}
}

// status is the lease as it is now.
func (l *lease) status(current agentv1alpha1.ClusterRegistrationStatus) agentv1alpha1.ClusterRegistrationStatus {
	status := *current.DeepCopy()
	status.RenewTime = &metav1.MicroTime{Time: l.now()}
	status.LeaseDurationSeconds = int32(math.Ceil(l.duration.Seconds()))
	status.AgentVersion = agentVersion()
	if l.info.version != "" {
		status.KubernetesVersion = l.info.version
	}
	if l.roomGrewAt != nil {
		if grew := l.roomGrewAt(); !grew.IsZero() {
			// Rounded up: the API keeps seconds, and fedhub drops an estimate
			// made before this time; rounded down, room that came back in the
			// second the estimate was made would not drop it.
			status.RoomGrewTime = &metav1.Time{Time: roundUpToSecond(grew)}
		}
	}
	if t := l.info.topology; t != nil {
		status.Zones = t.zones
		status.Region = nil
		if t.region != "" {
			status.Region = &t.region
		}
	}
	return status
}

// refreshMemberInfo reads the member's version and nodes at most every
// memberInfoRefresh; what cannot be read (nodes without the right to list
// them) keeps its last value.
func (l *lease) refreshMemberInfo(ctx context.Context) {
	if !l.infoRead.IsZero() && l.now().Sub(l.infoRead) < memberInfoRefresh {
		return
	}
	l.infoRead = l.now()
	logger := klog.FromContext(ctx)
	if version, err := l.member.Version(ctx); err != nil {
		logger.V(2).Info("Reading the member's version failed", "err", err)
	} else {
		l.info.version = version
	}
	if labels, err := l.member.NodeLabels(ctx); err != nil {
		logger.V(2).Info("Reading the member's nodes failed; zones and region stay as they were", "err", err)
	} else {
		l.info.topology = topologyOf(labels)
	}
}

// topologyOf is the member's topology as its nodes' labels tell it.
func topologyOf(nodeLabels []map[string]string) *topology {
	t := member.TopologyOf(nodeLabels)
	return &topology{zones: t.Zones, region: t.Region}
}

var nodesResource = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// clusterInfo reads MemberInfo from the member's API server.
type clusterInfo struct {
	discovery discovery.ServerVersionInterface
	metadata  metadata.Interface
	// rest reaches the member's /healthz.
	rest rest.Interface
}

var _ MemberInfo = clusterInfo{}

// healthTimeout bounds a health read, KubeFed's probe timeout.
const healthTimeout = 3 * time.Second

func (c clusterInfo) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	body, err := c.rest.Get().AbsPath("/healthz").Do(ctx).Raw()
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		return fmt.Errorf("/healthz answered %q", truncated(string(body)))
	}
	return nil
}

func truncated(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (c clusterInfo) Version(context.Context) (string, error) {
	v, err := c.discovery.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

func (c clusterInfo) NodeLabels(ctx context.Context) ([]map[string]string, error) {
	// resourceVersion 0: served from the API server's cache.
	nodes, err := c.metadata.Resource(nodesResource).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		out = append(out, n.Labels)
	}
	return out, nil
}

// roundUpToSecond is t, or the next whole second when t has a fraction.
func roundUpToSecond(t time.Time) time.Time {
	if truncated := t.Truncate(time.Second); truncated.Before(t) {
		return truncated.Add(time.Second)
	}
	return t
}
