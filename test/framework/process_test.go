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
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotifyExitReportsUnexpectedExits: a process that ends on its own or
// is killed from outside is reported with how it ended and its last log
// lines; one ended by Stop or Kill is not (make run stops everything when
// fedhub-apiserver dies, and must not mistake its own stopping for a death).
func TestNotifyExitReportsUnexpectedExits(t *testing.T) {
	exits := make(chan error, 10)
	NotifyExit(exits)
	defer StopNotifyExit(exits)
	dir := t.TempDir()
	start := func(name, script string) *Process {
		t.Helper()
		p, err := StartProcess(name, dir, "/bin/sh", "-c", script)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		return p
	}
	receive := func() error {
		t.Helper()
		select {
		case err := <-exits:
			return err
		case <-time.After(time.Minute):
			t.Fatal("no exit reported within a minute")
			return nil
		}
	}

	// Ended by the harness: nothing to report. Stop and Kill return only
	// once the process is gone and its report would have been sent.
	start("stopped", "sleep 60").Stop()
	start("killed", "sleep 60").Kill()

	start("crashing", "for i in $(seq 1 40); do echo line $i; done; exit 3")
	got := receive().Error()
	for _, want := range []string{"crashing: exited unexpectedly (exited: exit status 3)", "line 40", "line 11\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("report %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "line 10\n") {
		t.Errorf("report %q has more than the last 30 lines", got)
	}

	// Killed from outside, as "pkill -f fedhub-apiserver" would.
	outside := start("terminated", "echo serving; exec sleep 60")
	if err := syscall.Kill(outside.PID(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := receive().Error(); !strings.Contains(got, "terminated: exited unexpectedly (exited: signal: terminated)") {
		t.Errorf("report %q, want the terminated process and its signal", got)
	}
	select {
	case err := <-exits:
		t.Errorf("a process the harness ended was reported: %v", err)
	default:
	}
}

// TestNotifyExitOfAgents: a pull member's agent exits with status 0 when it
// is unjoined, which is no failure; any other exit of it is one.
func TestNotifyExitOfAgents(t *testing.T) {
	exits := make(chan error, 10)
	NotifyExit(exits)
	defer StopNotifyExit(exits)
	dir := t.TempDir()
	for _, script := range []string{"exit 0", "exit 1"} {
		p, err := startProcess("agent", dir, "/bin/sh", true, "-c", script)
		if err != nil {
			t.Fatal(err)
		}
		<-p.exited
	}
	select {
	case err := <-exits:
		if !strings.Contains(err.Error(), "exit status 1") {
			t.Errorf("reported %v, want the exit with status 1 only", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the exit with status 1 was not reported")
	}
	select {
	case err := <-exits:
		t.Errorf("also reported: %v", err)
	default:
	}
}

// TestFreePortAvoidsKernelPorts: the ports handed to child processes lie
// below the kernel's ephemeral range, so no outgoing connection takes one
// before the child binds it, and concurrent callers never get the same one.
func TestFreePortAvoidsKernelPorts(t *testing.T) {
	// Linux's default range: the test does not depend on this kernel's setting.
	low, high := lowestPort, 32768
	const callers, each = 8, 25
	ports := make(chan int, callers*each)
	errs := make(chan error, callers)
	for range callers {
		go func() {
			for range each {
				port, err := freePortIn(low, high)
				if err != nil {
					errs <- err
					return
				}
				ports <- port
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(ports)
	seen := map[int]bool{}
	for port := range ports {
		if port < low || port >= high {
			t.Errorf("port %d outside [%d, %d)", port, low, high)
		}
		if seen[port] {
			t.Errorf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}
