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

// Package clustersecret is the admission plugin that keeps member credentials
// with those who may read them: a KubeFedCluster makes fedhub send the token
// in its spec.secretRef to its spec.apiEndpoint, so naming a Secret there, or
// changing where a cluster's Secret is sent, needs "get" on that Secret,
// granted by the host's RBAC like any read of it.
package clustersecret

import (
	"context"
	"fmt"
	"io"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/fedhub/fedhub/apis/core"
)

const (
	// PluginName is the name in --enable-admission-plugins and --disable-admission-plugins.
	PluginName = "FederatedClusterSecret"
	// Verb is what RBAC must grant on the Secret a KubeFedCluster names.
	Verb = "get"
)

var kubeFedClusters = core.Resource("kubefedclusters")

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// New returns the plugin; it needs an authorizer before use.
func New() *ClusterSecret {
	return &ClusterSecret{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// ClusterSecret refuses a KubeFedCluster whose author may not read the Secret
// it would have fedhub send to the member's endpoint.
type ClusterSecret struct {
	*admission.Handler
	authorizer authorizer.Authorizer
}

var (
	_ admission.ValidationInterface = &ClusterSecret{}
	_ initializer.WantsAuthorizer   = &ClusterSecret{}
)

// SetAuthorizer receives the server's authorizer: with a host, the host's
// SubjectAccessReviews, so the host's RBAC on Secrets decides.
func (c *ClusterSecret) SetAuthorizer(a authorizer.Authorizer) { c.authorizer = a }

// ValidateInitialization fails start-up when no authorizer was given.
func (c *ClusterSecret) ValidateInitialization() error {
	if c.authorizer == nil {
		return fmt.Errorf("%s needs an authorizer", PluginName)
	}
	return nil
}

// Validate checks a created KubeFedCluster, and an updated one whose spec
// changed. Every field of the spec decides where the token goes or who can
// read it on the way (endpoint, proxy, trusted CAs, TLS checks), so a changed
// spec redirects the credential, and redirecting it is as good as reading it.
// Label and status changes send nothing new anywhere and are not checked,
// nor are pull-mode clusters, whose agents connect out and which name no Secret.
func (c *ClusterSecret) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != kubeFedClusters || a.GetSubresource() != "" {
		return nil
	}
	cluster, ok := a.GetObject().(*core.KubeFedCluster)
	if !ok {
		// Admitting what cannot be read would open the door this plugin guards.
		return apierrors.NewInternalError(fmt.Errorf("%s: unexpected object %T for %s", PluginName, a.GetObject(), kubeFedClusters))
	}
	if a.GetOperation() == admission.Update {
		old, ok := a.GetOldObject().(*core.KubeFedCluster)
		if !ok {
			return apierrors.NewInternalError(fmt.Errorf("%s: unexpected old object %T for %s", PluginName, a.GetOldObject(), kubeFedClusters))
		}
		if apiequality.Semantic.DeepEqual(old.Spec, cluster.Spec) {
			return nil
		}
	}
	if cluster.Spec.Mode == core.ClusterModePull {
		return nil // fedhub sends nothing to a pull member: its agent connects out
	}
	secret := cluster.Spec.SecretRef.Name
	if secret == "" {
		return nil // refused by validation, with its field path
	}
	user := a.GetUserInfo()
	decision, _, err := c.authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: user, Verb: Verb, ResourceRequest: true, Namespace: a.GetNamespace(),
		APIGroup: "", APIVersion: "v1", Resource: "secrets", Name: secret,
	})
	where := a.GetNamespace() + "/" + secret
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("checking access to Secret %s named by spec.secretRef: %w", where, err))
	}
	if decision != authorizer.DecisionAllow {
		why := ""
		if a.GetOperation() == admission.Update {
			why = "; a changed spec redirects the credentials, which needs the same"
		}
		return admission.NewForbidden(a, fmt.Errorf("user %q may not use Secret %s as spec.secretRef: that needs verb %q on it%s",
			user.GetName(), where, Verb, why))
	}
	return nil
}
