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
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	fedhubfake "github.com/fedhub/fedhub/generated/clientset/versioned/fake"
	"github.com/fedhub/fedhub/generated/informers/externalversions"
)

const ns = "kube-federation-system"

func registration(name string, approved bool, endpoint string) *agentv1alpha1.ClusterRegistration {
	return &agentv1alpha1.ClusterRegistration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "reg-" + "uid"},
		Spec: agentv1alpha1.ClusterRegistrationSpec{Approved: approved, APIEndpoint: endpoint}}
}

func cluster(name string, mode corev1beta1.ClusterMode, endpoint string) *corev1beta1.KubeFedCluster {
	c := &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "cluster-uid"},
		Spec: corev1beta1.KubeFedClusterSpec{Mode: mode, APIEndpoint: endpoint}}
	if mode != corev1beta1.ClusterModePull {
		c.Spec.SecretRef.Name = name + "-token"
	}
	return c
}

func agentAccount(cluster string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "fedhub-agents", Name: "agent-" + cluster, UID: "sa-uid"}}
}

func work(name, cluster string, finalizers ...string) *agentv1alpha1.Work {
	return &agentv1alpha1.Work{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "work-uid", Finalizers: finalizers},
		Spec: agentv1alpha1.WorkSpec{ClusterName: cluster}}
}

// fixture is a controller on fake clients whose caches hold the objects given.
type fixture struct {
	controller *Controller
	fedhub     *fedhubfake.Clientset
	host       *kubefake.Clientset
	recorder   *record.FakeRecorder
}

func newFixture(t *testing.T, fedhubObjects []runtime.Object, hostObjects ...runtime.Object) *fixture {
	t.Helper()
	fedhub := fedhubfake.NewSimpleClientset(fedhubObjects...)
	host := kubefake.NewClientset(hostObjects...)
	factory := externalversions.NewSharedInformerFactoryWithOptions(fedhub, 0, externalversions.WithNamespace(ns))
	hostFactory := kubeinformers.NewSharedInformerFactoryWithOptions(host, 0, kubeinformers.WithNamespace("fedhub-agents"))
	recorder := record.NewFakeRecorder(100)
	controller, err := NewController(ns, fedhub, host, factory.Agent().V1alpha1().ClusterRegistrations(),
		factory.Core().V1beta1().KubeFedClusters(), factory.Agent().V1alpha1().Works(), hostFactory.Core().V1().ServiceAccounts(), recorder)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		factory.Shutdown()
		hostFactory.Shutdown()
	})
	factory.Start(ctx.Done())
	hostFactory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), controller.synced...) {
		t.Fatal("caches did not sync")
	}
	return &fixture{controller: controller, fedhub: fedhub, host: host, recorder: recorder}
}

