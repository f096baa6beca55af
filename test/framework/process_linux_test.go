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
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestChildrenDieWithTheTest: when a test binary dies without stopping its
// children (go test -timeout panics it), the kernel kills them. The test
// runs itself as that binary: the child starts a long sleep through
// StartProcess, prints its PID and panics.
func TestChildrenDieWithTheTest(t *testing.T) {
	if os.Getenv("FEDHUB_TEST_DYING_PARENT") != "" {
		sleeper, err := StartProcess("sleeper", os.Getenv("FEDHUB_TEST_DYING_PARENT"), "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("sleeper %d\n", sleeper.cmd.Process.Pid)
		panic("dying without stopping the sleeper")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildrenDieWithTheTest$")
	cmd.Env = append(os.Environ(), "FEDHUB_TEST_DYING_PARENT="+t.TempDir())
	out, _ := cmd.CombinedOutput() // it panics: exit status 2
	var pid int
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(line, "sleeper %d", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatalf("the dying test printed no sleeper PID:\n%s", out)
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		// Signal 0 tests for existence; a killed child of a dead parent is reaped by init.
		return syscall.Kill(pid, 0) != nil, nil
	}); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the sleeper (PID %d) outlived the test binary that started it", pid)
	}
}
