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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/test/framework"
)

// pullScenario is the name of the scenario that measures a pull member
// (docs/pull.md) beside a push member.
const pullScenario = "pull"

// pullFederationMembers are the pull scenario's members: member-1 is joined
// in push mode, member-2 in pull mode, with its fedhub-agent.
const pullFederationMembers = 2

// PullResults are the pull scenario's measures: the same objects go to a
// push member and to a pull member of one federation, so the two paths are
// measured side by side under the same fedhub and the same load.
type PullResults struct {
	Members      int      `json:"members"`
	PushMember   string   `json:"push_member"`
	PullMember   string   `json:"pull_member"`
	Objects      int      `json:"objects"`
	PacedObjects int      `json:"paced_objects"`
	PacedRate    float64  `json:"paced_rate_per_s"`
	AgentFlags   []string `json:"agent_flags"`

	// PacedPush and PacedPull are the latencies from the create at fedhub
	// to the object's appearance in each member's watch.
	PacedPush latencyStats `json:"paced_push_ms"`
	PacedPull latencyStats `json:"paced_pull_ms"`

	// BurstCreateSeconds is how long the N creates at fedhub took.
	BurstCreateSeconds float64 `json:"burst_create_seconds"`
	// BurstPushSeconds and BurstPullSeconds run until each member's watch
	// has seen its last object of the burst.
	BurstPushSeconds          float64 `json:"burst_push_seconds"`
	BurstPullSeconds          float64 `json:"burst_pull_seconds"`
	BurstPushObjectsPerSecond float64 `json:"burst_push_objects_per_s"`
	BurstPullObjectsPerSecond float64 `json:"burst_pull_objects_per_s"`
	BurstPullRatioToPush      float64 `json:"burst_pull_ratio_to_push"`
	// BurstWorksSeconds runs until fedhub has created the last of the pull
	// member's Works: the part of the pull path before the agent.
	BurstWorksSeconds float64 `json:"burst_works_seconds"`
	// BurstPropagatedSeconds runs until every status says Propagation=True
	// for its generation: for the pull member, once its agent reported the
	// object applied.
	BurstPropagatedSeconds float64 `json:"burst_propagated_seconds"`
	// BurstCPU is the CPU seconds each component used during the burst.
	BurstCPU pullCPU `json:"burst_cpu_seconds"`
}

// latencyStats are percentiles of latencies in milliseconds.
type latencyStats struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func statsOf(sorted []time.Duration) latencyStats {
	return latencyStats{P50: percentile(sorted, 50), P90: percentile(sorted, 90), P99: percentile(sorted, 99), Max: percentile(sorted, 100)}
}

func (s latencyStats) String() string {
	return fmt.Sprintf("%.0f / %.0f / %.0f / %.0f ms", s.P50, s.P90, s.P99, s.Max)
}

// pullCPU is CPU seconds (user plus system) by component of the pull
// scenario's federation. The agent reaches fedhub through the host's
// aggregator, so the host carries the pull path's traffic.
type pullCPU struct {
	Fedhub     float64 `json:"fedhub"`
	Host       float64 `json:"host"`
	PushMember float64 `json:"push_member"`
	PullMember float64 `json:"pull_member"`
	Agent      float64 `json:"agent"`
	Etcd       float64 `json:"cluster_etcd"`
	Client     float64 `json:"benchmark_client"`
}

func (u pullCPU) minus(before pullCPU) pullCPU {
	return pullCPU{Fedhub: u.Fedhub - before.Fedhub, Host: u.Host - before.Host, PushMember: u.PushMember - before.PushMember,
		PullMember: u.PullMember - before.PullMember, Agent: u.Agent - before.Agent, Etcd: u.Etcd - before.Etcd, Client: u.Client - before.Client}
}

// runPull starts a federation of its own for the pull scenario, with the
// main federation (if any) already stopped so that the machine is as
// quiet for it: a host, member-1 joined in push mode, member-2 in pull mode
// with its fedhub-agent, and fedhub with the run's fedhub flags. Then it
// measures the burst and the paced latencies of both members and stops it.
func runPull(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, r *Results) error {
	dir, err := os.MkdirTemp("", "fedhub-bench-pull-")
	if err != nil {
		return err
	}
	started := time.Now()
	logf("  starting a host, member-1 (push), member-2 (pull, with fedhub-agent) and fedhub in %s", dir)
	f, err := framework.StartFederation(ctx, framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: pullFederationMembers, MembersAPIOnly: true, FedhubArgs: o.fedhubArgs,
		PullMembers: []int{pullFederationMembers}, Agent: framework.AgentOptions{Args: o.agentArgs},
	})
	if err != nil {
		return err
	}
	defer func() {
		f.Stop()
		_ = os.RemoveAll(dir)
	}()
	logf("  federation ready in %s", time.Since(started).Round(time.Second))
	po := o
	po.objects = o.pullObjects
	b, err := newBench(ctx, f, kind, po)
	if err != nil {
		return err
	}
	push, pull := f.Members[0], f.Members[1]
	if push.Agent != nil || pull.Agent == nil {
		return fmt.Errorf("want %s in push mode and %s in pull mode", push.Name, pull.Name)
	}
	r.Pull = &PullResults{Members: len(f.Members), PushMember: push.Name, PullMember: pull.Name, Objects: o.pullObjects,
		PacedObjects: o.pacedCount, PacedRate: o.pacedRate, AgentFlags: o.agentArgs}
	// The burst first, as in the main federation, in an empty namespace.
	if err := b.pullBurst(ctx, r.Pull); err != nil {
		return err
	}
	perMember, err := b.pacedPerMember(ctx)
	if err != nil {
		return err
	}
	r.Pull.PacedPush, r.Pull.PacedPull = statsOf(perMember[0]), statsOf(perMember[1])
	logf("  paced latency p50 / p90 / p99 / max: push %s, pull %s", r.Pull.PacedPush, r.Pull.PacedPull)
	return nil
}

