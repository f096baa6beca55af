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

// Package agentregistration is the admission plugin that binds a pull-mode
// agent's registration to its bootstrap token (docs/pull.md): the
// ServiceAccount fedhub-agents/bootstrap-NAME may register the cluster NAME
// only, and whether the registration is approved at once is what that
// ServiceAccount's auto-approve annotation says, never what the agent asks.
package agentregistration

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/kubernetes"

	"github.com/fedhub/fedhub/apis/agent"
	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/pkg/agentidentity"
)

// PluginName is the name in --enable-admission-plugins and --disable-admission-plugins.
const PluginName = "AgentRegistration"

var clusterRegistrations = agent.Resource("clusterregistrations")

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) {
		return New(), nil
	})
}

// New returns the plugin; it needs the host's client before use.
func New() *AgentRegistration {
	return &AgentRegistration{Handler: admission.NewHandler(admission.Create)}
}

// AgentRegistration holds a bootstrap identity's ClusterRegistration to its
// cluster's name and sets its approval from the bootstrap ServiceAccount.
type AgentRegistration struct {
	*admission.Handler
	host kubernetes.Interface
}

var (
	_ admission.MutationInterface            = &AgentRegistration{}
	_ initializer.WantsExternalKubeClientSet = &AgentRegistration{}
)

// SetExternalKubeClientSet receives the host's client.
func (r *AgentRegistration) SetExternalKubeClientSet(client kubernetes.Interface) { r.host = client }

// ValidateInitialization fails start-up without a host client.
func (r *AgentRegistration) ValidateInitialization() error {
	if r.host == nil {
		return fmt.Errorf("%s needs a client of the host cluster", PluginName)
	}
	return nil
}

// Admit checks and completes a ClusterRegistration created by a bootstrap
// identity; other creators' registrations pass unchanged.
func (r *AgentRegistration) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetOperation() != admission.Create || a.GetResource().GroupResource() != clusterRegistrations || a.GetSubresource() != "" {
		return nil
	}
	role, cluster := agentidentity.Classify(a.GetUserInfo().GetName())
	if role != agentidentity.Bootstrap {
		return nil
	}
	name, approved, err := fields(a.GetObject())
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if name != cluster {
		return admission.NewForbidden(a, fmt.Errorf("the bootstrap identity %s/%s may register only the cluster %s, not %q",
			agentidentity.AgentNamespace, agentidentity.BootstrapServiceAccount(cluster), cluster, name))
	}
	sa, err := r.host.CoreV1().ServiceAccounts(agentidentity.AgentNamespace).Get(ctx, agentidentity.BootstrapServiceAccount(cluster), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return admission.NewForbidden(a, fmt.Errorf("the bootstrap ServiceAccount %s/%s no longer exists",
			agentidentity.AgentNamespace, agentidentity.BootstrapServiceAccount(cluster)))
	case err != nil:
		return apierrors.NewInternalError(fmt.Errorf("reading the bootstrap ServiceAccount %s/%s from the host: %w",
			agentidentity.AgentNamespace, agentidentity.BootstrapServiceAccount(cluster), err))
	}
	*approved = sa.Annotations[agentidentity.AutoApproveAnnotation] == "true"
	return nil
}

// fields are the name and spec.approved of the registration admission is
// handed: the internal type, or the versioned one for callers that decode it.
func fields(obj any) (string, *bool, error) {
	switch registration := obj.(type) {
	case *agent.ClusterRegistration:
		return registration.Name, &registration.Spec.Approved, nil
	case *agentv1alpha1.ClusterRegistration:
		return registration.Name, &registration.Spec.Approved, nil
	}
	return "", nil, fmt.Errorf("%s: unexpected object %T for %s", PluginName, obj, clusterRegistrations)
}
