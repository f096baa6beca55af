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

package work

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
	"github.com/fedhub/fedhub/registry"
)

// REST serves works. An agent (the ServiceAccount agent-NAME of the agent
// namespace) reads only cluster NAME's Works, lists and watches them only
// with the field selector spec.clusterName=NAME, and may change them only by
// removing finalizers; every other ServiceAccount of the agent namespace is
// refused. This holds whatever the host's RBAC grants.
type REST struct {
	*registry.REST
}

// StatusREST serves works/status, where an agent writes only its cluster's Works.
type StatusREST struct {
	*registry.StatusREST
}

var (
	_ rest.StandardStorage = &REST{}
	_ rest.Patcher         = &StatusREST{}
)

var works = agent.Resource("works")

// scope is what the requesting user may reach.
type scope struct {
	// restricted is set for an agent: only cluster's Works are its.
	restricted bool
	cluster    string
}

// scopeOf classifies the request's user; users of the agent namespace other
// than an agent are refused at once.
func scopeOf(ctx context.Context, name string) (scope, error) {
	user, ok := request.UserFrom(ctx)
	if !ok {
		return scope{}, nil
	}
	role, cluster := agentidentity.Classify(user.GetName())
	switch role {
	case agentidentity.NotAgent:
		return scope{}, nil
	case agentidentity.Agent:
		return scope{restricted: true, cluster: cluster}, nil
	default:
		return scope{}, apierrors.NewForbidden(works, name, fmt.Errorf("user %q of the namespace %s is not a cluster's agent and has no access to works",
			user.GetName(), agentidentity.AgentNamespace))
	}
}

// owns refuses a Work of another cluster.
func (s scope) owns(work *agent.Work) error {
	if !s.restricted || work.Spec.ClusterName == s.cluster {
		return nil
	}
	return apierrors.NewForbidden(works, work.Name, fmt.Errorf("the agent of cluster %s may not access a Work of cluster %s", s.cluster, work.Spec.ClusterName))
}

// selects refuses a list or watch that does not select the agent's cluster.
func (s scope) selects(options *metainternalversion.ListOptions) error {
	if !s.restricted {
		return nil
	}
	if options != nil && options.FieldSelector != nil {
		if value, found := options.FieldSelector.RequiresExactMatch(v1alpha1.WorkClusterNameField); found && value == s.cluster {
			return nil
		}
	}
	return apierrors.NewForbidden(works, "", fmt.Errorf("the agent of cluster %s may list and watch works only with the field selector %s=%s",
		s.cluster, v1alpha1.WorkClusterNameField, s.cluster))
}

// refuse answers a request an agent may never make.
func (s scope) refuse(name, what string) error {
	if !s.restricted {
		return nil
	}
	return apierrors.NewForbidden(works, name, fmt.Errorf("the agent of cluster %s may not %s works", s.cluster, what))
}

// Get returns a Work; an agent gets only its cluster's.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return scopedGet(ctx, name, func() (runtime.Object, error) { return r.REST.Get(ctx, name, options) })
}

// List lists Works; an agent must select its cluster's.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	s, err := scopeOf(ctx, "")
	if err != nil {
		return nil, err
	}
	if err := s.selects(options); err != nil {
		return nil, err
	}
	return r.REST.List(ctx, options)
}

// Watch watches Works; an agent must select its cluster's.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	s, err := scopeOf(ctx, "")
	if err != nil {
		return nil, err
	}
	if err := s.selects(options); err != nil {
		return nil, err
	}
	return r.REST.Watch(ctx, options)
}

// Create stores a Work; agents never create them.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	name := ""
	if work, ok := obj.(*agent.Work); ok {
		name = work.Name
	}
	if err := refused(ctx, name, "create"); err != nil {
		return nil, err
	}
	return r.REST.Create(ctx, obj, createValidation, options)
}

// Update changes a Work; an agent may only remove finalizers from its cluster's.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	s, err := scopeOf(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if s.restricted {
		objInfo = checkedUpdate{UpdatedObjectInfo: objInfo, check: func(updated, stored *agent.Work) error {
			if err := s.owns(stored); err != nil {
				return err
			}
			if changed := changesBesidesFinalizerRemoval(updated, stored); len(changed) > 0 {
				return apierrors.NewForbidden(works, name, fmt.Errorf("the agent of cluster %s may only remove finalizers from its Works; this update changes %s",
					s.cluster, strings.Join(changed, ", ")))
			}
			return nil
		}}
		forceAllowCreate = false
	}
	return r.REST.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
}

// Delete deletes a Work; agents never delete them (they remove the finalizer).
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if err := refused(ctx, name, "delete"); err != nil {
		return nil, false, err
	}
	return r.REST.Delete(ctx, name, deleteValidation, options)
}