// pullBurst creates N federated objects at once, each placed on both
// members, and records when each member's watch has seen all of them and
// when every status says they are propagated. Unlike the main burst it
// watches the members: it needs a time per member, and both members pay
// for one watch alike.
func (b *bench) pullBurst(ctx context.Context, r *PullResults) error {
	statuses, err := watchPropagation(ctx, b.fedhub, b.kind.federated, namespace)
	if err != nil {
		return err
	}
	defer statuses.stop()
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	// The Works fedhub writes for the pull member, read through the host as
	// the agent reads them.
	config := rest.CopyConfig(b.f.Fedhub.AdminConfig(b.f.Host))
	config.QPS, config.Burst = clientQPS, clientQPS
	works, err := watchObjects(ctx, metadata.NewForConfigOrDie(config), agentv1alpha1.SchemeGroupVersion.WithResource("works"),
		corev1beta1.DefaultFederationNamespace, "")
	if err != nil {
		return err
	}
	defer works.stop()
	cpuBefore := b.pullCPUNow()
	start := time.Now()
	if err := parallel(len(b.names), 64, func(i int) error {
		_, err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).Create(ctx, b.kind.federatedObject(namespace, b.names[i], 1), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	created := time.Since(start)
	err = waitUntil(ctx, deadline, "pull burst: every member object and every status", func() bool {
		for _, w := range watches {
			if _, ok := w.lastSeenAt(b.names); !ok {
				return false
			}
		}
		if n, _ := works.seenSince(start); n < len(b.names) {
			return false
		}
		_, ok := statuses.lastPropagatedAt(b.names)
		return ok
	}, append(sources(watches), statuses, works)...)
	if err != nil {
		return err
	}
	r.BurstCPU = b.pullCPUNow().minus(cpuBefore)
	n := float64(len(b.names))
	pushAt, _ := watches[0].lastSeenAt(b.names)
	pullAt, _ := watches[1].lastSeenAt(b.names)
	propagatedAt, _ := statuses.lastPropagatedAt(b.names)
	_, worksAt := works.seenSince(start)
	r.BurstCreateSeconds = created.Seconds()
	r.BurstPushSeconds, r.BurstPullSeconds = pushAt.Sub(start).Seconds(), pullAt.Sub(start).Seconds()
	r.BurstPushObjectsPerSecond, r.BurstPullObjectsPerSecond = n/r.BurstPushSeconds, n/r.BurstPullSeconds
	r.BurstPullRatioToPush = r.BurstPullObjectsPerSecond / r.BurstPushObjectsPerSecond
	r.BurstWorksSeconds = worksAt.Sub(start).Seconds()
	r.BurstPropagatedSeconds = propagatedAt.Sub(start).Seconds()
	logf("  %d federated objects created in %s; push member complete in %.1f s; every Work in %.1f s, pull member complete in %.1f s; every status Propagation=True in %.1f s",
		len(b.names), created.Round(time.Millisecond), r.BurstPushSeconds, r.BurstWorksSeconds, r.BurstPullSeconds, r.BurstPropagatedSeconds)
	return nil
}

// pullCPUNow reads the CPU seconds every component of the pull scenario's
// federation has used so far.
func (b *bench) pullCPUNow() pullCPU {
	push, pull := b.f.Members[0], b.f.Members[1]
	return pullCPU{Fedhub: cpuSeconds(b.f.Fedhub.PID()), Host: cpuSeconds(b.f.Host.APIServerPID()),
		PushMember: cpuSeconds(push.APIServerPID()), PullMember: cpuSeconds(pull.APIServerPID()),
		Agent: cpuSeconds(pull.Agent.PID()), Etcd: cpuSeconds(b.f.Etcd.PID()), Client: cpuSeconds(os.Getpid())}
}
