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

package clusterregistration_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/utils/ptr"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/registry"
	"github.com/fedhub/fedhub/registry/agent/clusterregistration"
	"github.com/fedhub/fedhub/registry/registrytest"
)

func newStorage(t *testing.T) (*registry.REST, *registry.StatusREST, *etcd3testing.EtcdTestServer) {
	t.Helper()
	optsGetter, server := registrytest.NewEtcdStorage(t)
	storage, statusStorage, err := clusterregistration.NewREST(apiserver.Scheme, optsGetter)
	if err != nil {
		t.Fatalf("unexpected error from REST storage: %v", err)
	}
	return storage, statusStorage, server
}

func validNewRegistration() *agent.ClusterRegistration {
	return &agent.ClusterRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2", Namespace: metav1.NamespaceDefault},
		Spec:       agent.ClusterRegistrationSpec{APIEndpoint: "https://10.0.0.2:6443"},
	}
}

// renewed is what an agent writes; times are whole microseconds, which the stored JSON keeps.
func renewed() agent.ClusterRegistrationStatus {
	return agent.ClusterRegistrationStatus{
		RenewTime:            ptr.To(metav1.NewMicroTime(time.Now().Add(-5 * time.Second).Truncate(time.Microsecond))),
		LeaseDurationSeconds: 40,
		KubernetesVersion:    "v1.37.2",
		Zones:                []string{"z1"},
		Region:               ptr.To("r1"),
		AgentVersion:         "v0.1.0",
	}
}

func TestCreate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	registration := validNewRegistration()
	registration.ObjectMeta = metav1.ObjectMeta{}
	badEndpoint := validNewRegistration()
	badEndpoint.Namespace = test.TestNamespace()
	badEndpoint.Spec.APIEndpoint = "ftp://member-2"
	test.TestCreate(registration, badEndpoint)
}

func TestUpdate(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	test.TestUpdate(validNewRegistration(),
		func(obj runtime.Object) runtime.Object {
			object := obj.(*agent.ClusterRegistration)
			object.Spec.Approved = true
			return object
		},
		func(obj runtime.Object) runtime.Object {
			object := obj.(*agent.ClusterRegistration)
			object.Spec.APIEndpoint = "https://member:0"
			return object
		},
	)
}

func TestDelete(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	genericregistrytest.New(t, storage.Store).TestDelete(validNewRegistration())
}

func TestGet(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	genericregistrytest.New(t, storage.Store).TestGet(validNewRegistration())
}

func TestList(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	genericregistrytest.New(t, storage.Store).TestList(validNewRegistration())
}

func TestWatch(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	test := genericregistrytest.New(t, storage.Store)
	registration := validNewRegistration()
	registration.Namespace = test.TestNamespace()
	test.TestWatch(registration,
		[]labels.Set{{}},
		[]labels.Set{{"a": "b"}},
		[]fields.Set{{"metadata.name": "member-2"}, {"metadata.namespace": test.TestNamespace()}},
		[]fields.Set{{"metadata.name": "member-3"}},
	)
}

// TestUpdateStatus checks that the agent's status writes leave the spec (and
// the approval) alone and that spec writes leave the agent's lease alone.
func TestUpdateStatus(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)

	sent := validNewRegistration()
	sent.Status = renewed() // dropped: only the agent's status writes set it
	obj, err := storage.Create(ctx, sent, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	created := obj.(*agent.ClusterRegistration)
	if !apiequality.Semantic.DeepEqual(created.Status, agent.ClusterRegistrationStatus{}) {
		t.Errorf("created with status %+v, want none", created.Status)
	}

	statusUpdate := created.DeepCopy()
	statusUpdate.Status = renewed()
	statusUpdate.Spec.Approved = true // an agent cannot approve itself through /status
	if _, _, err := statusStorage.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(statusUpdate),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status update: %v", err)
	}
	afterStatus := get(t, storage, ctx, created.Name)
	if afterStatus.Spec.Approved {
		t.Error("a status write approved the registration")
	}
	if !apiequality.Semantic.DeepEqual(afterStatus.Status, statusUpdate.Status) {
		t.Errorf("status after a status write = %+v, want %+v", afterStatus.Status, statusUpdate.Status)
	}

	approval := afterStatus.DeepCopy()
	approval.Spec.Approved = true
	approval.Status = agent.ClusterRegistrationStatus{}
	if _, _, err := storage.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(approval),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	afterApproval := get(t, storage, ctx, created.Name)
	if !afterApproval.Spec.Approved || afterApproval.Generation != 2 {
		t.Errorf("after approval: approved %v generation %d, want true and 2", afterApproval.Spec.Approved, afterApproval.Generation)
	}
	if !apiequality.Semantic.DeepEqual(afterApproval.Status, afterStatus.Status) {
		t.Errorf("a spec write changed the status to %+v", afterApproval.Status)
	}

	negative := afterApproval.DeepCopy()
	negative.Status.LeaseDurationSeconds = -1
	if _, _, err := statusStorage.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(negative),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("negative lease: got %v, want Invalid", err)
	}
}

