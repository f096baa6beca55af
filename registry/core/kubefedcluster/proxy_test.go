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

package kubefedcluster

import (
	"context"
	"net/http"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/pkg/clusterproxy"
)

// clusterGetter serves the clusters it holds.
type clusterGetter map[string]*core.KubeFedCluster

func (g clusterGetter) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if c, ok := g[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(core.Resource("kubefedclusters"), name)
}

type responder struct{ err error }

func (r *responder) Object(int, runtime.Object) {}
func (r *responder) Error(err error)            { r.err = err }

func TestProxyREST(t *testing.T) {
	r := NewProxyREST(clusterGetter{"pull": {ObjectMeta: metav1.ObjectMeta{Name: "pull"}, Spec: core.KubeFedClusterSpec{Mode: core.ClusterModePull}}},
		clusterproxy.New(nil, nil))
	opts, subpath, key := r.NewConnectOptions()
	if _, ok := opts.(*core.ClusterProxyOptions); !ok || !subpath || key != "path" {
		t.Errorf("connect options %T %v %q", opts, subpath, key)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if !slices.Contains(r.ConnectMethods(), method) {
			t.Errorf("%s is not a connect method", method)
		}
	}
	ctx := request.WithUser(request.WithNamespace(context.Background(), "kube-federation-system"), &user.DefaultInfo{Name: "alice"})
	if _, err := r.Connect(ctx, "missing", &core.ClusterProxyOptions{Path: "/api"}, &responder{}); !apierrors.IsNotFound(err) {
		t.Errorf("a missing cluster: %v", err)
	}
	if _, err := r.Connect(ctx, "pull", &core.ClusterProxyOptions{Path: "/api"}, &responder{}); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("a pull cluster without tunnels: %v", err)
	}
}