// DeleteCollection deletes Works; agents never delete them.
func (r *REST) DeleteCollection(ctx context.Context, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions, listOptions *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := refused(ctx, "", "delete"); err != nil {
		return nil, err
	}
	return r.REST.DeleteCollection(ctx, deleteValidation, options, listOptions)
}

// Get returns a Work; an agent gets only its cluster's.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return scopedGet(ctx, name, func() (runtime.Object, error) { return r.StatusREST.Get(ctx, name, options) })
}

// Update writes a Work's status; an agent writes only its cluster's.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	s, err := scopeOf(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if s.restricted {
		objInfo = checkedUpdate{UpdatedObjectInfo: objInfo, check: func(_, stored *agent.Work) error { return s.owns(stored) }}
	}
	return r.StatusREST.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
}

func scopedGet(ctx context.Context, name string, get func() (runtime.Object, error)) (runtime.Object, error) {
	s, err := scopeOf(ctx, name)
	if err != nil {
		return nil, err
	}
	obj, err := get()
	if err != nil {
		return nil, err
	}
	if work, ok := obj.(*agent.Work); ok {
		if err := s.owns(work); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func refused(ctx context.Context, name, what string) error {
	s, err := scopeOf(ctx, name)
	if err != nil {
		return err
	}
	return s.refuse(name, what)
}

// checkedUpdate checks the object an update would store against the stored one
// before the store goes on.
type checkedUpdate struct {
	rest.UpdatedObjectInfo
	check func(updated, stored *agent.Work) error
}

func (c checkedUpdate) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	stored, ok := oldObj.(*agent.Work)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("stored object is %T, not a Work", oldObj))
	}
	obj, err := c.UpdatedObjectInfo.UpdatedObject(ctx, oldObj)
	if err != nil {
		return nil, err
	}
	updated, ok := obj.(*agent.Work)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Work: %T", obj))
	}
	if err := c.check(updated, stored); err != nil {
		return nil, err
	}
	return obj, nil
}

// changesBesidesFinalizerRemoval names what updated changes in stored other
// than removing finalizers. Status is not compared: a write to the main
// resource never changes it.
func changesBesidesFinalizerRemoval(updated, stored *agent.Work) []string {
	var changed []string
	if !specEqual(updated.Spec, stored.Spec) {
		changed = append(changed, "spec")
	}
	if !apiequality.Semantic.DeepEqual(updated.Labels, stored.Labels) {
		changed = append(changed, "metadata.labels")
	}
	if !apiequality.Semantic.DeepEqual(updated.Annotations, stored.Annotations) {
		changed = append(changed, "metadata.annotations")
	}
	if !apiequality.Semantic.DeepEqual(updated.OwnerReferences, stored.OwnerReferences) {
		changed = append(changed, "metadata.ownerReferences")
	}
	remaining := make(map[string]int, len(stored.Finalizers))
	for _, f := range stored.Finalizers {
		remaining[f]++
	}
	for _, f := range updated.Finalizers {
		if remaining[f] == 0 {
			changed = append(changed, "metadata.finalizers (adds "+f+")")
			break
		}
		remaining[f]--
	}
	return changed
}

// specEqual compares specs, their manifests and Helm values as JSON values:
// a patched Work comes back re-encoded.
func specEqual(a, b agent.WorkSpec) bool {
	if !jsonEqual(a.Manifest, b.Manifest) {
		return false
	}
	a.Manifest, b.Manifest = runtime.RawExtension{}, runtime.RawExtension{}
	if a.HelmRelease != nil && b.HelmRelease != nil {
		if !jsonEqual(ptr.Deref(a.HelmRelease.Values, runtime.RawExtension{}), ptr.Deref(b.HelmRelease.Values, runtime.RawExtension{})) {
			return false
		}
		// Copies, so that the callers' Works keep their values.
		releaseA, releaseB := *a.HelmRelease, *b.HelmRelease
		releaseA.Values, releaseB.Values = nil, nil
		a.HelmRelease, b.HelmRelease = &releaseA, &releaseB
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

func jsonEqual(a, b runtime.RawExtension) bool {
	var va, vb any
	if err := unmarshalRaw(a, &va); err != nil {
		return false
	}
	if err := unmarshalRaw(b, &vb); err != nil {
		return false
	}
	return apiequality.Semantic.DeepEqual(va, vb)
}

func unmarshalRaw(raw runtime.RawExtension, into *any) error {
	data := raw.Raw
	if len(data) == 0 && raw.Object != nil {
		var err error
		if data, err = json.Marshal(raw.Object); err != nil {
			return err
		}
	}
	if len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, into)
}
