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
	"maps"
	"slices"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	corelisters "github.com/fedhub/fedhub/generated/listers/core/v1beta1"
)

// knownClusters is a KubeFedCluster lister that knows member-1 to member-3.
func knownClusters(t *testing.T) corelisters.KubeFedClusterLister {
	t.Helper()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, name := range []string{"member-1", "member-2", "member-3"} {
		if err := indexer.Add(&corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace}}); err != nil {
			t.Fatal(err)
		}
	}
	return corelisters.NewKubeFedClusterLister(indexer)
}

func TestAdmitRecordsTheAuthorsGrant(t *testing.T) {
	clusters := knownClusters(t)
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
			plugin.SetClusterLister(clusters, func() bool { return true })
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

// TestAdmitRecordsTheHelmReleaseAuthor checks both annotations admission
// writes on a FederatedHelmRelease: the author's clusters and the author.
func TestAdmitRecordsTheHelmReleaseAuthor(t *testing.T) {
	clusters := knownClusters(t)
	alice := &user.DefaultInfo{Name: "alice", UID: "uid-1", Groups: []string{"team-a", "system:authenticated"},
		Extra: map[string][]string{"scopes.example.com": {"charts"}}}
	aliceValue := `{"username":"alice","uid":"uid-1","groups":["team-a","system:authenticated"],"extra":{"scopes.example.com":["charts"]}}`
	forged := map[string]string{appsv1alpha1.AuthorAnnotation: `{"username":"admin","groups":["system:masters"]}`,
		typesv1beta1.AuthorClustersAnnotation: "*", "keep": "me"}
	stored := map[string]string{appsv1alpha1.AuthorAnnotation: aliceValue, typesv1beta1.AuthorClustersAnnotation: "member-1"}
	tests := []struct {
		name      string
		user      user.Info
		placement []string
		sent      map[string]string
		old       map[string]string // set: an update of an object with these
		want      map[string]string
	}{
		{name: "a user's create", user: alice, placement: []string{"member-1"},
			want: map[string]string{appsv1alpha1.AuthorAnnotation: aliceValue, typesv1beta1.AuthorClustersAnnotation: "member-1"}},
		{name: "a user's forged values are replaced", user: alice, placement: []string{"member-1"}, sent: forged,
			want: map[string]string{appsv1alpha1.AuthorAnnotation: aliceValue, typesv1beta1.AuthorClustersAnnotation: "member-1", "keep": "me"}},
		{name: "a later author replaces the earlier", user: &user.DefaultInfo{Name: "bob"}, old: stored, sent: stored,
			want: map[string]string{appsv1alpha1.AuthorAnnotation: `{"username":"bob"}`, typesv1beta1.AuthorClustersAnnotation: ""}},
		{name: "fedhub's own write keeps the stored values", user: &user.DefaultInfo{Name: user.APIServerUser}, sent: forged, old: stored,
			want: map[string]string{appsv1alpha1.AuthorAnnotation: aliceValue, typesv1beta1.AuthorClustersAnnotation: "member-1", "keep": "me"}},
		{name: "fedhub's own write cannot add them", user: &user.DefaultInfo{Name: user.APIServerUser}, sent: forged, old: map[string]string{},
			want: map[string]string{"keep": "me"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := &ClusterAccess{Handler: admission.NewHandler(admission.Create, admission.Update)}
			plugin.SetAuthorizer(grants("member-1"))
			plugin.SetClusterLister(clusters, func() bool { return true })
			obj := helmRelease(nil, tt.placement...)
			obj.Annotations = maps.Clone(tt.sent)
			operation, old := admission.Create, runtime.Object(nil)
			if tt.old != nil {
				previous := obj.DeepCopy()
				previous.Annotations = maps.Clone(tt.old)
				operation, old = admission.Update, previous
			}
			attrs := admission.NewAttributesRecord(obj, old, appsv1alpha1.SchemeGroupVersion.WithKind("FederatedHelmRelease"), "team-a", "web",
				helmReleasesResource, "", operation, nil, false, tt.user)
			if err := plugin.Admit(context.Background(), attrs, nil); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(obj.Annotations, tt.want) {
				t.Errorf("annotations %v, want %v", obj.Annotations, tt.want)
			}
		})
	}

	// What admission records, the controller reads back.
	obj := helmRelease(nil, "member-1")
	attrs := admission.NewAttributesRecord(obj, nil, appsv1alpha1.SchemeGroupVersion.WithKind("FederatedHelmRelease"), "team-a", "web",
		helmReleasesResource, "", admission.Create, nil, false, alice)
	plugin := &ClusterAccess{Handler: admission.NewHandler(admission.Create, admission.Update)}
	plugin.SetAuthorizer(grants("member-1"))
	plugin.SetClusterLister(clusters, func() bool { return true })
	if err := plugin.Admit(context.Background(), attrs, nil); err != nil {
		t.Fatal(err)
	}
	author, ok := appsv1alpha1.AuthorFromAnnotations(obj.Annotations)
	if !ok || author.Username != alice.Name || author.UID != alice.UID || !slices.Equal(author.Groups, alice.Groups) ||
		!slices.Equal(author.Extra["scopes.example.com"], authenticationv1.ExtraValue{"charts"}) {
		t.Errorf("author read back: %#v (%v), want %#v", author, ok, alice)
	}
}
