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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	agentlisters "github.com/fedhub/fedhub/generated/listers/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/join"
)

const (
	cluster   = "member-2"
	namespace = "kube-federation-system"
)

var now = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

func registration() *agentv1alpha1.ClusterRegistration {
	return &agentv1alpha1.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: cluster, Namespace: namespace, ResourceVersion: "1"},
		Spec:       agentv1alpha1.ClusterRegistrationSpec{Approved: true},
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Options)
		errs   []string
	}{
		{"defaults with the required flags", func(*Options) {}, nil},
		{"no cluster name", func(o *Options) { o.ClusterName = "" }, []string{"--cluster-name is required"}},
		{"cluster name not a DNS subdomain", func(o *Options) { o.ClusterName = "Member_2" }, []string{`--cluster-name "Member_2"`}},
		{"no state dir", func(o *Options) { o.StateDir = "" }, []string{"--state-dir is required"}},
		{"short lease", func(o *Options) { o.LeaseDuration = time.Second }, []string{"--lease-duration must be at least 4s"}},
		{"short tokens", func(o *Options) { o.TokenExpiration = 5 * time.Minute }, []string{"--token-expiration must be at least 10m0s"}},
		{"no workers", func(o *Options) { o.Workers = 0 }, []string{"--workers must be at least 1"}},
		{"several", func(o *Options) { o.ClusterName, o.Workers = "", -1 }, []string{"--cluster-name is required", "--workers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			o.ClusterName, o.StateDir = cluster, "/var/lib/fedhub-agent"
			tc.mutate(o)
			err := o.Validate()
			if len(tc.errs) == 0 {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to say %q", err, want)
				}
			}
		})
	}
}

func TestTopologyOf(t *testing.T) {
	tests := []struct {
		name   string
		nodes  []map[string]string
		zones  []string
		region string
	}{
		{"no nodes", nil, nil, ""},
		{"no labels", []map[string]string{{}, {"a": "b"}}, nil, ""},
		{"zones distinct and sorted, one region", []map[string]string{
			{"topology.kubernetes.io/zone": "b", "topology.kubernetes.io/region": "r"},
			{"topology.kubernetes.io/zone": "a", "topology.kubernetes.io/region": "r"},
			{"topology.kubernetes.io/zone": "b", "topology.kubernetes.io/region": "r"},
		}, []string{"a", "b"}, "r"},
		{"the region most nodes are in", []map[string]string{
			{"topology.kubernetes.io/region": "east"},
			{"topology.kubernetes.io/region": "west"},
			{"topology.kubernetes.io/region": "west"},
		}, nil, "west"},
		{"a tie goes to the first name", []map[string]string{
			{"topology.kubernetes.io/region": "west"},
			{"topology.kubernetes.io/region": "east"},
		}, nil, "east"},
		{"legacy labels", []map[string]string{
			{"failure-domain.beta.kubernetes.io/zone": "z", "failure-domain.beta.kubernetes.io/region": "old"},
		}, []string{"z"}, "old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := topologyOf(tc.nodes)
			if !slices.Equal(got.zones, tc.zones) || got.region != tc.region {
				t.Errorf("zones %v region %q, want %v %q", got.zones, got.region, tc.zones, tc.region)
			}
		})
	}
}

// fakeMemberInfo answers with its fields; an error field fails that read.
type fakeMemberInfo struct {
	unhealthy  error
	version    string
	versionErr error
	nodes      []map[string]string
	nodesErr   error
}

func (f *fakeMemberInfo) Healthy(context.Context) error           { return f.unhealthy }
func (f *fakeMemberInfo) Version(context.Context) (string, error) { return f.version, f.versionErr }
func (f *fakeMemberInfo) NodeLabels(context.Context) ([]map[string]string, error) {
	return f.nodes, f.nodesErr
}

func newTestLease(hub *fake.Clientset, member MemberInfo, clock *time.Time) *lease {
	return &lease{
		cluster: cluster, duration: 40 * time.Second,
		registrations: hub.AgentV1alpha1().ClusterRegistrations(namespace),
		lister:        agentlisters.NewClusterRegistrationLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})).ClusterRegistrations(namespace),
		member:        member,
		now:           func() time.Time { return *clock },
	}
}

