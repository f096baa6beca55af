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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/fedhub/fedhub/test/framework"
)

// crossDCPart is the scale suite's part that runs fedhub on an etcd cluster
// spread over simulated datacenters (docs/ha.md, "Spreading etcd across
// datacenters").
const crossDCPart = "crossdc"

// crossDCEtcdMembers is the size of fedhub's etcd cluster: one member per datacenter.
const crossDCEtcdMembers = 3

// Where etcd's leader is during a phase: local is member 0, the one fedhub
// talks to (fedhub's own datacenter); remote is member 1, another datacenter.
const (
	leaderLocal  = "local"
	leaderRemote = "remote"
)

// CrossDCResults are the crossdc part's measures. Every phase runs on the
// same etcd cluster, fedhub and members: the peer proxies' delay is changed
// between phases, so that the baseline (no delay) and the datacenters differ
// in nothing else.
type CrossDCResults struct {
	Members           int     `json:"members"`
	EtcdMembers       int     `json:"etcd_members"`
	RTTMs             float64 `json:"rtt_ms"`
	HeartbeatMs       int64   `json:"etcd_heartbeat_interval_ms"`
	ElectionTimeoutMs int64   `json:"etcd_election_timeout_ms"`
	Creates           int     `json:"creates"`
	PacedObjects      int     `json:"paced_objects"`
	PacedRate         float64 `json:"paced_rate_per_s"`
	// Phases measure latencies with the delay and the etcd leader's place fixed.
	Phases []crossDCPhase `json:"phases"`
	// Failovers stop etcd's leader (a remote member) and time the recovery.
	Failovers []crossDCFailover `json:"failovers"`
}

// crossDCPhase is one delay and one place of the etcd leader.
type crossDCPhase struct {
	RTTMs      float64 `json:"rtt_ms"`
	EtcdLeader string  `json:"etcd_leader"`
	// EtcdPut is a bare etcd write at fedhub's member, by the benchmark.
	EtcdPut latencyStats `json:"etcd_put_ms"`
	// CreateDirect and CreateViaHost are federated objects created one at
	// a time, to fedhub directly and through the host's aggregator.
	CreateDirect  latencyStats `json:"create_direct_ms"`
	CreateViaHost latencyStats `json:"create_via_host_ms"`
	// Paced is from the create response at fedhub to the object's
	// appearance in a member's watch, as make bench's paced scenario;
	// PacedFromRequest from the moment the create was sent, so it holds
	// the create's own etcd commit too: what a user waits.
	Paced            latencyStats `json:"paced_ms"`
	PacedFromRequest latencyStats `json:"paced_from_request_ms"`
}

// crossDCFailover is one stop of etcd's leader; times run from the signal.
type crossDCFailover struct {
	RTTMs  float64 `json:"rtt_ms"`
	Signal string  `json:"signal"`
	// EtcdLeaderSeconds is until a surviving member names a new leader.
	EtcdLeaderSeconds float64 `json:"etcd_leader_seconds"`
	// WritesSeconds is until the first create through fedhub (one every
	// 100 ms, each waiting up to 15 s) is acknowledged; FailedCreates were
	// refused or timed out before it.
	WritesSeconds float64 `json:"writes_seconds"`
	FailedCreates int     `json:"failed_creates"`
	// PropagatedSeconds is until that first object is in every member.
	PropagatedSeconds float64 `json:"propagated_seconds"`
	// ReconcilerLeaderLost tells whether fedhub_reconciler_leader read 0
	// (fedhub lost its election lease); ReconcilerLeaderSeconds is until
	// it read 1 again.
	ReconcilerLeaderLost    bool    `json:"reconciler_leader_lost"`
	ReconcilerLeaderSeconds float64 `json:"reconciler_leader_seconds"`
}

// crossDC is the part's running state.
type crossDC struct {
	b    *bench
	o    options
	etcd *framework.EtcdCluster
	view *etcdView
	host dynamic.Interface
	r    *CrossDCResults
}

