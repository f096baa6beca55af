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

package clusterregistration

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"

	"github.com/fedhub/fedhub/apis/agent"
	"github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/apis/agent/validation"
)

// TokenMinter mints a host token of the agent identity of a cluster.
type TokenMinter interface {
	// AgentToken returns a token of cluster's agent ServiceAccount, valid for
	// about expirationSeconds, and when it expires.
	AgentToken(ctx context.Context, cluster string, expirationSeconds int64) (token string, expires time.Time, err error)
}

// NoHostMessage is the answer of the token subresource of a server without a host.
const NoHostMessage = "pull mode needs a host cluster: agent identities are host ServiceAccounts"

// TokenREST serves clusterregistrations/NAME/token: a create mints a token of
// the agent identity of the approved registration NAME. Tokens are never stored.
type TokenREST struct {
	registrations rest.Getter
	minter        TokenMinter
}

var (
	_ rest.NamedCreater             = &TokenREST{}
	_ rest.Storage                  = &TokenREST{}
	_ rest.Scoper                   = &TokenREST{}
	_ rest.GroupVersionKindProvider = &TokenREST{}
)

// NewTokenREST returns the token subresource of the registrations served by
// registrations; minter is nil without a host, and every request is then refused.
func NewTokenREST(registrations rest.Getter, minter TokenMinter) *TokenREST {
	return &TokenREST{registrations: registrations, minter: minter}
}

// New returns an empty AgentToken, the body of a request.
func (r *TokenREST) New() runtime.Object { return &agent.AgentToken{} }

// Destroy does nothing: the registrations' storage is destroyed with its own REST.
func (r *TokenREST) Destroy() {}

// NamespaceScoped is true, as registrations are.
func (r *TokenREST) NamespaceScoped() bool { return true }

// GroupVersionKind says the subresource takes and returns AgentTokens.
func (r *TokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return v1alpha1.SchemeGroupVersion.WithKind("AgentToken")
}

// Create mints a token for the registration name, refused unless it is approved.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	request, ok := obj.(*agent.AgentToken)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an AgentToken: %T", obj))
	}
	if r.minter == nil {
		return nil, apierrors.NewServiceUnavailable(NoHostMessage)
	}
	if errs := validation.ValidateAgentToken(request); len(errs) > 0 {
		return nil, apierrors.NewInvalid(agent.Kind("AgentToken"), name, errs)
	}
	stored, err := r.registrations.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	registration := stored.(*agent.ClusterRegistration)
	if !registration.Spec.Approved {
		return nil, apierrors.NewForbidden(agent.Resource("clusterregistrations/token"), name,
			fmt.Errorf("cluster registration %s is not approved", name))
	}
	if createValidation != nil {
		if err := createValidation(ctx, request.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	response := request.DeepCopy()
	response.Name, response.Namespace = registration.Name, registration.Namespace
	if response.Spec.ExpirationSeconds == nil {
		seconds := int64(validation.DefaultTokenExpirationSeconds)
		response.Spec.ExpirationSeconds = &seconds
	}
	if dryrun.IsDryRun(options.DryRun) {
		return response, nil
	}
	token, expires, err := r.minter.AgentToken(ctx, registration.Name, *response.Spec.ExpirationSeconds)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("minting a token for cluster %s: %w", registration.Name, err))
	}
	response.Status = agent.AgentTokenStatus{Token: token, ExpirationTimestamp: metav1.NewTime(expires)}
	return response, nil
}