func stored(t *testing.T, hub *fake.Clientset) agentv1alpha1.ClusterRegistrationStatus {
	t.Helper()
	reg, err := hub.AgentV1alpha1().ClusterRegistrations(namespace).Get(context.Background(), cluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return reg.Status
}

// TestLeaseRenew: each renewal writes renewTime and the lease duration; the
// member's version and topology are read at most every minute and keep
// their last values when they cannot be read.
func TestLeaseRenew(t *testing.T) {
	hub := fake.NewSimpleClientset(registration())
	member := &fakeMemberInfo{version: "v1.37.2", nodes: []map[string]string{
		{"topology.kubernetes.io/zone": "eu-1a", "topology.kubernetes.io/region": "eu-1"},
		{"topology.kubernetes.io/zone": "eu-1b", "topology.kubernetes.io/region": "eu-1"},
	}}
	clock := now
	l := newTestLease(hub, member, &clock)
	ctx := context.Background()
	if err := l.renew(ctx); err != nil {
		t.Fatal(err)
	}
	status := stored(t, hub)
	if status.RenewTime == nil || !status.RenewTime.Time.Equal(now) || status.LeaseDurationSeconds != 40 ||
		status.KubernetesVersion != "v1.37.2" || !slices.Equal(status.Zones, []string{"eu-1a", "eu-1b"}) ||
		ptr.Deref(status.Region, "") != "eu-1" || status.AgentVersion == "" {
		t.Errorf("status %+v", status)
	}

	// Ten seconds later: renewed, the member not read again.
	member.version, member.nodes = "v1.38.0", nil
	clock = now.Add(10 * time.Second)
	if err := l.renew(ctx); err != nil {
		t.Fatal(err)
	}
	status = stored(t, hub)
	if !status.RenewTime.Time.Equal(clock) || status.KubernetesVersion != "v1.37.2" {
		t.Errorf("after 10s: renewTime %v version %q, want %v and the version read before", status.RenewTime, status.KubernetesVersion, clock)
	}

	// A minute later the member is read again; nodes may not be listed.
	member.nodesErr = apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("RBAC"))
	clock = now.Add(time.Minute + time.Second)
	if err := l.renew(ctx); err != nil {
		t.Fatal(err)
	}
	status = stored(t, hub)
	if status.KubernetesVersion != "v1.38.0" || !slices.Equal(status.Zones, []string{"eu-1a", "eu-1b"}) || ptr.Deref(status.Region, "") != "eu-1" {
		t.Errorf("after a minute: %+v, want the new version and the zones and region read before", status)
	}
}

// TestLeaseReportsRoomGrew: the lease carries when the member's nodes last
// gained room, for fedhub's capacity estimate, and keeps the reported time
// while the agent's node watch has seen none (after a restart).
func TestLeaseReportsRoomGrew(t *testing.T) {
	hub := fake.NewSimpleClientset(registration())
	clock := now
	l := newTestLease(hub, &fakeMemberInfo{version: "v1.37.2"}, &clock)
	var grew time.Time
	l.roomGrewAt = func() time.Time { return grew }
	ctx := context.Background()
	if err := l.renew(ctx); err != nil {
		t.Fatal(err)
	}
	if status := stored(t, hub); status.RoomGrewTime != nil {
		t.Errorf("roomGrewTime %v before the nodes gained room, want none", status.RoomGrewTime)
	}
	// Rounded up to the second, which the API keeps: an estimate made in
	// that second is older than it.
	grew = now.Add(5*time.Second + 300*time.Millisecond)
	clock = now.Add(10 * time.Second)
	if err := l.renew(ctx); err != nil {
		t.Fatal(err)
	}
	if status := stored(t, hub); status.RoomGrewTime == nil || !status.RoomGrewTime.Time.Equal(now.Add(6*time.Second)) {
		t.Errorf("roomGrewTime %v, want %v", status.RoomGrewTime, now.Add(6*time.Second))
	}
	grew = now.Add(6 * time.Second)
	restarted := newTestLease(hub, &fakeMemberInfo{version: "v1.37.2"}, &clock)
	restarted.roomGrewAt = func() time.Time { return time.Time{} }
	clock = now.Add(20 * time.Second)
	if err := restarted.renew(ctx); err != nil {
		t.Fatal(err)
	}
	if status := stored(t, hub); status.RoomGrewTime == nil || !status.RoomGrewTime.Time.Equal(grew) {
		t.Errorf("after a restart roomGrewTime %v, want %v kept", status.RoomGrewTime, grew)
	}
}

// TestLeaseLapsesWhileTheMemberIsDown: while the member's API server does
// not answer /healthz the lease is not renewed (so fedhub reports the
// cluster Offline, as for a push member that does not answer); it is
// renewed again once the member answers.
func TestLeaseLapsesWhileTheMemberIsDown(t *testing.T) {
	hub := fake.NewSimpleClientset(registration())
	member := &fakeMemberInfo{version: "v1.37.2", unhealthy: errors.New("connection refused")}
	clock := now
	l := newTestLease(hub, member, &clock)
	if err := l.renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status := stored(t, hub); status.RenewTime != nil {
		t.Errorf("renewed while the member is down: %+v", status)
	}
	member.unhealthy = nil
	clock = now.Add(10 * time.Second)
	if err := l.renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status := stored(t, hub); status.RenewTime == nil || !status.RenewTime.Time.Equal(clock) {
		t.Errorf("not renewed once the member answers: %+v", status)
	}
}

