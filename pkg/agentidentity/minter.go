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

package agentidentity

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// HostMinter mints tokens of the agents' ServiceAccounts in the host with
// the TokenRequest API, creating a cluster's ServiceAccount the first time.
// fedhub's host identity needs, in AgentNamespace, get and create on
// serviceaccounts and create on serviceaccounts/token (the install's Role).
type HostMinter struct {
	client kubernetes.Interface
}

// NewHostMinter returns a minter that writes to the host behind client.
func NewHostMinter(client kubernetes.Interface) *HostMinter {
	return &HostMinter{client: client}
}

// AgentToken returns a token of the ServiceAccount AgentNamespace/agent-CLUSTER
// valid for expirationSeconds (or what the host caps it to), and when it expires.
func (m *HostMinter) AgentToken(ctx context.Context, cluster string, expirationSeconds int64) (string, time.Time, error) {
	name := AgentServiceAccount(cluster)
	if err := m.ensureServiceAccount(ctx, cluster); err != nil {
		return "", time.Time{}, fmt.Errorf("ServiceAccount %s/%s on the host: %w", AgentNamespace, name, err)
	}
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expirationSeconds}}
	minted, err := m.client.CoreV1().ServiceAccounts(AgentNamespace).CreateToken(ctx, name, request, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token of ServiceAccount %s/%s on the host: %w", AgentNamespace, name, err)
	}
	return minted.Status.Token, minted.Status.ExpirationTimestamp.Time, nil
}

// ensureServiceAccount creates the agent ServiceAccount of cluster unless it exists.
func (m *HostMinter) ensureServiceAccount(ctx context.Context, cluster string) error {
	accounts := m.client.CoreV1().ServiceAccounts(AgentNamespace)
	name := AgentServiceAccount(cluster)
	_, err := accounts.Get(ctx, name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = accounts.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Namespace:   AgentNamespace,
		Annotations: map[string]string{ClusterNameAnnotation: cluster},
	}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
