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
	"path/filepath"
	"testing"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

// TestReplicasFollowCapacityPull is TestReplicasFollowCapacity with the
// constrained member joined in pull mode, on a federation of its own
// (member-1 push, member-2 pull, both full members): fedhub holds no
// credential for member-2, so what it estimates there comes from what
// member-2's agent reports in the workload's Work and in its
// ClusterRegistration (docs/scheduling.md). member-2 has room for 2 of the
// 4 replicas its weight of 2 gives it; once the other 2 have been
// unschedulable for the threshold they move to member-1 and all 6 are
// Ready, the preference showing member-2's estimate. When member-2's node
// gets room again, its agent reports it, the estimate goes and rebalance
// returns the plan to 4:2.
func TestReplicasFollowCapacityPull(t *testing.T) {
	start := time.Now()
	f, dir := startOwnPullFederation(t, "capacity-pull", framework.FederationOptions{})
	t.Logf("the federation with member-2 in pull mode was ready in %s", time.Since(start).Round(time.Second))
	host, members := filepath.Join(dir, "kubeconfigs", "host.kubeconfig"), filepath.Join(dir, "kubeconfigs", "federation.kubeconfig")
	if err := f.WriteKubeconfigs(filepath.Join(dir, "kubeconfigs")); err != nil {
		t.Fatal(err)
	}
	checkReplicasFollowCapacity(t, host, members, f.Members[1], f.Members[0])
}