// TestLeaseRefused: the host refusing renewals three times in a row ends
// the agent; other failures and a refusal followed by a success do not.
func TestLeaseRefused(t *testing.T) {
	hub := fake.NewSimpleClientset(registration())
	var answers []error
	hub.PrependReactor("update", "clusterregistrations", func(clienttesting.Action) (bool, runtime.Object, error) {
		if len(answers) == 0 {
			return false, nil, nil
		}
		err := answers[0]
		answers = answers[1:]
		return err != nil, nil, err
	})
	clock := now
	l := newTestLease(hub, &fakeMemberInfo{}, &clock)
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "agent.fedhub.io", Resource: "clusterregistrations"}, cluster, errors.New("not approved"))
	unauthorized := apierrors.NewUnauthorized("revoked")
	answers = []error{forbidden, unauthorized, nil, apierrors.NewServiceUnavailable("busy"), forbidden, forbidden}
	for i := range 6 {
		if err := l.renew(context.Background()); err != nil {
			t.Fatalf("renewal %d: %v, want the agent to go on", i+1, err)
		}
	}
	answers = []error{unauthorized}
	if err := l.renew(context.Background()); !errors.Is(err, errRevoked) {
		t.Errorf("third refusal in a row: %v, want errRevoked", err)
	}
}

// TestRegistrationWatch: a registration being deleted, or gone, tells what
// the unjoin asked; a tombstone without the annotation cannot tell.
func TestRegistrationWatch(t *testing.T) {
	annotated := func(mode string) *agentv1alpha1.ClusterRegistration {
		reg := registration()
		reg.Annotations = map[string]string{join.UnjoinAnnotation: mode}
		return reg
	}
	deleting := func(reg *agentv1alpha1.ClusterRegistration) *agentv1alpha1.ClusterRegistration {
		reg.DeletionTimestamp = ptr.To(metav1.NewTime(now))
		reg.Finalizers = []string{"x"}
		return reg
	}
	events := []struct {
		name string
		send func(h cache.ResourceEventHandler)
		want *unjoin
	}{
		{"an update without deletion", func(h cache.ResourceEventHandler) { h.OnUpdate(registration(), annotated("orphan")) }, nil},
		{"being deleted, orphan", func(h cache.ResourceEventHandler) {
			h.OnUpdate(registration(), deleting(annotated("orphan")))
		}, &unjoin{orphan: true, known: true, mode: "orphan"}},
		{"listed while being deleted", func(h cache.ResourceEventHandler) { h.OnAdd(deleting(annotated("delete")), true) },
			&unjoin{known: true, mode: "delete"}},
		{"deleted, delete", func(h cache.ResourceEventHandler) { h.OnDelete(annotated("delete")) }, &unjoin{known: true, mode: "delete"}},
		{"deleted without the annotation: delete", func(h cache.ResourceEventHandler) { h.OnDelete(registration()) }, &unjoin{known: true}},
		{"tombstone with the annotation", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: namespace + "/" + cluster, Obj: annotated("orphan")})
		}, &unjoin{orphan: true, known: true, mode: "orphan"}},
		{"tombstone without the annotation: cannot know", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: namespace + "/" + cluster, Obj: registration()})
		}, &unjoin{}},
		{"tombstone of something else: cannot know", func(h cache.ResourceEventHandler) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "x", Obj: nil})
		}, &unjoin{}},
	}
	for _, tc := range events {
		t.Run(tc.name, func(t *testing.T) {
			w := newRegistrationWatch(fake.NewSimpleClientset(), namespace, cluster)
			tc.send(w.handler)
			select {
			case got := <-w.ended:
				if tc.want == nil || got != *tc.want {
					t.Errorf("unjoin %+v, want %+v", got, tc.want)
				}
			default:
				if tc.want != nil {
					t.Errorf("no unjoin, want %+v", *tc.want)
				}
			}
		})
	}
}

func writeBootstrap(t *testing.T, path, token string) {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["host"] = &clientcmdapi.Cluster{Server: "https://host.example:6443"}
	c.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["u"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "u"}
	c.CurrentContext = "u"
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
}

// TestUnjoinedBootstrapRefused: after an unjoin, a restart with the same
// bootstrap token does not join the cluster again; a new token does.
func TestUnjoinedBootstrapRefused(t *testing.T) {
	dir := t.TempDir()
	o := NewOptions()
	o.ClusterName, o.StateDir, o.HubKubeconfig = cluster, filepath.Join(dir, "state"), filepath.Join(dir, "bootstrap.kubeconfig")
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeBootstrap(t, o.HubKubeconfig, "first")
	if err := refuseUnjoinedBootstrap(o); err != nil {
		t.Fatalf("before an unjoin: %v", err)
	}
	if err := os.WriteFile(filepath.Join(o.StateDir, "identity.kubeconfig"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rememberUnjoined(o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(o.StateDir, "identity.kubeconfig")); !os.IsNotExist(err) {
		t.Errorf("the revoked identity was kept: %v", err)
	}
	if err := refuseUnjoinedBootstrap(o); err == nil || !strings.Contains(err.Error(), "fedhubctl token create member-2") {
		t.Errorf("same bootstrap token after the unjoin: %v, want a refusal naming the fix", err)
	}
	writeBootstrap(t, o.HubKubeconfig, "second")
	if err := refuseUnjoinedBootstrap(o); err != nil {
		t.Errorf("a new bootstrap token: %v", err)
	}
}
