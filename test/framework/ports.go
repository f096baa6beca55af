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
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A port handed to a child process is free when FreePort checks it and
// taken when the child binds it, moments later. Two things can take it in
// between, and both happened in CI (an etcd peer listener failed with
// "address already in use"):
//
//   - the kernel, which gives ports of its ephemeral range to every
//     outgoing connection and every listener on port 0 — and the e2e,
//     integration and framework tests, run in parallel by go test, open
//     thousands of connections;
//   - another test process calling FreePort at the same moment.
//
// So FreePort picks ports below the ephemeral range, which the kernel never
// hands out on its own, and reserves each one for portReservation in a
// directory all test processes of this user share.
const (
	portReservation = 2 * time.Minute
	// lowestPort keeps clear of well-known services' ports.
	lowestPort = 20000
)

// FreePort returns a loopback port nobody listens on now and no other test
// process was given in the last two minutes. The child process that is
// given it opens it moments later.
func FreePort() (int, error) {
	return freePortIn(portRange())
}

// freePortIn is FreePort with ports taken from [low, high).
func freePortIn(low, high int) (int, error) {
	if high-low < 1000 {
		// No room below the kernel's range: take what the kernel offers.
		return kernelPort()
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("fedhub-ports-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	// One process at a time claims: so a stale claim is taken over by one.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	for range 200 {
		port := low + rand.IntN(high-low)
		if !reservePort(dir, port) {
			continue
		}
		listener, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // someone else's server listens there
		}
		_ = listener.Close()
		return port, nil
	}
	return 0, errors.New("no free port below the ephemeral range after 200 tries")
}

// portRange is [lowestPort, the first port of the kernel's ephemeral range).
func portRange() (low, high int) {
	high = 32768 // Linux's default ip_local_port_range starts there
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if fields := strings.Fields(string(data)); len(fields) == 2 {
			if first, err := strconv.Atoi(fields[0]); err == nil {
				high = first
			}
		}
	}
	return lowestPort, high
}

// reservePort claims port by writing a file named after it, unless a claim
// younger than portReservation is there. The caller holds the lock.
func reservePort(dir string, port int) bool {
	path := filepath.Join(dir, strconv.Itoa(port))
	if info, err := os.Stat(path); err == nil && time.Since(info.ModTime()) < portReservation {
		return false
	}
	return os.WriteFile(path, nil, 0o600) == nil && os.Chtimes(path, time.Now(), time.Now()) == nil
}

func kernelPort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}
