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

// Package peers lets every fedhub replica reach every pull member's tunnel
// (docs/ha.md, "Cluster access through pull tunnels"): a directory in
// fedhub's etcd says which replica holds each tunnel, a replica without the
// tunnel asks the holder for a stream over HTTPS, and only fedhub's own
// host identity may ask.
package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/fedhub/fedhub/pkg/tunnel"
)

// Record is what the directory keeps for a cluster: the replica holding
// its tunnel and where its peers reach it.
type Record struct {
	// Replica is the holder's identity (hostname_pid, as the leader election's).
	Replica string `json:"replica"`
	// Address is the holder's host:port for peers.
	Address string `json:"address"`
}

// EtcdDirectory is a tunnel.Directory in etcd: one key per cluster below
// prefix, put with this replica's session lease, so that the records of a
// replica that dies go with its lease.
type EtcdDirectory struct {
	client *clientv3.Client
	prefix string
	self   Record
	ttl    time.Duration

	mu      sync.Mutex
	session *concurrency.Session
}

var _ tunnel.Directory = &EtcdDirectory{}

// errNoSession is Announce's error before Run has an etcd session; Run
// announces the open tunnels once it has one.
var errNoSession = errors.New("no etcd session yet")

// NewEtcdDirectory keeps the records below prefix, this replica's as self,
// with a lease of ttl.
func NewEtcdDirectory(client *clientv3.Client, prefix string, self Record, ttl time.Duration) *EtcdDirectory {
	return &EtcdDirectory{client: client, prefix: strings.TrimSuffix(prefix, "/") + "/", self: self, ttl: ttl}
}

// Run keeps an etcd session until ctx ends; each time it has a new one
// (at first, and after losing one, when this replica's records expired
// with its lease), it announces the tunnels open returns. When ctx ends it
// ends the session, which deletes this replica's records.
func (d *EtcdDirectory) Run(ctx context.Context, open func() []string) {
	logger := klog.FromContext(ctx)
	backoff := wait.Backoff{Duration: time.Second, Factor: 2, Steps: 6, Cap: 30 * time.Second}
	for ctx.Err() == nil {
		session, err := concurrency.NewSession(d.client, concurrency.WithTTL(int(d.ttl.Seconds())), concurrency.WithContext(ctx))
		if err != nil {
			logger.Error(err, "Opening the etcd session of the tunnels' directory failed")
			select {
			case <-ctx.Done():
			case <-time.After(backoff.Step()):
			}
			continue
		}
		d.mu.Lock()
		d.session = session
		d.mu.Unlock()
		for _, cluster := range open() {
			if err := d.Announce(ctx, cluster); err != nil {
				logger.Error(err, "Recording a pull member's tunnel for the other replicas failed", "cluster", cluster)
			}
		}
		select {
		case <-ctx.Done():
			// Revokes the lease: the other replicas stop sending streams here.
			_ = session.Close()
		case <-session.Done():
			logger.Info("The etcd session of the tunnels' directory ended; opening a new one")
		}
		d.mu.Lock()
		d.session = nil
		d.mu.Unlock()
	}
}

func (d *EtcdDirectory) key(cluster string) string { return d.prefix + cluster }

// Announce puts cluster's record naming this replica, with its lease.
func (d *EtcdDirectory) Announce(ctx context.Context, cluster string) error {
	d.mu.Lock()
	session := d.session
	d.mu.Unlock()
	if session == nil {
		return errNoSession
	}
	value, err := json.Marshal(d.self)
	if err != nil {
		return err
	}
	_, err = d.client.Put(ctx, d.key(cluster), string(value), clientv3.WithLease(session.Lease()))
	return err
}

// Withdraw deletes cluster's record if it is still this replica's.
func (d *EtcdDirectory) Withdraw(ctx context.Context, cluster string) error {
	value, err := json.Marshal(d.self)
	if err != nil {
		return err
	}
	key := d.key(cluster)
	_, err = d.client.Txn(ctx).If(clientv3.Compare(clientv3.Value(key), "=", string(value))).Then(clientv3.OpDelete(key)).Commit()
	return err
}

// Holder reads cluster's record.
func (d *EtcdDirectory) Holder(ctx context.Context, cluster string) (address string, self, found bool, err error) {
	response, err := d.client.Get(ctx, d.key(cluster))
	if err != nil {
		return "", false, false, err
	}
	if len(response.Kvs) == 0 {
		return "", false, false, nil
	}
	var record Record
	if err := json.Unmarshal(response.Kvs[0].Value, &record); err != nil {
		return "", false, false, fmt.Errorf("the record of cluster %s in etcd is not valid: %w", cluster, err)
	}
	return record.Address, record.Replica == d.self.Replica, true, nil
}
