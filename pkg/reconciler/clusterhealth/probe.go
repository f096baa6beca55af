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

package clusterhealth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/member"
)

// maxMessage bounds what a member's answer may add to a condition message.
const maxMessage = 512

var nodesResource = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// memberClients reach one member as one version of its KubeFedCluster and
// Secret described it; a new version gets new clients.
type memberClients struct {
	fingerprint string
	kube        kubernetes.Interface
	metadata    metadata.Interface
}

// clientsFor returns clients for the cluster's current configuration,
// reusing previous ones when nothing they were built from changed.
func clientsFor(previous *memberClients, cluster *corev1beta1.KubeFedCluster, secret *corev1.Secret, timeout time.Duration) (*memberClients, error) {
	fingerprint := member.Fingerprint(cluster, secret) + "|" + timeout.String()
	if previous != nil && previous.fingerprint == fingerprint {
		return previous, nil
	}
	config, err := member.Config(cluster, secret)
	if err != nil {
		return nil, err
	}
	config.Timeout = timeout
	config.UserAgent = "fedhub-cluster-health"
	clients := &memberClients{fingerprint: fingerprint}
	if clients.kube, err = kubernetes.NewForConfig(config); err != nil {
		return nil, err
	}
	if clients.metadata, err = metadata.NewForConfig(config); err != nil {
		return nil, err
	}
	return clients, nil
}

// probe asks the member for /healthz and, when it is reachable, for its
// version and its nodes' topology. credentials names the Secret for messages.
func probe(ctx context.Context, clients *memberClients, credentials string) observation {
	body, err := clients.kube.Discovery().RESTClient().Get().AbsPath("/healthz").DoRaw(ctx)
	if err != nil {
		return failedProbe(err, credentials)
	}
	if answer := strings.TrimSpace(string(body)); !strings.EqualFold(answer, "ok") {
		return observation{health: healthNotReady, message: "/healthz responded without ok: " + truncate(answer)}
	}
	o := observation{health: healthReady}
	if version, err := clients.kube.Discovery().ServerVersion(); err == nil {
		o.kubernetesVersion = version.GitVersion
	}
	// resourceVersion 0 is served from the member's watch cache: cheap even
	// for many nodes. Without the right to list nodes, topology stays unknown.
	nodes, err := clients.metadata.Resource(nodesResource).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err == nil {
		labels := make([]map[string]string, 0, len(nodes.Items))
		for _, node := range nodes.Items {
			labels = append(labels, node.Labels)
		}
		o.topology = topologyOf(labels)
	}
	return o
}

// failedProbe classifies a failed /healthz request: refused credentials are a
// configuration problem, any other answer means the member is reachable but
// unhealthy, and no answer means it is offline.
func failedProbe(err error, credentials string) observation {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return observation{health: healthOffline, message: "cluster is not reachable: " + truncate(err.Error())}
	}
	switch code := status.Status().Code; code {
	case http.StatusUnauthorized:
		return observation{health: healthMalformed, message: fmt.Sprintf("the member rejected the token in %s (401 Unauthorized)", credentials)}
	case http.StatusForbidden:
		return observation{health: healthMalformed, message: fmt.Sprintf("the identity in %s may not read /healthz (403 Forbidden): %s", credentials, truncate(err.Error()))}
	default:
		return observation{health: healthNotReady, message: fmt.Sprintf("/healthz responded with %d: %s", code, truncate(err.Error()))}
	}
}

func truncate(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage] + "…"
	}
	return s
}
