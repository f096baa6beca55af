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
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestEtcdClusterWithPeerDelay starts three members whose peer traffic
// crosses delaying proxies: a write, which the leader commits once a
// follower has it, takes at least one round trip, and none without delay.
func TestEtcdClusterWithPeerDelay(t *testing.T) {
	binaries, err := DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	binary := binaries.Etcd
	const oneWay = 25 * time.Millisecond
	ctx := context.Background()
	cluster, err := StartEtcdClusterWith(ctx, binary, t.TempDir(), "delayed", 3, EtcdClusterOptions{
		PeerDelay: oneWay, HeartbeatInterval: 50 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	for i, m := range cluster.Members {
		if m.PeerURL != "http://"+cluster.PeerProxies[i].Addr {
			t.Errorf("%s advertises %s, not its proxy %s", m.Name(), m.PeerURL, cluster.PeerProxies[i].Addr)
		}
		if !strings.Contains(strings.Join(m.args, " "), "--heartbeat-interval=50") {
			t.Errorf("%s runs without --heartbeat-interval=50: %v", m.Name(), m.args)
		}
	}
	// The leader's own client URL: a write there costs the commit's round trip only.
	client, err := clientv3.New(clientv3.Config{Endpoints: cluster.ClientURLs(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	put := func() time.Duration {
		start := time.Now()
		if _, err := client.Put(ctx, "/k", "v"); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	put() // the connection
	if took := put(); took < 2*oneWay {
		t.Errorf("a write took %s with members %s apart, want at least the round trip", took, 2*oneWay)
	}
	cluster.SetPeerDelay(0)
	put()
	fastest := time.Hour
	for range 5 { // the fastest of a few: a busy machine may delay any one
		fastest = min(fastest, put())
	}
	if fastest >= 2*oneWay {
		t.Errorf("writes took at least %s with no delay between members", fastest)
	}
}
