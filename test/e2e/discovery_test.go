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

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedhub/fedhub/pkg/apiserver"
	"github.com/fedhub/fedhub/test/framework"
)

// kubefedDefaults are the federated resources of the ten types KubeFed
// enabled by default; fedhub enables them at its first start.
var kubefedDefaults = []string{
	"federatedclusterroles", "federatedconfigmaps", "federateddeployments", "federatedingresses", "federatedjobs",
	"federatednamespaces", "federatedreplicasets", "federatedsecrets", "federatedserviceaccounts", "federatedservices",
}

// newKindDiscoveryDeadline is how soon the host must list a kind enabled by
// an FTC: the aggregator's own refresh takes up to a minute, kubectl caches
// what it read for hours.
const newKindDiscoveryDeadline = 10 * time.Second

// TestHostDiscoveryFollowsFederatedKinds checks that the host's discovery,
// the copy kubectl reads and caches, lists every federated kind as soon as
// the harness calls fedhub ready, and a newly enabled one within seconds.
func TestHostDiscoveryFollowsFederatedKinds(t *testing.T) {
	f := sharedFederation(t)
	host := hostKubeconfig()
	// One kubectl discovery cache for the whole test, as a user's ~/.kube/cache.
	cacheDir := filepath.Join(t.TempDir(), "kubectl-cache")
	ctx := context.Background()

	t.Run("the default kinds are discovered once the harness is ready", func(t *testing.T) {
		defaults := map[string]bool{}
		for _, typeConfig := range apiserver.DefaultTypeConfigs() {
			defaults[typeConfig.Spec.FederatedType.PluralName] = true
		}
		for _, resource := range kubefedDefaults {
			if !defaults[resource] {
				t.Fatalf("fedhub's defaults lack KubeFed's %s", resource)
			}
		}
		legacy, aggregated, err := framework.HostFederatedResources(ctx, f.Host)
		if err != nil {
			t.Fatal(err)
		}
		for resource := range defaults {
			if !legacy[resource] {
				t.Errorf("the host's /apis/types.kubefed.io/v1beta1 lacks %s", resource)
			}
			if !aggregated[resource] {
				t.Errorf("the host's aggregated discovery lacks %s", resource)
			}
		}
		out := mustKubectlAs(t, host, "--cache-dir", cacheDir, "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		for resource := range defaults {
			if !strings.Contains(out, resource+".types.kubefed.io\n") {
				t.Errorf("kubectl api-resources lacks %s:\n%s", resource, out)
			}
		}
	})

	t.Run("a kind enabled by applying an FTC is discovered within seconds", func(t *testing.T) {
		const resource = "federatedresourcequotas"
		t.Cleanup(func() {
			// Deleting the FTC also shows the kind leaves the host's discovery.
			if _, errOut, err := kubectlAs(host, "delete", "federatedtypeconfig", "resourcequotas", "-n", federationNamespace, "--ignore-not-found"); err != nil {
				t.Errorf("deleting the FTC: %v\n%s", err, errOut)
				return
			}
			eventuallyWithin(t, newKindDiscoveryDeadline, "the host's discovery drops "+resource, hostListsResource(ctx, f, resource), "absent from both")
		})
		mustApplyAs(t, nil, `apiVersion: core.kubefed.io/v1beta1
kind: FederatedTypeConfig
metadata: {name: resourcequotas, namespace: kube-federation-system}
spec:
  targetType: {version: v1, kind: ResourceQuota, pluralName: resourcequotas, scope: Namespaced}
  federatedType: {group: types.kubefed.io, version: v1beta1, kind: FederatedResourceQuota, pluralName: federatedresourcequotas, scope: Namespaced}
  propagation: Enabled
`)
		enabled := time.Now()
		eventuallyWithin(t, newKindDiscoveryDeadline, "the host's discovery lists "+resource, hostListsResource(ctx, f, resource), "in both")
		t.Logf("the host listed %s %s after the FTC was applied", resource, time.Since(enabled).Round(10*time.Millisecond))
		// kubectl's cache from before the FTC lacks the kind: kubectl reads
		// discovery again on a miss, and must then find it.
		out := mustKubectlAs(t, host, "--cache-dir", cacheDir, "get", resource, "-A", "-o", "name")
		if strings.TrimSpace(out) != "" {
			t.Errorf("a new kind has objects: %q", out)
		}
		out = mustKubectlAs(t, host, "--cache-dir", cacheDir, "api-resources", "--api-group=types.kubefed.io", "-o", "name")
		if !strings.Contains(out, resource+".types.kubefed.io\n") {
			t.Errorf("kubectl api-resources lacks %s:\n%s", resource, out)
		}
	})
}

// hostListsResource says where the host's discovery lists resource: "in
// both", "absent from both", or which of legacy and aggregated lists it.
func hostListsResource(ctx context.Context, f *framework.Federation, resource string) func() (string, bool) {
	return func() (string, bool) {
		legacy, aggregated, err := framework.HostFederatedResources(ctx, f.Host)
		if err != nil {
			return err.Error(), false
		}
		switch {
		case legacy[resource] && aggregated[resource]:
			return "in both", true
		case !legacy[resource] && !aggregated[resource]:
			return "absent from both", true
		case legacy[resource]:
			return "legacy only", true
		default:
			return "aggregated only", true
		}
	}
}
