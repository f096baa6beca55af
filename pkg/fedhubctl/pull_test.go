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

package fedhubctl

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestJoinModeFlags: flags of one mode are refused in the other before
// anything is contacted (the kubeconfig here does not exist).
func TestJoinModeFlags(t *testing.T) {
	missing := "--kubeconfig=" + filepath.Join(t.TempDir(), "none")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"join", "member-2", "--mode", "pull", "--cluster-admin"}, "--cluster-admin is for --mode push"},
		{[]string{"join", "member-2", "--mode", "pull", "--cluster-context", "c"}, "--cluster-context is for --mode push"},
		{[]string{"join", "member-2", "--auto-approve"}, "--auto-approve is for --mode pull"},
		{[]string{"join", "member-2", "--mode", "pull", "--bootstrap-kubeconfig", "f"}, "kubeconfig"},
		{[]string{"join", "member-2", "--mode", "sideways"}, `--mode "sideways": want push or pull`},
		{[]string{"join", "member-2", "--agent-manifests", "f"}, "--agent-manifests is for --mode pull"},
		{[]string{"join", "member-2", "--agent-image", "i"}, "--agent-image is for --mode pull"},
		{[]string{"join", "member-2", "--mode", "pull", "--agent-image", "i"}, "--agent-image is for --agent-manifests"},
		{[]string{"join", "member-2", "--mode", "pull", "--agent-manifests", "f"}, "kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			cmd := NewCommand("fedhubctl", &out, &out)
			cmd.SetArgs(append(tt.args, missing))
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAgentCommand(t *testing.T) {
	got := strings.Join(AgentCommand("member-2", "/b.kubeconfig", "m.kubeconfig", "/var/lib/a", "kube-federation-system"), " ")
	want := "fedhub-agent --cluster-name member-2 --hub-kubeconfig /b.kubeconfig --member-kubeconfig m.kubeconfig --state-dir /var/lib/a"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := AgentCommand("m", "b", "k", "s", "other"); got[len(got)-1] != "other" {
		t.Errorf("another federation namespace is not passed: %q", got)
	}
}
