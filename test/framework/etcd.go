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
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Etcd is an etcd process that the host and member clusters share, each under its own prefix.
type Etcd struct {
	*Process
	ClientURL string
}

// StartEtcd starts etcd with its data under dir and waits until it is healthy.
func StartEtcd(ctx context.Context, etcdBinary, dir string) (*Etcd, error) {
	clientPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	process, err := StartProcess("etcd", dir, etcdBinary, flagArgs(map[string]string{
		"name":                        "framework",
		"data-dir":                    filepath.Join(dir, "etcd-data"),
		"listen-client-urls":          clientURL,
		"advertise-client-urls":       clientURL,
		"listen-peer-urls":            peerURL,
		"initial-advertise-peer-urls": peerURL,
		"initial-cluster":             "framework=" + peerURL,
		"log-level":                   "warn",
		// Tests write little; a small backend and no fsync wait keep etcd quick on loopback.
		"quota-backend-bytes": strconv.Itoa(2 << 30),
		"unsafe-no-fsync":     "true",
	})...)
	if err != nil {
		return nil, err
	}
	etcd := &Etcd{Process: process, ClientURL: clientURL}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		if exited, _ := process.Exited(); exited {
			return false, fmt.Errorf("exited")
		}
		response, err := http.Get(clientURL + "/health")
		if err != nil {
			return false, nil
		}
		_ = response.Body.Close()
		return response.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		process.Stop()
		return nil, process.Failure("did not become healthy")
	}
	return etcd, nil
}