func get(t *testing.T, storage *registry.REST, ctx context.Context, name string) *agent.ClusterRegistration {
	t.Helper()
	obj, err := storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return obj.(*agent.ClusterRegistration)
}

func TestKubectlNames(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	registrytest.AssertKubectlNames(t, storage, []string{"creg"}, nil)
}

func TestConvertToTable(t *testing.T) {
	storage, statusStorage, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()

	waiting := validNewRegistration()
	waiting.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
	joined := validNewRegistration()
	joined.Spec.Approved = true
	joined.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
	joined.Status = renewed()

	columns := []string{"Name", "Approved", "Age", "Renewed", "API-Endpoint", "Kubernetes-Version"}
	priorities := []int32{0, 0, 0, 0, 1, 1}
	for name, convertor := range map[string]rest.TableConvertor{"main": storage, "status": statusStorage} {
		registrytest.AssertTable(t, name+" waiting", convertor, waiting, columns, priorities,
			[]interface{}{"member-2", false, "3h", "<never>", "https://10.0.0.2:6443", ""})
		registrytest.AssertTable(t, name+" joined", convertor, joined, columns, priorities,
			[]interface{}{"member-2", true, "3h", "5s", "https://10.0.0.2:6443", "v1.37.2"})
	}
}

// fakeMinter records what it was asked for.
type fakeMinter struct {
	cluster string
	seconds int64
	err     error
}

func (m *fakeMinter) AgentToken(_ context.Context, cluster string, expirationSeconds int64) (string, time.Time, error) {
	m.cluster, m.seconds = cluster, expirationSeconds
	if m.err != nil {
		return "", time.Time{}, m.err
	}
	return "token-of-" + cluster, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

func TestToken(t *testing.T) {
	storage, _, server := newStorage(t)
	defer server.Terminate(t)
	defer storage.Store.DestroyFunc()
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceDefault)
	pending := validNewRegistration()
	approved := validNewRegistration()
	approved.Name = "member-3"
	approved.Spec.Approved = true
	for _, r := range []*agent.ClusterRegistration{pending, approved} {
		if _, err := storage.Create(ctx, r, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	minter := &fakeMinter{}
	token := clusterregistration.NewTokenREST(storage, minter)
	create := func(name string, seconds *int64, options *metav1.CreateOptions) (*agent.AgentToken, error) {
		obj, err := token.Create(ctx, name, &agent.AgentToken{Spec: agent.AgentTokenSpec{ExpirationSeconds: seconds}}, rest.ValidateAllObjectFunc, options)
		if err != nil {
			return nil, err
		}
		return obj.(*agent.AgentToken), nil
	}

	minted, err := create("member-3", nil, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of an approved registration: %v", err)
	}
	if minted.Status.Token != "token-of-member-3" || !minted.Status.ExpirationTimestamp.Equal(ptr.To(metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))) {
		t.Errorf("minted %+v", minted.Status)
	}
	if minter.cluster != "member-3" || minter.seconds != 3600 || *minted.Spec.ExpirationSeconds != 3600 || minted.Name != "member-3" {
		t.Errorf("asked the minter for %q %d s, answered %+v; want member-3 for 3600 s", minter.cluster, minter.seconds, minted)
	}
	if _, err := create("member-3", ptr.To[int64](7200), &metav1.CreateOptions{}); err != nil || minter.seconds != 7200 {
		t.Errorf("token for 7200 s: %v, minter asked for %d", err, minter.seconds)
	}

	minter.cluster = ""
	dry, err := create("member-3", nil, &metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || dry.Status.Token != "" || minter.cluster != "" {
		t.Errorf("dry run: %v, token %q, minter asked for %q; want no token minted", err, dry.Status.Token, minter.cluster)
	}

	if _, err := create("member-2", nil, &metav1.CreateOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "cluster registration member-2 is not approved") {
		t.Errorf("token of a pending registration: got %v, want Forbidden: not approved", err)
	}
	if _, err := create("member-9", nil, &metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("token of a missing registration: got %v, want NotFound", err)
	}
	if _, err := create("member-3", ptr.To[int64](60), &metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("token for 60 s: got %v, want Invalid", err)
	}
	refuse := func(context.Context, runtime.Object) error {
		return apierrors.NewForbidden(agent.Resource("clusterregistrations"), "x", errors.New("admission"))
	}
	if _, err := token.Create(ctx, "member-3", &agent.AgentToken{}, refuse, &metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("token refused by admission: got %v, want Forbidden", err)
	}
	minter.err = errors.New("host down")
	if _, err := create("member-3", nil, &metav1.CreateOptions{}); !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "host down") {
		t.Errorf("token when the host fails: got %v, want an internal error saying why", err)
	}

	standalone := clusterregistration.NewTokenREST(storage, nil)
	_, err = standalone.Create(ctx, "member-3", &agent.AgentToken{}, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "pull mode needs a host cluster") {
		t.Errorf("token without a host: got %v, want 503: pull mode needs a host cluster", err)
	}
}
