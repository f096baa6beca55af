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

package tunnel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/pkg/clusterproxy"
)

// ImpersonationPrefix starts every user and group name fedhub impersonates
// in a member (docs/clusteraccess.md): the agent passes on only such names.
const ImpersonationPrefix = clusterproxy.Prefix

// MemberProxy serves the requests fedhub sends through the tunnel: each is
// forwarded to the member's API with the agent's own member credentials
// and the hub user's impersonation headers, upgrades (exec, attach,
// port-forward, SPDY or websocket) included.
type MemberProxy struct {
	location  *url.URL
	transport http.RoundTripper
	upgrade   proxy.UpgradeRequestRoundTripper
}

// NewMemberProxy returns the proxy to the member member reaches.
func NewMemberProxy(member *rest.Config) (*MemberProxy, error) {
	location, transport, upgrade, err := clusterproxy.MemberTransports(member)
	if err != nil {
		return nil, err
	}
	return &MemberProxy{location: location, transport: transport, upgrade: upgrade}, nil
}

// ServeHTTP forwards req to the member as the hub user it names. Only
// Impersonate-User and Impersonate-Group values starting with
// ImpersonationPrefix pass; every other Impersonate-*, Authorization,
// Proxy-Authorization and X-Remote-* header is dropped. A request without
// exactly one prefixed Impersonate-User is refused (403): the agent never
// acts as itself for a hub user.
func (p *MemberProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	logger := klog.FromContext(req.Context())
	users := req.Header.Values("Impersonate-User")
	if len(users) != 1 || !strings.HasPrefix(users[0], ImpersonationPrefix) || len(users[0]) == len(ImpersonationPrefix) {
		logger.V(2).Info("Refusing a request through the tunnel without a hub user", "method", req.Method, "path", req.URL.Path, "impersonateUser", users)
		writeStatus(w, apierrors.NewForbidden(schema.GroupResource{}, "",
			fmt.Errorf("fedhub-agent forwards only requests that impersonate a hub user (Impersonate-User: %sNAME)", ImpersonationPrefix)))
		return
	}
	var groups []string
	for _, g := range req.Header.Values("Impersonate-Group") {
		if strings.HasPrefix(g, ImpersonationPrefix) && len(g) > len(ImpersonationPrefix) {
			groups = append(groups, g)
		}
	}
	forwarded := req.Clone(req.Context())
	clusterproxy.StripClientHeaders(forwarded.Header)
	forwarded.Header.Set("Impersonate-User", users[0])
	for _, g := range groups {
		forwarded.Header.Add("Impersonate-Group", g)
	}
	logger.V(2).Info("Proxying to the member", "user", users[0], "groups", groups, "method", req.Method, "path", req.URL.Path,
		"upgrade", req.Header.Get("Upgrade"))

	handler := proxy.NewUpgradeAwareHandler(p.location, p.transport, false, false, errorResponder{})
	handler.UseRequestLocation = true
	handler.AppendLocationPath = true
	handler.UseLocationHost = true
	handler.UpgradeTransport = p.upgrade
	handler.ServeHTTP(w, forwarded)
}

// errorResponder answers a failure to reach the member with 502.
type errorResponder struct{}

func (errorResponder) Error(w http.ResponseWriter, req *http.Request, err error) {
	klog.FromContext(req.Context()).V(2).Info("Reaching the member failed", "path", req.URL.Path, "err", err)
	status := apierrors.NewServiceUnavailable(fmt.Sprintf("fedhub-agent could not reach its member: %v", err))
	status.ErrStatus.Code = http.StatusBadGateway
	writeStatus(w, status)
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	status := err.ErrStatus
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(&status)
}
