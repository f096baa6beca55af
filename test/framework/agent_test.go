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

package framework

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fedhub/fedhub/pkg/join"
)

// TestPullMemberJoinsAndItsAgentRestarts: a pull member is Ready in Pull
// mode through its agent alone, with no credential for it in the host; the
// agent, stopped and started again, resumes on its state directory.
func TestPullMemberJoinsAndItsAgentRestarts(t *testing.T) {
	binaries, err := DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(binaries.FedhubAgent); err != nil {
		t.Fatalf("%s is missing: run 'make build' first", binaries.FedhubAgent)
	}
	ctx := context.Background()
	f, err := StartFederation(ctx, FederationOptions{
		Binaries: binaries, Dir: t.TempDir(), Members: 2, MembersAPIOnly: true, PullMembers: []int{2},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	if f.Members[0].Agent != nil || f.Members[1].Agent == nil {
		t.Fatalf("agents: member-1 %v, member-2 %v; want member-2's alone", f.Members[0].Agent, f.Members[1].Agent)
	}
	cluster, err := f.Client.CoreV1beta1().KubeFedClusters(join.DefaultFederationNamespace).Get(ctx, "member-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !cluster.IsPull() || !cluster.IsReady() {
		t.Errorf("member-2: mode %q, ready %v; want Pull and Ready", cluster.Spec.Mode, cluster.IsReady())
	}
	if _, err := f.Host.Client.CoreV1().Secrets(join.DefaultFederationNamespace).Get(ctx, "member-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("host Secret member-2: %v, want none", err)
	}
	state := filepath.Join(f.Members[1].dir, "agent", "state")
	f.Members[1].StopAgent()
	if err := f.Members[1].StartAgent(); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitClusterReady(ctx, "member-2"); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(state); err != nil || len(entries) == 0 {
		t.Errorf("the agent's state directory %s: %v, %d entries; want its identity", state, err, len(entries))
	}
}
