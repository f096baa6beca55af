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
	"context"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fedhub/fedhub/test/framework"
)

// etcdView asks an etcd cluster's members who leads, moves the leadership
// and times bare writes at member 0, the one fedhub talks to.
type etcdView struct {
	cluster *framework.EtcdCluster
	// ids are the members' ids, in the cluster's order.
	ids []uint64
	// local reaches member 0 only.
	local *clientv3.Client
}

func etcdClient(url string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

func newEtcdView(ctx context.Context, cluster *framework.EtcdCluster) (*etcdView, error) {
	v := &etcdView{cluster: cluster}
	for _, m := range cluster.Members {
		client, err := etcdClient(m.ClientURL)
		if err != nil {
			return nil, err
		}
		status, err := client.Status(ctx, m.ClientURL)
		_ = client.Close()
		if err != nil {
			return nil, fmt.Errorf("status of %s: %w", m.Name(), err)
		}
		v.ids = append(v.ids, status.Header.MemberId)
	}
	var err error
	v.local, err = etcdClient(cluster.Members[0].ClientURL)
	return v, err
}

func (v *etcdView) close() { _ = v.local.Close() }

// leader is the index of the member that the first answering member other
// than skip names as leader; -1 when it knows none.
func (v *etcdView) leader(ctx context.Context, skip int) (int, error) {
	var last error
	for i, m := range v.cluster.Members {
		if i == skip {
			continue
		}
		if exited, _ := m.Exited(); exited {
			continue
		}
		client, err := etcdClient(m.ClientURL)
		if err != nil {
			last = err
			continue
		}
		statusCtx, cancel := context.WithTimeout(ctx, time.Second)
		status, err := client.Status(statusCtx, m.ClientURL)
		cancel()
		_ = client.Close()
		if err != nil {
			last = err
			continue
		}
		return slices.Index(v.ids, status.Leader), nil
	}
	return -1, fmt.Errorf("no member answered: %v", last)
}

// moveLeader makes member to etcd's leader, asking the current leader to
// hand over, and waits until every running member agrees.
func (v *etcdView) moveLeader(ctx context.Context, to int) error {
	end := time.Now().Add(time.Minute)
	for {
		current, err := v.leader(ctx, -1)
		if err == nil && current == to {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("etcd's leader is member %d, not %d, a minute after asking (%v)", current, to, err)
		}
		if err == nil && current >= 0 {
			client, err := etcdClient(v.cluster.Members[current].ClientURL)
			if err == nil {
				moveCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err = client.MoveLeader(moveCtx, v.ids[to])
				cancel()
				_ = client.Close()
			}
			if err != nil {
				logf("  moving etcd's leader to member %d: %v", to, err)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// putLatencies times n writes, one at a time, at member 0, under a key
// outside fedhub's prefix.
func (v *etcdView) putLatencies(ctx context.Context, n int) (latencyStats, error) {
	latencies := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := v.local.Put(ctx, "/fedhub-bench/crossdc-probe", fmt.Sprint(i)); err != nil {
			return latencyStats{}, err
		}
		latencies = append(latencies, time.Since(start))
	}
	sortDurations(latencies)
	return statsOf(latencies), nil
}
