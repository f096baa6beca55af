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
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/fedhub/fedhub/apis/core"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/clusterproxy"
)

// proxyMethods are the HTTP methods the proxy subresource takes: all that a
// member's API server serves.
var proxyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// ProxyREST is kubefedclusters/proxy: a request to .../kubefedclusters/NAME/proxy/PATH
// goes to PATH on the member NAME (pkg/clusterproxy).
type ProxyREST struct {
	clusters rest.Getter
	proxy    *clusterproxy.Proxy
}

var (
	_ rest.Connecter = &ProxyREST{}
	_ rest.Storage   = &ProxyREST{}
)

// NewProxyREST serves the proxy subresource of the clusters read from clusters.
func NewProxyREST(clusters rest.Getter, proxy *clusterproxy.Proxy) *ProxyREST {
	return &ProxyREST{clusters: clusters, proxy: proxy}
}

// New returns the subresource's options, as pods/proxy's is PodProxyOptions:
// the OpenAPI operations of the subresource then carry that kind, not
// KubeFedCluster's. kubectl looks for KubeFedCluster's PATCH operation to
// learn whether the server validates fields, and reading the proxy's PATCH
// (which takes no fieldValidation) instead made it fall back to validating
// on the client, at random (the paths are a map).
func (r *ProxyREST) New() runtime.Object { return &core.ClusterProxyOptions{} }

// Destroy releases nothing: the clusters' store is destroyed with the main resource.
func (r *ProxyREST) Destroy() {}

// ConnectMethods are every method; the member decides what it accepts.
func (r *ProxyREST) ConnectMethods() []string { return proxyMethods }

// NewConnectOptions are ClusterProxyOptions, whose path is the rest of the URL after /proxy.
func (r *ProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &core.ClusterProxyOptions{}, true, "path"
}

// Connect returns the handler that proxies the request to the member.
func (r *ProxyREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	options, ok := opts.(*core.ClusterProxyOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	obj, err := r.clusters.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	internal, ok := obj.(*core.KubeFedCluster)
	if !ok {
		return nil, fmt.Errorf("unexpected object: %T", obj)
	}
	cluster := &corev1beta1.KubeFedCluster{}
	if err := corev1beta1.Convert_core_KubeFedCluster_To_v1beta1_KubeFedCluster(internal, cluster, nil); err != nil {
		return nil, err
	}
	return r.proxy.Handler(ctx, cluster, options.Path, responder)
}

// NamespaceScoped is true, as KubeFedClusters are.
func (r *ProxyREST) NamespaceScoped() bool { return true }
