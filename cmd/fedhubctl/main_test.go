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

package main

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDescribe(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "core.kubefed.io", Resource: "kubefedclusters"}, "no-such-cluster")
	tests := []struct {
		err  error
		want string
	}{
		{notFound, `Error from server (NotFound): kubefedclusters.core.kubefed.io "no-such-cluster" not found`},
		{fmt.Errorf("wrapped: %w", notFound), `error: wrapped: kubefedclusters.core.kubefed.io "no-such-cluster" not found`},
		{errors.New("no context member-3"), "error: no context member-3"},
	}
	for _, tt := range tests {
		if got := describe(tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
