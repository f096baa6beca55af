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

package propagation

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestForbiddenListMessage(t *testing.T) {
	tests := []struct {
		resource schema.GroupResource
		want     []string
	}{
		{schema.GroupResource{Resource: "limitranges"}, []string{
			"cluster member-1: the federation's identity in the member lacks list/watch on limitranges",
			"'fedhubctl enable limitranges --update-member-roles'",
			"or have an administrator of member-1 grant it get, list, watch, create, update, patch and delete on limitranges",
		}},
		{schema.GroupResource{Group: "example.com", Resource: "widgets"}, []string{
			"lacks list/watch on widgets.example.com",
			"'fedhubctl enable widgets.example.com --update-member-roles'",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.resource.String(), func(t *testing.T) {
			got := forbiddenListMessage("member-1", tt.resource)
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("message %q lacks %q", got, want)
				}
			}
		})
	}
}

func TestReportForbiddenList(t *testing.T) {
	target := schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}
	tests := []struct {
		name      string
		listErr   error
		noClient  bool
		wantEvent string
	}{
		{name: "the member refuses the list", wantEvent: "Warning CachedRetrievalFailed cluster member-1: the federation's identity in the member lacks list/watch on limitranges",
			listErr: apierrors.NewForbidden(target.GroupResource(), "", errors.New("RBAC: no rule"))},
		{name: "the member lists: another cause, no event"},
		{name: "the member cannot be reached: no event", listErr: errors.New("connection refused")},
		{name: "no client", noClient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{target: "LimitRangeList"})
			member.PrependReactor("list", "limitranges", func(action clienttesting.Action) (bool, runtime.Object, error) {
				return tt.listErr != nil, nil, tt.listErr
			})
			recorder := record.NewFakeRecorder(10)
			c := &TypeController{target: target, recorder: recorder}
			cluster := Cluster{KubeFedCluster: &corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: "member-1"}}, Ready: true, Client: member}
			if tt.noClient {
				cluster.Client = nil
			}
			fed := &unstructured.Unstructured{}
			fed.SetName("defaults")
			c.reportForbiddenList(context.Background(), fed, cluster)
			var got string
			select {
			case got = <-recorder.Events:
			default:
			}
			if tt.wantEvent == "" && got != "" || !strings.HasPrefix(got, tt.wantEvent) {
				t.Errorf("event %q, want one starting with %q", got, tt.wantEvent)
			}
		})
	}
}
