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

// Command local-federation is what make run runs: a host cluster, member
// clusters (member-2 joined in pull mode, with its fedhub-agent) and
// fedhub-apiserver registered with the host, all as local processes, until Ctrl-C or SIGTERM, or until one of them exits on its own:
// then it says which, with the end of its log, stops the others and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "local-federation:", err)
		os.Exit(1)
	}
}

func run() error {
	members := flag.Int("members", 2, "number of member clusters")
	apiOnly := flag.Bool("members-api-only", false, "members run kube-apiserver alone (no nodes, no workloads)")
	kubeconfigDir := flag.String("kubeconfig-dir", ".local", "where host.kubeconfig and member-<i>.kubeconfig are written")
	pullMembers := flag.String("pull-members", defaultPullMembers, "comma-separated members joined in pull mode, each with a fedhub-agent process; the others are joined in push mode")
	flag.Parse()
	pull, err := parsePullMembers(*pullMembers, *members)
	if err != nil {
		return err
	}

	binaries, err := framework.DefaultBinaries()
	if err != nil {
		return err
	}
	stateDir, err := os.MkdirTemp("", "fedhub-local-")
	if err != nil {
		return err
	}
	// The logs stay when a process died: its whole log may be needed.
	keepState := false
	defer func() {
		if keepState {
			fmt.Fprintf(os.Stderr, "process logs are kept in %s\n", stateDir)
			return
		}
		_ = os.RemoveAll(stateDir)
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A process that dies while the federation starts fails the start
	// itself; one that dies later is reported here.
	exits := make(chan error, 64)
	framework.NotifyExit(exits)
	defer framework.StopNotifyExit(exits)
	started := time.Now()
	federation, err := framework.StartFederation(ctx, framework.FederationOptions{
		Binaries: binaries, Dir: stateDir, Members: *members, MembersAPIOnly: *apiOnly,
		NodesPerMember: 3, Progress: os.Stderr, PullMembers: pull,
	})
	if err != nil {
		return err
	}
	defer federation.Stop()
	if err := federation.WriteKubeconfigs(*kubeconfigDir); err != nil {
		return err
	}
	hostKubeconfig, err := filepath.Abs(filepath.Join(*kubeconfigDir, "host.kubeconfig"))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "started in %s; process logs are in %s; Ctrl-C stops everything\n", time.Since(started).Round(time.Second), stateDir)
	fmt.Printf("fedhub is ready: export KUBECONFIG=%s\n", hostKubeconfig)
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "stopping")
		return nil
	case exit := <-exits:
		// Said now: stopping the others takes a while, and the user's
		// kubectl already fails.
		fmt.Fprintf(os.Stderr, "local-federation: %v\nstopping everything\n", exit)
		keepState = true
		return errors.New("a process of the federation exited; see above")
	}
}

// defaultPullMembers: make run shows both modes side by side.
const defaultPullMembers = "member-2"

// parsePullMembers turns "member-2,member-3" into member numbers. A name past
// the last member is refused, except in the default (make run MEMBERS=1).
func parsePullMembers(list string, members int) ([]int, error) {
	given := list != defaultPullMembers
	var numbers []int
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, "member-"))
		if err != nil || !strings.HasPrefix(name, "member-") || n < 1 {
			return nil, fmt.Errorf("--pull-members: %q is not a member's name (member-1, member-2, ...)", name)
		}
		if n > members {
			if given {
				return nil, fmt.Errorf("--pull-members: there is no %s with --members %d", name, members)
			}
			continue
		}
		numbers = append(numbers, n)
	}
	return numbers, nil
}
