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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
)

// FuzzReconcile: whatever a Work holds and whatever the member holds under
// its name, a reconcile answers with an outcome, never a panic.
func FuzzReconcile(f *testing.F) {
	manifest, _ := deployment(3, managedLabels()).MarshalJSON()
	live, _ := liveDeployment(5, managedLabels()).MarshalJSON()
	f.Add(manifest, live, "apps", "v1", "deployments", true, false, false, true)
	f.Add(manifest, []byte(`{"metadata":{"labels":{"kubefed.io/managed":"true"}},"spec":[1]}`), "apps", "v1", "deployments", true, false, true, false)
	f.Add([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":null},"data":{"a":1}}`), []byte(`null`), "", "v1", "configmaps", false, true, false, true)
	f.Add([]byte(`[]`), []byte(`{}`), "", "", "", false, true, true, true)
	f.Fuzz(func(t *testing.T, manifest, liveJSON []byte, group, version, resource string, namespaced, deleting, orphan, flags bool) {
		w := &agentv1alpha1.Work{
			ObjectMeta: metav1.ObjectMeta{Name: "w", Generation: 2, Finalizers: []string{Finalizer}},
			Spec: agentv1alpha1.WorkSpec{
				ClusterName: "member-2", Manifest: runtime.RawExtension{Raw: manifest},
				Resource: agentv1alpha1.WorkResource{Group: group, Version: version, Resource: resource, Namespaced: namespaced},
				Orphan:   orphan, Adopt: flags, RetainReplicas: flags, ReportStatus: !flags,
			},
			Status: agentv1alpha1.WorkStatus{ObservedGeneration: 2},
		}
		if deleting {
			now := metav1.Now()
			w.DeletionTimestamp = &now
		}
		m := newFakeMember()
		if _, ref, err := manifestOf(w); err == nil {
			var content map[string]interface{}
			if json.Unmarshal(liveJSON, &content) == nil && content != nil {
				m.objects[ref] = &unstructured.Unstructured{Object: content}
			}
		}
		out := (&Reconciler{Cluster: "member-2", Member: m}).Reconcile(context.Background(), w)
		if out.Action == "" {
			t.Errorf("no action")
		}
		if out.Status.Member != nil && !json.Valid(out.Status.Member.Raw) {
			t.Errorf("member excerpt is not JSON: %s", out.Status.Member.Raw)
		}
	})
}
