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
	"context"
	"net"

	"k8s.io/client-go/rest"

	fedhubtunnel "github.com/fedhub/fedhub/pkg/tunnel"
)

// Dial sends the upgrade request for cluster's tunnel to hub (the host,
// which proxies it to fedhub) with hub's credentials and TLS settings, and
// returns the upgraded connection; a refusal is a *fedhubtunnel.RefusedError.
func Dial(ctx context.Context, hub *rest.Config, namespace, cluster string) (net.Conn, error) {
	return fedhubtunnel.Dial(ctx, hub, namespace, cluster, fedhubtunnel.Protocol)
}
