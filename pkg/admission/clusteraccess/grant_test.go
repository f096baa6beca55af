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

package clusteraccess

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
)

func TestAdmitRecordsTheAuthorsGrant(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, name := range []string{"member-1", "member-2", "member-3"} {
		if err := indexer.Add(&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace}}); err != nil {
			t.Fatal(err)
		}
	}
	deployments := schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}
	recorded := func(value string) map[string]string {
		return map[string]string{typesv1beta1.AuthorClustersAnnotation: value, "keep": "me"}
	}
	tests := []struct {
		name     string
		user     string
		granted  []string
		kind     string
		spec     string
		sent     map[string]string // the annotations in the request
		old      map[string]string // set: an update of an object with these
		want     string
		wantNone bool
	}{
		{name: "some clusters", user: "alice", granted: []string{"member-1", "member-3"}, kind: "FederatedDeployment", want: "member-1,member-3"},
		{name: "every cluster", user: "alice", granted: []string{""}, kind: "FederatedDeployment", want: "*"},
		{name: "no cluster", user: "alice", kind: "FederatedReplicaSet", want: ""},
		{name: "a named cluster that has not joined yet", user: "alice", granted: []string{"member-9"}, kind: "FederatedDeployment",
			spec: "{placement: {clusters: [{name: member-9}]}}", want: "member-9"},
		{name: "a user's own value is replaced", user: "alice", granted: []string{"member-1"}, kind: "FederatedDeployment",
			sent: recorded("*"), want: "member-1"},
		{name: "fedhub's own write keeps the last author's", user: user.APIServerUser, kind: "FederatedDeployment",
			sent: recorded("*"), old: recorded("member-2"), want: "member-2"},
		{name: "fedhub's own write cannot add one", user: user.APIServerUser, kind: "FederatedDeployment",
			sent: recorded("*"), old: map[string]string{}, wantNone: true},
		{name: "a workload whose dependencies may follow it", user: "alice", granted: []string{"member-2"}, kind: "FederatedStatefulSet", want: "member-2"},
		{name: "a dependency", user: "alice", granted: []string{"member-1"}, kind: "FederatedSecret", want: "member-1"},
		{name: "kinds that neither run pods nor follow them are left alone", user: "alice", kind: "FederatedService", wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := &ClusterAccess{Handler: admission.NewHandler(admission.Create, admission.Update)}
			plugin.SetAuthorizer(grants(tt.granted...))
			plugin.SetClusterLister(corelisters.NewKubeFedClusterLister(indexer), func() bool { return true })
			if err := plugin.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			spec := tt.spec
			if spec == "" {
				spec = "{}"
			}
			obj := federated(t, spec).(*unstructured.Unstructured)
			obj.SetKind(tt.kind)
			obj.SetAnnotations(tt.sent)
			operation, old := admission.Create, runtime.Object(nil)
			if tt.old != nil {
				previous := obj.DeepCopy()
				previous.SetAnnotations(tt.old)
				operation, old = admission.Update, previous
			}
			attrs := admission.NewAttributesRecord(obj, old, typesv1beta1.SchemeGroupVersion.WithKind(tt.kind), "team-a", "web", deployments,
				"", operation, nil, false, &user.DefaultInfo{Name: tt.user})
			if err := plugin.Admit(context.Background(), attrs, nil); err != nil {
				t.Fatal(err)
			}
			value, found := obj.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
			if tt.wantNone {
				if found {
					t.Errorf("recorded %q, want nothing", value)
				}
				return
			}
			if !found || value != tt.want {
				t.Errorf("recorded %q (found %v), want %q", value, found, tt.want)
			}
			if tt.sent != nil && obj.GetAnnotations()["keep"] != "me" {
				t.Errorf("other annotations lost: %v", obj.GetAnnotations())
			}
		})
	}
}
