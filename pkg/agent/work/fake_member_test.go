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
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

// fakeMember is a member cluster in memory: Apply replaces what the
// manifest sets and keeps status, uid and other managers' labels, roughly as
// a forced server-side apply does.
type fakeMember struct {
	mu      sync.Mutex
	objects map[Ref]*unstructured.Unstructured
	rv      int
	// errs fails a verb: "get", "apply", "delete", "unmanage".
	errs map[string]error
	// holdDeletes keeps deleted objects, deleting, as a finalizer would.
	holdDeletes bool
	calls       []string
	applied     []*unstructured.Unstructured
	deleteOpts  []metav1.DeleteOptions
}

var _ Member = &fakeMember{}

func newFakeMember(objs ...*unstructured.Unstructured) *fakeMember {
	m := &fakeMember{objects: map[Ref]*unstructured.Unstructured{}, errs: map[string]error{}}
	for _, o := range objs {
		m.objects[refOf(o)] = o.DeepCopy()
	}
	return m
}

func refOf(o *unstructured.Unstructured) Ref {
	gvk := o.GroupVersionKind()
	resource := map[string]string{"Deployment": "deployments", "ConfigMap": "configmaps", "Namespace": "namespaces", "Service": "services"}[gvk.Kind]
	return Ref{Resource: schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resource},
		Namespace: o.GetNamespace(), Name: o.GetName()}
}

func (m *fakeMember) Get(_ context.Context, ref Ref) (*unstructured.Unstructured, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "get")
	if err := m.errs["get"]; err != nil {
		return nil, err
	}
	if o, ok := m.objects[ref]; ok {
		return o.DeepCopy(), nil
	}
	return nil, nil
}

func (m *fakeMember) Apply(_ context.Context, ref Ref, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "apply")
	m.applied = append(m.applied, obj.DeepCopy())
	if err := m.errs["apply"]; err != nil {
		return nil, err
	}
	out := obj.DeepCopy()
	m.rv++
	generation := int64(1)
	if live, ok := m.objects[ref]; ok {
		out.SetUID(live.GetUID())
		generation = live.GetGeneration() + 1
		if status, ok := live.Object["status"]; ok {
			out.Object["status"] = status
		}
		labels := live.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range obj.GetLabels() {
			labels[k] = v
		}
		out.SetLabels(labels)
	} else {
		out.SetUID(types.UID("uid-" + ref.Name))
	}
	out.SetGeneration(generation)
	out.SetResourceVersion(strconv.Itoa(m.rv))
	m.objects[ref] = out
	return out.DeepCopy(), nil
}

func (m *fakeMember) Delete(_ context.Context, ref Ref, uid string, opts metav1.DeleteOptions) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "delete")
	m.deleteOpts = append(m.deleteOpts, opts)
	if err := m.errs["delete"]; err != nil {
		return false, err
	}
	live, ok := m.objects[ref]
	if !ok {
		return true, nil
	}
	if uid != "" && string(live.GetUID()) != uid {
		return true, nil
	}
	if m.holdDeletes {
		now := metav1.Now()
		live.SetDeletionTimestamp(&now)
		return false, nil
	}
	delete(m.objects, ref)
	return true, nil
}

func (m *fakeMember) Unmanage(_ context.Context, ref Ref) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "unmanage")
	if err := m.errs["unmanage"]; err != nil {
		return err
	}
	live, ok := m.objects[ref]
	if !ok {
		return apierrors.NewNotFound(ref.Resource.GroupResource(), ref.Name)
	}
	labels := live.GetLabels()
	delete(labels, managedLabel)
	live.SetLabels(labels)
	return nil
}

func (m *fakeMember) object(ref Ref) *unstructured.Unstructured {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[ref]
}

// deployment is a member Deployment shop/web with replicas and labels.
func deployment(replicas int64, labels map[string]string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]interface{}{"name": "web", "namespace": "shop"},
		"spec": map[string]interface{}{
			"replicas": replicas,
			"template": map[string]interface{}{"spec": map[string]interface{}{
				"containers": []interface{}{map[string]interface{}{"name": "web", "image": "nginx:1"}},
			}},
		},
	}}
	if labels != nil {
		o.SetLabels(labels)
	}
	return o
}

var deploymentRef = Ref{Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: "shop", Name: "web"}

func managedLabels() map[string]string { return map[string]string{managedLabel: "true"} }

// liveDeployment is deployment as the member stores it: uid, generation,
// resourceVersion, defaults and status.
func liveDeployment(replicas int64, labels map[string]string, mutate ...func(*unstructured.Unstructured)) *unstructured.Unstructured {
	o := deployment(replicas, labels)
	o.SetUID("uid-web")
	o.SetGeneration(4)
	o.SetResourceVersion("100")
	_ = unstructured.SetNestedField(o.Object, int64(10), "spec", "revisionHistoryLimit")
	o.Object["status"] = map[string]interface{}{"observedGeneration": int64(4), "readyReplicas": replicas}
	for _, f := range mutate {
		f(o)
	}
	return o
}

// newWork returns a Work of member-2 whose manifest is manifest, at generation 3.
func newWork(manifest interface{}, mutate ...func(*agentv1alpha1.Work)) *agentv1alpha1.Work {
	w := &agentv1alpha1.Work{
		ObjectMeta: metav1.ObjectMeta{Name: "member-2-0123456789abcdef", Namespace: "kube-federation-system",
			Generation: 3, ResourceVersion: "7", Finalizers: []string{Finalizer}},
		Spec: agentv1alpha1.WorkSpec{
			ClusterName: "member-2",
			Resource:    agentv1alpha1.WorkResource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true},
			Adopt:       true,
		},
	}
	switch m := manifest.(type) {
	case *unstructured.Unstructured:
		raw, err := m.MarshalJSON()
		if err != nil {
			panic(err)
		}
		w.Spec.Manifest = runtime.RawExtension{Raw: raw}
	case string:
		w.Spec.Manifest = runtime.RawExtension{Raw: []byte(m)}
	default:
		panic(fmt.Sprintf("manifest %T", manifest))
	}
	for _, f := range mutate {
		f(w)
	}
	return w
}