// writes are the verbs and resources of the writes sent to a fake client.
func writes(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		name := ""
		switch a := a.(type) {
		case clienttesting.DeleteAction:
			name = a.GetName()
		case clienttesting.CreateAction:
			name = a.GetObject().(metav1.Object).GetName()
		case clienttesting.UpdateAction:
			name = a.GetObject().(metav1.Object).GetName()
		}
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+name)
	}
	return out
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestSync(t *testing.T) {
	tests := []struct {
		name        string
		cluster     string // the name synced; member-2 when empty
		fedhub      []runtime.Object
		host        []runtime.Object
		wantFedhub  []string // writes to fedhub
		wantHost    []string // writes to the host
		wantEvent   string   // a part of an event, "" for none
		checkFedhub func(t *testing.T, f *fixture)
	}{
		{
			name:       "approved registration without a cluster: a pull cluster is created",
			fedhub:     []runtime.Object{registration("member-2", true, "https://10.0.0.2:6443")},
			wantFedhub: []string{"create kubefedclusters member-2"},
			wantEvent:  "Normal ClusterCreated Created the KubeFedCluster member-2 (mode Pull)",
			checkFedhub: func(t *testing.T, f *fixture) {
				c, err := f.fedhub.CoreV1beta1().KubeFedClusters(ns).Get(context.Background(), "member-2", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if c.Spec.Mode != corev1beta1.ClusterModePull || c.Spec.APIEndpoint != "https://10.0.0.2:6443" || c.Spec.SecretRef.Name != "" {
					t.Errorf("created spec %+v, want mode Pull, the registration's endpoint, no secretRef", c.Spec)
				}
			},
		},
		{
			name:       "approved registration whose endpoint changed: the cluster follows",
			fedhub:     []runtime.Object{registration("member-2", true, "https://10.0.0.3:6443"), cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443")},
			wantFedhub: []string{"update kubefedclusters member-2"},
			checkFedhub: func(t *testing.T, f *fixture) {
				c, _ := f.fedhub.CoreV1beta1().KubeFedClusters(ns).Get(context.Background(), "member-2", metav1.GetOptions{})
				if c.Spec.APIEndpoint != "https://10.0.0.3:6443" || c.Spec.Mode != corev1beta1.ClusterModePull {
					t.Errorf("updated spec %+v", c.Spec)
				}
			},
		},
		{
			name:   "approved registration with its cluster in place: nothing to do",
			fedhub: []runtime.Object{registration("member-2", true, "https://10.0.0.2:6443"), cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443")},
			host:   []runtime.Object{agentAccount("member-2")},
		},
		{
			name:      "approved registration named like a push cluster: the push cluster is left alone",
			cluster:   "member-1",
			fedhub:    []runtime.Object{registration("member-1", true, "https://10.0.0.9:6443"), cluster("member-1", corev1beta1.ClusterModePush, "https://10.0.0.1:6443")},
			wantEvent: "Warning ClusterNameTaken The push KubeFedCluster member-1 has this name",
		},
		{
			name:      "approved registration named like a cluster without mode (push): left alone",
			cluster:   "member-1",
			fedhub:    []runtime.Object{registration("member-1", true, "https://10.0.0.9:6443"), cluster("member-1", "", "https://10.0.0.1:6443")},
			wantEvent: "Warning ClusterNameTaken",
		},
		{
			name: "unapproved registration: its pull cluster and agent are removed, its Works kept",
			fedhub: []runtime.Object{registration("member-2", false, "https://10.0.0.2:6443"), cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443"),
				work("member-2-0000000000000001", "member-2", "agent.fedhub.io/member-cleanup")},
			host:       []runtime.Object{agentAccount("member-2")},
			wantFedhub: []string{"delete kubefedclusters member-2"},
			wantHost:   []string{"delete serviceaccounts agent-member-2"},
			wantEvent:  "Normal ClusterDeleted",
		},
		{
			name: "approved registration being deleted: its pull cluster and agent are removed",
			fedhub: []runtime.Object{func() runtime.Object {
				r := registration("member-2", true, "https://10.0.0.2:6443")
				r.DeletionTimestamp = &metav1.Time{Time: time.Now()}
				r.Finalizers = []string{"example.com/hold"}
				return r
			}(), cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443")},
			host:       []runtime.Object{agentAccount("member-2")},
			wantFedhub: []string{"delete kubefedclusters member-2"},
			wantHost:   []string{"delete serviceaccounts agent-member-2"},
			wantEvent:  "Normal ClusterDeleted",
		},
		{
			name:   "unapproved registration without a cluster: nothing but its agent to remove",
			fedhub: []runtime.Object{registration("member-2", false, "")},
			host: []runtime.Object{agentAccount("member-2"),
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "fedhub-agents", Name: "bootstrap-member-2"}}},
			wantHost:  []string{"delete serviceaccounts agent-member-2"},
			wantEvent: "Normal AgentRevoked",
		},
		{
			name:       "no registration and a pull cluster: the cluster and the agent are removed",
			fedhub:     []runtime.Object{cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443")},
			host:       []runtime.Object{agentAccount("member-2")},
			wantFedhub: []string{"delete kubefedclusters member-2"},
			wantHost:   []string{"delete serviceaccounts agent-member-2"},
		},
		{
			name:   "no registration and a push cluster: nothing is touched",
			fedhub: []runtime.Object{cluster("member-2", corev1beta1.ClusterModePush, "https://10.0.0.2:6443"), work("member-2-0000000000000001", "member-2", "agent.fedhub.io/member-cleanup")},
		},
		{
			name: "neither registration nor cluster: the cluster's Works lose their finalizer and are deleted, others stay",
			fedhub: []runtime.Object{
				work("member-2-0000000000000001", "member-2", "agent.fedhub.io/member-cleanup"),
				work("member-2-0000000000000002", "member-2"),
				work("member-3-0000000000000001", "member-3", "agent.fedhub.io/member-cleanup"),
			},
			wantFedhub: []string{"update works member-2-0000000000000001", "delete works member-2-0000000000000001", "delete works member-2-0000000000000002"},
			checkFedhub: func(t *testing.T, f *fixture) {
				if _, err := f.fedhub.AgentV1alpha1().Works(ns).Get(context.Background(), "member-3-0000000000000001", metav1.GetOptions{}); err != nil {
					t.Errorf("another cluster's Work: %v", err)
				}
			},
		},
		{
			name: "a Work being deleted keeps other finalizers and is not deleted again",
			fedhub: []runtime.Object{func() runtime.Object {
				w := work("member-2-0000000000000001", "member-2", "agent.fedhub.io/member-cleanup", "example.com/other")
				w.DeletionTimestamp = &metav1.Time{Time: time.Now()}
				return w
			}()},
			wantFedhub: []string{"update works member-2-0000000000000001"},
			checkFedhub: func(t *testing.T, f *fixture) {
				w, err := f.fedhub.AgentV1alpha1().Works(ns).Get(context.Background(), "member-2-0000000000000001", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(w.Finalizers, []string{"example.com/other"}) {
					t.Errorf("finalizers %v, want only the other one", w.Finalizers)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.fedhub, tt.host...)
			f.fedhub.ClearActions()
			f.host.ClearActions()
			name := tt.cluster
			if name == "" {
				name = "member-2"
			}
			if err := f.controller.sync(context.Background(), name); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := writes(f.fedhub.Actions()); !slices.Equal(got, tt.wantFedhub) {
				t.Errorf("fedhub writes %q, want %q", got, tt.wantFedhub)
			}
			if got := writes(f.host.Actions()); !slices.Equal(got, tt.wantHost) {
				t.Errorf("host writes %q, want %q", got, tt.wantHost)
			}
			events := f.events()
			if tt.wantEvent == "" && len(events) > 0 {
				t.Errorf("events %q, want none", events)
			}
			if tt.wantEvent != "" && !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, tt.wantEvent) }) {
				t.Errorf("events %q, want one with %q", events, tt.wantEvent)
			}
			if tt.checkFedhub != nil {
				tt.checkFedhub(t, f)
			}
		})
	}
}

// TestSyncWriteErrorIsReturned checks that a refused write is retried, not
// forgotten.
func TestSyncWriteErrorIsReturned(t *testing.T) {
	f := newFixture(t, []runtime.Object{registration("member-2", true, "https://10.0.0.2:6443")})
	f.fedhub.PrependReactor("create", "kubefedclusters", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1beta1.Resource("kubefedclusters"), "member-2", nil)
	})
	if err := f.controller.sync(context.Background(), "member-2"); !apierrors.IsForbidden(err) {
		t.Errorf("sync = %v, want the create's 403", err)
	}
}

