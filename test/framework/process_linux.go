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

import "syscall"

// childProcessAttributes puts a child in its own process group (a signal
// to the group reaches anything it forks, and Ctrl-C in a terminal reaches
// only the test, which stops its children in order) and has the kernel kill
// it when the test process dies without stopping it: when go test's
// -timeout panics the test binary, or someone kills it, its kube-apiservers
// and etcds must not outlive it. (The signal follows the death of the OS
// thread that started the child; the Go runtime keeps its threads unless a
// goroutine exits locked to one, which test code does not do.)
func childProcessAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
