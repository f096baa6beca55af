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

package main

import (
	"io"
	"strings"
	"testing"
)

// TestFlags: the agent's flags and klog's -v are accepted; a missing
// required flag is refused before anything is reached.
func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"nothing", nil, "--cluster-name is required"},
		{"no state dir", []string{"--cluster-name=member-2", "-v=2"}, "--state-dir is required"},
		{"bad lease", []string{"--cluster-name=member-2", "--state-dir=/tmp/x", "--lease-duration=1s"}, "--lease-duration must be at least 4s"},
		{"unknown flag", []string{"--cluster=member-2"}, "unknown flag: --cluster"},
		{"arguments", []string{"member-2"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newCommand()
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
	for _, flag := range []string{"cluster-name", "hub-kubeconfig", "member-kubeconfig", "state-dir", "federation-namespace",
		"lease-duration", "token-expiration", "workers", "v", "vmodule"} {
		if newCommand().Flags().Lookup(flag) == nil {
			t.Errorf("no flag --%s", flag)
		}
	}
}