// TestRun follows a registration through approval and deletion with the
// controller's own loop and informers.
func TestRun(t *testing.T) {
	f := newFixture(t, []runtime.Object{registration("member-2", false, "https://10.0.0.2:6443"),
		work("member-9-0000000000000001", "member-9", "agent.fedhub.io/member-cleanup")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.controller.Run(ctx, 2)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	clusters := f.fedhub.CoreV1beta1().KubeFedClusters(ns)
	registrations := f.fedhub.AgentV1alpha1().ClusterRegistrations(ns)
	waitFor := func(what string, condition func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return condition(), nil
		}); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	waitFor("the orphaned Work to be deleted", func() bool {
		_, err := f.fedhub.AgentV1alpha1().Works(ns).Get(ctx, "member-9-0000000000000001", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := clusters.Get(ctx, "member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a cluster of an unapproved registration: %v", err)
	}
	approved := registration("member-2", true, "https://10.0.0.2:6443")
	if _, err := registrations.Update(ctx, approved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the pull cluster", func() bool {
		c, err := clusters.Get(ctx, "member-2", metav1.GetOptions{})
		return err == nil && c.Spec.Mode == corev1beta1.ClusterModePull
	})
	if _, err := f.host.CoreV1().ServiceAccounts("fedhub-agents").Create(ctx, agentAccount("member-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := registrations.Delete(ctx, "member-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the pull cluster and the agent to be removed", func() bool {
		_, clusterErr := clusters.Get(ctx, "member-2", metav1.GetOptions{})
		_, saErr := f.host.CoreV1().ServiceAccounts("fedhub-agents").Get(ctx, "agent-member-2", metav1.GetOptions{})
		return apierrors.IsNotFound(clusterErr) && apierrors.IsNotFound(saErr)
	})
}

// TestSpecChanged checks that status writes (an agent renews its lease every
// few seconds) do not queue the cluster, and spec changes do.
func TestSpecChanged(t *testing.T) {
	renewed := registration("member-2", true, "https://10.0.0.2:6443")
	renewed.Status.RenewTime = &metav1.MicroTime{Time: time.Now()}
	moved := registration("member-2", true, "https://10.0.0.3:6443")
	unapproved := registration("member-2", false, "https://10.0.0.2:6443")
	reported := cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443")
	reported.Status.KubernetesVersion = "v1.37.2"
	for _, tt := range []struct {
		name     string
		old, obj any
		want     bool
	}{
		{"a lease renewal", registration("member-2", true, "https://10.0.0.2:6443"), renewed, false},
		{"a new endpoint", registration("member-2", true, "https://10.0.0.2:6443"), moved, true},
		{"approval withdrawn", registration("member-2", true, "https://10.0.0.2:6443"), unapproved, true},
		{"a health report", cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443"), reported, false},
		{"a cluster's mode", cluster("member-2", corev1beta1.ClusterModePull, "https://10.0.0.2:6443"), cluster("member-2", corev1beta1.ClusterModePush, "https://10.0.0.2:6443"), true},
	} {
		if got := specChanged(tt.old, tt.obj); got != tt.want {
			t.Errorf("%s: specChanged = %v, want %v", tt.name, got, tt.want)
		}
	}
}
