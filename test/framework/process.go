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

// Package framework starts real clusters for tests and for make run: etcd,
// kube-apiservers for a host and member clusters (with controller manager,
// scheduler and kwok nodes when workloads must run), and fedhub-apiserver
// registered with the host. Every process runs in its own process group with
// its own log, and is stopped when the federation is stopped.
package framework

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGracePeriod is how long a process may take to exit after SIGTERM before it is killed.
const stopGracePeriod = 20 * time.Second

// Process is a child process with its log in a file.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
	err     error
	// stopping is set by Stop and Kill before they signal: the exit that
	// follows is wanted, not one to report to NotifyExit's channels.
	stopping atomic.Bool
}

// exitWatchers are the channels NotifyExit registered.
var exitWatchers struct {
	sync.Mutex
	channels []chan<- error
}

// NotifyExit makes every process this package starts that ends without Stop
// or Kill (a crash, a kill from outside, a clean exit nobody asked for) send
// c an error naming it, saying how it ended, with the last lines of its log.
// As with signal.Notify, a send never blocks: c should have room.
//
// make run waits on it: a federation whose fedhub-apiserver is gone must
// not look alive to the user who started it.
func NotifyExit(c chan<- error) {
	exitWatchers.Lock()
	defer exitWatchers.Unlock()
	exitWatchers.channels = append(exitWatchers.channels, c)
}

// StopNotifyExit undoes NotifyExit for c.
func StopNotifyExit(c chan<- error) {
	exitWatchers.Lock()
	defer exitWatchers.Unlock()
	exitWatchers.channels = slices.DeleteFunc(exitWatchers.channels, func(w chan<- error) bool { return w == c })
}

func notifyExit(err error) {
	exitWatchers.Lock()
	defer exitWatchers.Unlock()
	for _, c := range exitWatchers.channels {
		select {
		case c <- err:
		default:
		}
	}
}

// StartProcess starts binary with args, logging to <logDir>/<name>.log.
func StartProcess(name, logDir, binary string, args ...string) (*Process, error) {
	return startProcess(name, logDir, binary, false, args...)
}

// startProcess is StartProcess; with cleanExitOK an exit with status 0 is
// not reported to NotifyExit's channels.
func startProcess(name, logDir, binary string, cleanExitOK bool, args ...string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childProcessAttributes()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, binary, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		// Reported before exited is closed, so that once Stop or Kill has
		// returned no report of the process can follow.
		if !p.stopping.Load() && (p.err != nil || !cleanExitOK) {
			notifyExit(p.failure("exited unexpectedly", exitState(p.err)))
		}
		close(p.exited)
	}()
	return p, nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.err
	default:
		return false, nil
	}
}

// PID is the process's id, e.g. to read its resource usage under /proc.
func (p *Process) PID() int {
	return p.cmd.Process.Pid
}

// Stop sends SIGTERM to the process group, then SIGKILL after a grace period,
// and waits until the process is gone.
func (p *Process) Stop() {
	p.stopping.Store(true)
	if exited, _ := p.Exited(); !exited {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopGracePeriod):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
	_ = p.log.Close()
}

// Kill sends SIGKILL to the process group, as a crash or an OOM kill would
// end it, and waits until the process is gone.
func (p *Process) Kill() {
	p.stopping.Store(true)
	if exited, _ := p.Exited(); !exited {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	_ = p.log.Close()
}

// Failure describes a failed process for an error message: its name, how it
// ended if it did, and the tail of its log.
func (p *Process) Failure(what string) error {
	state := "still running"
	if exited, err := p.Exited(); exited {
		state = exitState(err)
	}
	return p.failure(what, state)
}

func (p *Process) failure(what, state string) error {
	return fmt.Errorf("%s: %s (%s); last lines of %s:\n%s", p.Name, what, state, p.LogPath, tail(p.LogPath, 30))
}

// exitState says how a process ended, given what Wait returned.
func exitState(err error) string {
	if err == nil {
		return "exited: status 0"
	}
	return fmt.Sprintf("exited: %v", err)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// flagArgs turns name=value pairs into --name=value arguments, sorted for readable logs.
func flagArgs(flags map[string]string) []string {
	args := make([]string, 0, len(flags))
	for name, value := range flags {
		args = append(args, "--"+name+"="+value)
	}
	sort.Strings(args)
	return args
}