// runCrossDC starts fedhub's 3-member etcd with a delaying proxy in front of
// every peer port, a host, -members API-only members and fedhub on etcd
// member 0, then measures each phase and failover without delay and with
// -crossdc-rtt, and stops everything.
func runCrossDC(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, results *ScaleResults) (err error) {
	dir, err := os.MkdirTemp("", "fedhub-bench-crossdc-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			logf("  logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	r := &CrossDCResults{Members: o.members, EtcdMembers: crossDCEtcdMembers, RTTMs: ms(o.crossdcRTT),
		HeartbeatMs: o.crossdcHeartbeat.Milliseconds(), ElectionTimeoutMs: o.crossdcElection.Milliseconds(),
		Creates: o.crossdcCreates, PacedObjects: o.pacedCount, PacedRate: o.pacedRate}
	results.CrossDC = r
	started := time.Now()
	logf("  starting fedhub's etcd: %d members, peers through delaying proxies, --heartbeat-interval=%d --election-timeout=%d",
		crossDCEtcdMembers, r.HeartbeatMs, r.ElectionTimeoutMs)
	etcd, err := framework.StartEtcdClusterWith(ctx, binaries.Etcd, filepath.Join(dir, "fedhub-etcd"), "fedhub-etcd", crossDCEtcdMembers,
		framework.EtcdClusterOptions{PeerProxies: true, HeartbeatInterval: o.crossdcHeartbeat, ElectionTimeout: o.crossdcElection})
	if err != nil {
		return err
	}
	defer etcd.Stop()
	view, err := newEtcdView(ctx, etcd)
	if err != nil {
		return err
	}
	defer view.close()
	if err := view.moveLeader(ctx, 0); err != nil {
		return err
	}
	// fedhub stands in the datacenter of etcd member 0 and talks to it only.
	logf("  starting a host, %d members and fedhub on %s (%s)", o.members, etcd.Members[0].Name(), etcd.Members[0].ClientURL)
	f, err := framework.StartFederation(ctx, framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: o.members, MembersAPIOnly: true,
		FedhubArgs: append([]string{"--etcd-servers=" + etcd.Members[0].ClientURL}, o.fedhubArgs...),
	})
	if err != nil {
		return err
	}
	defer f.Stop()
	logf("  ready in %s", time.Since(started).Round(time.Second))
	po := o
	po.objects = 0
	b, err := newBench(ctx, f, kind, po)
	if err != nil {
		return err
	}
	c := &crossDC{b: b, o: o, etcd: etcd, view: view, host: unthrottled(f.Host.AdminConfig), r: r}
	for _, rtt := range []time.Duration{0, o.crossdcRTT} {
		etcd.SetPeerDelay(rtt / 2)
		for _, leader := range []int{0, 1} {
			if err := c.phase(ctx, rtt, leader); err != nil {
				return err
			}
		}
		for _, signal := range []string{"SIGKILL", "SIGTERM"} {
			if err := c.failover(ctx, rtt, signal); err != nil {
				return err
			}
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func leaderPlace(member int) string {
	if member == 0 {
		return leaderLocal
	}
	return leaderRemote
}

// phase measures with the delay set and etcd's leader moved to member leader.
func (c *crossDC) phase(ctx context.Context, rtt time.Duration, leader int) error {
	if err := c.view.moveLeader(ctx, leader); err != nil {
		return err
	}
	p := crossDCPhase{RTTMs: ms(rtt), EtcdLeader: leaderPlace(leader)}
	tag := fmt.Sprintf("rtt%d-%s", rtt.Milliseconds(), p.EtcdLeader)
	logf("  phase: %s RTT between etcd members, etcd leader %s", rtt, p.EtcdLeader)
	var err error
	if p.EtcdPut, err = c.view.putLatencies(ctx, 50); err != nil {
		return err
	}
	if p.CreateDirect, err = c.createLatencies(ctx, c.b.fedhub, "direct-"+tag); err != nil {
		return err
	}
	if p.CreateViaHost, err = c.createLatencies(ctx, c.host, "host-"+tag); err != nil {
		return err
	}
	if p.Paced, p.PacedFromRequest, err = c.paced(ctx, "paced-"+tag); err != nil {
		return err
	}
	if now, err := c.view.leader(ctx, -1); err != nil || now != leader {
		logf("    etcd's leader moved during the phase, to member %d (%v)", now, err)
	}
	logf("    etcd put %s; create direct %s, through the host %s; paced %s (from the request %s)", p.EtcdPut, p.CreateDirect, p.CreateViaHost, p.Paced, p.PacedFromRequest)
	c.r.Phases = append(c.r.Phases, p)
	return nil
}

// createLatencies creates -crossdc-creates federated objects one at a time
// and returns the sorted times of the creates.
func (c *crossDC) createLatencies(ctx context.Context, client dynamic.Interface, prefix string) (latencyStats, error) {
	resources := client.Resource(c.b.kind.federated).Namespace(namespace)
	latencies := make([]time.Duration, 0, c.o.crossdcCreates)
	for i := range c.o.crossdcCreates {
		start := time.Now()
		if _, err := resources.Create(ctx, c.b.kind.federatedObject(namespace, fmt.Sprintf("%s-%04d", prefix, i), 1), metav1.CreateOptions{}); err != nil {
			return latencyStats{}, err
		}
		latencies = append(latencies, time.Since(start))
	}
	sortDurations(latencies)
	return statsOf(latencies), nil
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

// paced creates -paced-objects objects one at a time at -paced-rate and
// returns the latencies, over every member, to the object's appearance in
// that member's watch: from each create response at fedhub, and from the
// moment each create was sent.
func (c *crossDC) paced(ctx context.Context, prefix string) (fromResponse, fromRequest latencyStats, err error) {
	watches, err := c.b.memberWatches(ctx)
	if err != nil {
		return latencyStats{}, latencyStats{}, err
	}
	defer stopAll(watches)
	ticker := time.NewTicker(time.Duration(float64(time.Second) / c.o.pacedRate))
	defer ticker.Stop()
	sent, created := map[string]time.Time{}, map[string]time.Time{}
	var names []string
	for i := range c.o.pacedCount {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		sent[name] = time.Now()
		if _, err := c.b.fedhub.Resource(c.b.kind.federated).Namespace(namespace).Create(ctx, c.b.kind.federatedObject(namespace, name, 1), metav1.CreateOptions{}); err != nil {
			return latencyStats{}, latencyStats{}, err
		}
		created[name] = time.Now()
		names = append(names, name)
		<-ticker.C
	}
	err = waitUntil(ctx, deadline, "paced objects in every member", func() bool {
		for _, w := range watches {
			if _, ok := w.lastSeenAt(names); !ok {
				return false
			}
		}
		return true
	}, sources(watches)...)
	if err != nil {
		return latencyStats{}, latencyStats{}, err
	}
	var afterResponse, afterRequest []time.Duration
	for _, w := range watches {
		for _, name := range names {
			seen, _ := w.seenAt(name)
			afterResponse = append(afterResponse, seen.Sub(created[name]))
			afterRequest = append(afterRequest, seen.Sub(sent[name]))
		}
	}
	sortDurations(afterResponse)
	sortDurations(afterRequest)
	return statsOf(afterResponse), statsOf(afterRequest), nil
}

// probe is one create sent during a failover.
type probe struct {
	name string
	at   time.Time
	err  error
}

// failover moves etcd's leader to member 1 (another datacenter than
// fedhub's), stops it with signal and measures, from the signal, until a
// surviving member names a new leader, until a create through fedhub
// succeeds, until that object is in every member, and whether fedhub kept
// its reconcilers' leadership. Then it starts the member again.
func (c *crossDC) failover(ctx context.Context, rtt time.Duration, signal string) error {
	const victim = 1
	if err := c.view.moveLeader(ctx, victim); err != nil {
		return err
	}
	result := crossDCFailover{RTTMs: ms(rtt), Signal: signal}
	logf("  failover: %s RTT, %s to etcd's leader %s", rtt, signal, c.etcd.Members[victim].Name())
	watches, err := c.b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	probeCtx, cancelProbes := context.WithCancel(ctx)
	defer cancelProbes()
	var (
		mu            sync.Mutex
		probes        []probe
		firstOK       *probe
		etcdLeaderAt  time.Time
		leaderLost    bool
		leaderBackAt  time.Time
		workers       sync.WaitGroup
		member        = c.etcd.Members[victim]
		stopped       = make(chan struct{})
		tag           = fmt.Sprintf("failover-rtt%d-%s", rtt.Milliseconds(), strings.ToLower(signal))
		fedhub, hostC = c.b.f.Fedhub, c.b.f.Host
	)
	start := time.Now()
	go func() {
		defer close(stopped)
		if signal == "SIGKILL" {
			member.Kill()
		} else {
			member.Stop()
		}
	}()
	workers.Go(func() { // etcd's new leader, as the survivors see it
		for probeCtx.Err() == nil {
			if leader, err := c.view.leader(probeCtx, victim); err == nil && leader >= 0 && leader != victim {
				mu.Lock()
				etcdLeaderAt = time.Now()
				mu.Unlock()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	workers.Go(func() { // fedhub's reconcilers' leadership
		for probeCtx.Err() == nil {
			value, found, err := fedhub.Metric(probeCtx, hostC, "fedhub_reconciler_leader")
			if err == nil && found {
				mu.Lock()
				if value == 0 {
					leaderLost = true
				} else if leaderLost && leaderBackAt.IsZero() {
					leaderBackAt = time.Now()
				}
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	resources := c.b.fedhub.Resource(c.b.kind.federated).Namespace(namespace)
	var sent sync.WaitGroup
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for i := 0; ; i++ {
		mu.Lock()
		done := firstOK != nil
		mu.Unlock()
		if done {
			break
		}
		if time.Since(start) > 2*time.Minute {
			cancelProbes()
			sent.Wait()
			workers.Wait()
			<-stopped
			return fmt.Errorf("no create through fedhub succeeded within 2m of the %s", signal)
		}
		name := fmt.Sprintf("%s-%03d", tag, i)
		sent.Go(func() {
			requestCtx, cancel := context.WithTimeout(probeCtx, 15*time.Second)
			defer cancel()
			_, err := resources.Create(requestCtx, c.b.kind.federatedObject(namespace, name, 1), metav1.CreateOptions{})
			p := probe{name: name, at: time.Now(), err: err}
			mu.Lock()
			defer mu.Unlock()
			probes = append(probes, p)
			if err == nil && (firstOK == nil || p.at.Before(firstOK.at)) {
				firstOK = &p
			}
		})
		<-ticker.C
	}
	mu.Lock()
	first := *firstOK
	mu.Unlock()
	result.WritesSeconds = first.at.Sub(start).Seconds()
	err = waitUntil(ctx, deadline, "the first object after the failover in every member", func() bool {
		for _, w := range watches {
			if _, ok := w.seenAt(first.name); !ok {
				return false
			}
		}
		return true
	}, sources(watches)...)
	if err != nil {
		return err
	}
	for _, w := range watches {
		seen, _ := w.seenAt(first.name)
		result.PropagatedSeconds = max(result.PropagatedSeconds, seen.Sub(start).Seconds())
	}
	// Leave the pollers time to see a lost leadership come back.
	err = waitUntil(ctx, time.Minute, "fedhub's reconcilers leading again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !etcdLeaderAt.IsZero() && (!leaderLost || !leaderBackAt.IsZero()) && time.Since(start) > 3*time.Second
	})
	cancelProbes()
	sent.Wait()
	workers.Wait()
	<-stopped
	if err != nil {
		return err
	}
	result.EtcdLeaderSeconds = etcdLeaderAt.Sub(start).Seconds()
	result.ReconcilerLeaderLost = leaderLost
	if leaderLost {
		result.ReconcilerLeaderSeconds = leaderBackAt.Sub(start).Seconds()
	}
	for _, p := range probes {
		if p.err != nil && p.at.Before(first.at) {
			result.FailedCreates++
		}
	}
	logf("    new etcd leader %.2f s; first write %.2f s (%d failed before); propagated %.2f s; reconciler leadership lost: %t (back %.2f s)",
		result.EtcdLeaderSeconds, result.WritesSeconds, result.FailedCreates, result.PropagatedSeconds, leaderLost, result.ReconcilerLeaderSeconds)
	c.r.Failovers = append(c.r.Failovers, result)
	logf("    starting %s again", member.Name())
	return member.Restart(ctx)
}

// table is the part's Markdown table: a row per measure, a column per RTT.
func (r *CrossDCResults) table() string {
	var rtts []float64
	for _, p := range r.Phases {
		if len(rtts) == 0 || rtts[len(rtts)-1] != p.RTTMs {
			rtts = append(rtts, p.RTTMs)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "crossdc: fedhub on a %d-member etcd (--heartbeat-interval=%d --election-timeout=%d), talking to member 0 only; %d API-only members; %d creates per row, %d paced objects at %.0f /s\n\n",
		r.EtcdMembers, r.HeartbeatMs, r.ElectionTimeoutMs, r.Members, r.Creates, r.PacedObjects, r.PacedRate)
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	header := []string{"etcd leader", "measure (ms: p50 / p90 / p99 / max)"}
	align := []string{"---", "---"}
	for _, rtt := range rtts {
		if rtt == 0 {
			header = append(header, "no delay (baseline)")
		} else {
			header = append(header, fmt.Sprintf("%.0f ms RTT between etcd members", rtt))
		}
		align = append(align, "---:")
	}
	row(append(header, "target")...)
	row(append(align, "---")...)
	phase := func(rtt float64, leader string) *crossDCPhase {
		for i := range r.Phases {
			if r.Phases[i].RTTMs == rtt && r.Phases[i].EtcdLeader == leader {
				return &r.Phases[i]
			}
		}
		return nil
	}
	measures := []struct {
		name  string
		value func(*crossDCPhase) latencyStats
	}{
		{"etcd write (put) at fedhub's member", func(p *crossDCPhase) latencyStats { return p.EtcdPut }},
		{"fedhub create, directly", func(p *crossDCPhase) latencyStats { return p.CreateDirect }},
		{"fedhub create, through the host", func(p *crossDCPhase) latencyStats { return p.CreateViaHost }},
		{"paced propagation: create response at fedhub → seen in a member", func(p *crossDCPhase) latencyStats { return p.Paced }},
		{"the same, from the create request (includes the create's commit)", func(p *crossDCPhase) latencyStats { return p.PacedFromRequest }},
	}
	for _, leader := range []string{leaderLocal, leaderRemote} {
		for _, m := range measures {
			cells := []string{leader + " (member " + map[string]string{leaderLocal: "0", leaderRemote: "1"}[leader] + ")", m.name}
			var last *crossDCPhase
			for _, rtt := range rtts {
				p := phase(rtt, leader)
				if p == nil {
					cells = append(cells, "")
					continue
				}
				last = p
				cells = append(cells, strings.TrimSuffix(m.value(p).String(), " ms"))
			}
			target := ""
			if strings.HasPrefix(m.name, "paced") && last != nil {
				verdict := "met"
				if last.Paced.P99 > 150 {
					verdict = "missed"
				}
				target = fmt.Sprintf("p99 ≤ 150 ms: %s", verdict)
			}
			row(append(cells, target)...)
		}
	}
	failover := func(signal string, rtt float64) *crossDCFailover {
		for i := range r.Failovers {
			if r.Failovers[i].Signal == signal && r.Failovers[i].RTTMs == rtt {
				return &r.Failovers[i]
			}
		}
		return nil
	}
	for _, signal := range []string{"SIGKILL", "SIGTERM"} {
		cells := []string{"remote (member 1), stopped", fmt.Sprintf("failover after %s (s): new etcd leader / first write through fedhub (failed creates before) / first object in every member / reconciler leadership", signal)}
		for _, rtt := range rtts {
			f := failover(signal, rtt)
			if f == nil {
				cells = append(cells, "")
				continue
			}
			leadership := "kept"
			if f.ReconcilerLeaderLost {
				leadership = fmt.Sprintf("back at %.2f", f.ReconcilerLeaderSeconds)
			}
			cells = append(cells, fmt.Sprintf("%.2f / %.2f (%d) / %.2f / %s", f.EtcdLeaderSeconds, f.WritesSeconds, f.FailedCreates, f.PropagatedSeconds, leadership))
		}
		row(append(cells, "")...)
	}
	return b.String()
}
