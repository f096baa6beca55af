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

package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func TestTooLarge(t *testing.T) {
	other := errors.New("etcdserver: request timed out")
	tests := []struct {
		name     string
		err      error
		wantCode int32 // 0: the error is returned as it is
	}{
		{name: "over etcd's --max-request-bytes", err: rpctypes.ErrRequestTooLarge, wantCode: http.StatusRequestEntityTooLarge},
		{name: "wrapped", err: fmt.Errorf("writing: %w", rpctypes.ErrRequestTooLarge), wantCode: http.StatusRequestEntityTooLarge},
		{name: "over the client's send limit", err: grpcstatus.Error(codes.ResourceExhausted, "trying to send message larger than max"),
			wantCode: http.StatusRequestEntityTooLarge},
		{name: "another error", err: other},
		{name: "no error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tooLarge(tt.err)
			if tt.wantCode == 0 {
				if got != tt.err {
					t.Errorf("got %v, want %v unchanged", got, tt.err)
				}
				return
			}
			var status apierrors.APIStatus
			if !errors.As(got, &status) || status.Status().Code != tt.wantCode {
				t.Errorf("got %v, want a %d Status", got, tt.wantCode)
			}
		})
	}
}
