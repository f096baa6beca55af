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

package peers

import (
	"context"
	"fmt"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/pkg/tunnel"
)

// Self is fedhub's own identity on the host: the user its host credentials
// authenticate as, which every replica shares. It is the only user a
// replica accepts a peer's request for a stream from. It is learned once,
// with a SelfSubjectReview.
type Self struct {
	reviews authenticationclient.SelfSubjectReviewsGetter

	mu   sync.Mutex
	name string
}

// NewSelf asks reviews who fedhub is on the host.
func NewSelf(reviews authenticationclient.SelfSubjectReviewsGetter) *Self {
	return &Self{reviews: reviews}
}

// Name returns fedhub's user name on the host.
func (s *Self) Name(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name != "" {
		return s.name, nil
	}
	review, err := s.reviews.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the host who fedhub is (SelfSubjectReview): %w", err)
	}
	if review.Status.UserInfo.Username == "" {
		return "", fmt.Errorf("the host names no user for fedhub's credentials")
	}
	s.name = review.Status.UserInfo.Username
	return s.name, nil
}

// Is tells whether u is fedhub itself; false when that is not known.
func (s *Self) Is(ctx context.Context, u user.Info) bool {
	if u == nil {
		return false
	}
	name, err := s.Name(ctx)
	return err == nil && u.GetName() == name
}

// NewAuthorizer allows fedhub's own identity, self, to ask for peer streams
// (a get of clusterregistrations/attach, whose handler then accepts only
// tunnel.PeerProtocol from it), whatever the host's RBAC says, and has no
// opinion on anything else. The host need not grant fedhub this. Its
// decisions are unconditional.
func NewAuthorizer(self *Self) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizePeer(ctx, self, attrs)
	})
}

// AuthorizerName names the authorizer in a union.
const AuthorizerName = "fedhub-peers"

// authorizePeer allows fedhub's identity a get of clusterregistrations/attach.
func authorizePeer(ctx context.Context, self *Self, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if !attrs.IsResourceRequest() || attrs.GetVerb() != "get" || attrs.GetAPIGroup() != agent.GroupName ||
		attrs.GetResource() != "clusterregistrations" || attrs.GetSubresource() != tunnel.Subresource {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if self.Is(ctx, attrs.GetUser()) {
		return authorizer.DecisionAllow, "fedhub's own identity asks a peer replica for a stream", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}
