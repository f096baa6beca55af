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

package v1alpha1

import (
	"reflect"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

func TestAuthorFromAnnotations(t *testing.T) {
	alice := authenticationv1.UserInfo{
		Username: "alice", UID: "42", Groups: []string{"team-a", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"scopes.example.com": {"read", "write"}},
	}
	tests := []struct {
		name        string
		annotations map[string]string
		want        authenticationv1.UserInfo
		wantOK      bool
	}{
		{name: "no annotations"},
		{name: "other annotations", annotations: map[string]string{"fedhub.io/author-clusters": "*"}},
		{name: "every field", annotations: map[string]string{AuthorAnnotation: AuthorAnnotationValue(alice)}, want: alice, wantOK: true},
		{name: "written by hand", annotations: map[string]string{AuthorAnnotation: `{"username":"bob","groups":["team-b"]}`},
			want: authenticationv1.UserInfo{Username: "bob", Groups: []string{"team-b"}}, wantOK: true},
		{name: "not JSON", annotations: map[string]string{AuthorAnnotation: "alice"}},
		{name: "not an object", annotations: map[string]string{AuthorAnnotation: `["alice"]`}},
		{name: "no user name", annotations: map[string]string{AuthorAnnotation: `{"groups":["system:masters"]}`}},
		{name: "empty", annotations: map[string]string{AuthorAnnotation: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AuthorFromAnnotations(tt.annotations)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AuthorFromAnnotations() = %#v, %v; want %#v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
