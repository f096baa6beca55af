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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

// growthPart is the scale suite's part that shows how the propagation
// benchmark's figures grow with the number of federated objects (N) and of
// members (M): one federation per row.
const growthPart = "growth"

// growthScenarios are make bench's scenarios each growth row runs, in order:
// the direct baseline, the burst, the paced latency with the burst's objects
// stored, and the restart over all of them.
var growthScenarios = []string{"baseline", "burst", "paced", "restart"}

// growthShape is one row's size: N federated objects on M members.
type growthShape struct{ objects, members int }

// GrowthResults are the growth part's rows, in the order they ran.
type GrowthResults struct {
	PacedObjects int         `json:"paced_objects"`
	PacedRate    float64     `json:"paced_rate_per_s"`
	Workers      int         `json:"propagation_workers"`
	Rows         []GrowthRow `json:"rows"`
}

// GrowthRow is one federation's measures, taken with make bench's scenarios.
type GrowthRow struct {
	Objects                  int     `json:"objects"`
	Members                  int     `json:"members"`
	BaselineObjectsPerSecond float64 `json:"baseline_objects_per_s"`
	BurstSeconds             float64 `json:"burst_seconds"`
	BurstObjectsPerSecond    float64 `json:"burst_objects_per_s"`
	BurstRatioToBaseline     float64 `json:"burst_ratio_to_baseline"`
	PacedP50Ms               float64 `json:"paced_p50_ms"`
	PacedP99Ms               float64 `json:"paced_p99_ms"`
	RSSBytes                 int64   `json:"rss_bytes"`
	RSSBytesPerObject        float64 `json:"rss_bytes_per_object"`
	RestartSeconds           float64 `json:"restart_seconds"`
	RestartObjects           int     `json:"restart_objects"`
	RestartMemberWrites      int     `json:"restart_member_writes"`
	// RSSAfterRestartBytes is the restarted fedhub's, once it has
	// reconciled every object again.
	RSSAfterRestartBytes int64 `json:"rss_after_restart_bytes"`
	// FedhubCPUMsPerMemberObject and MembersCPUMsPerMemberObject are the
	// burst's CPU-ms per member object in fedhub and in all the members;
	// DirectMembersCPUMsPerMemberObject the members' in the baseline.
	FedhubCPUMsPerMemberObject        float64 `json:"fedhub_cpu_ms_per_member_object"`
	MembersCPUMsPerMemberObject       float64 `json:"members_cpu_ms_per_member_object"`
	DirectMembersCPUMsPerMemberObject float64 `json:"direct_members_cpu_ms_per_member_object"`
	// BurstCPU and BaselineCPU are the CPU seconds by component.
	BurstCPU    cpuUse `json:"burst_cpu_seconds"`
	BaselineCPU cpuUse `json:"baseline_cpu_seconds"`
}

// growthShapes are the rows -growth-objects and -growth-members ask for:
// every N of -growth-objects at the first M of -growth-members, then every
// M of -growth-members at N = -growth-members-objects; a shape once only.
func growthShapes(o options) ([]growthShape, error) {
	objects, err := intList("-growth-objects", o.growthObjects)
	if err != nil {
		return nil, err
	}
	members, err := intList("-growth-members", o.growthMembers)
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("-growth-members: at least one member count")
	}
	var shapes []growthShape
	add := func(s growthShape) {
		if !slices.Contains(shapes, s) {
			shapes = append(shapes, s)
		}
	}
	for _, n := range objects {
		add(growthShape{objects: n, members: members[0]})
	}
	if o.growthMembersObjects > 0 {
		for _, m := range members {
			add(growthShape{objects: o.growthMembersObjects, members: m})
		}
	}
	return shapes, nil
}

// intList parses a comma-separated list of positive integers.
func intList(flagName, s string) ([]int, error) {
	var values []int
	for _, field := range strings.Split(s, ",") {
		if field = strings.TrimSpace(field); field == "" {
			continue
		}
		v, err := strconv.Atoi(field)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, field)
		}
		values = append(values, v)
	}
	return values, nil
}

// runGrowth runs a federation per row: it starts a host, M API-only members
// and fedhub, runs make bench's baseline, burst, paced and restart scenarios
// with N objects and stops everything, also on failure, before the next row.
func runGrowth(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, results *ScaleResults) error {
	shapes, err := growthShapes(o)
	if err != nil {
		return err
	}
	g := &GrowthResults{PacedObjects: o.pacedCount, PacedRate: o.pacedRate, Workers: o.workers}
	results.Growth = g
	for _, shape := range shapes {
		logf("  row: N = %d objects, M = %d members", shape.objects, shape.members)
		row, err := growthRow(ctx, binaries, kind, o, shape)
		if err != nil {
			return fmt.Errorf("N = %d, M = %d: %w", shape.objects, shape.members, err)
		}
		logf("  burst %.0f /s (ratio %.2f), paced p99 %.0f ms, RSS %.0f MiB (%.1f KiB per object), restart %.1f s with %d member writes, fedhub %.2f CPU-ms per member object",
			row.BurstObjectsPerSecond, row.BurstRatioToBaseline, row.PacedP99Ms, float64(row.RSSBytes)/(1<<20), row.RSSBytesPerObject/1024,
			row.RestartSeconds, row.RestartMemberWrites, row.FedhubCPUMsPerMemberObject)
		g.Rows = append(g.Rows, row)
	}
	return nil
}

// growthRow is one row: a federation of its own, stopped before it returns.
func growthRow(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, shape growthShape) (_ GrowthRow, err error) {
	dir, err := os.MkdirTemp("", "fedhub-bench-growth-")
	if err != nil {
		return GrowthRow{}, err
	}
	defer func() {
		if err != nil {
			logf("  logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	started := time.Now()
	f, err := framework.StartFederation(ctx, framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: shape.members, MembersAPIOnly: true, FedhubArgs: o.fedhubArgs,
	})
	if err != nil {
		return GrowthRow{}, err
	}
	defer f.Stop()
	logf("  federation ready in %s", time.Since(started).Round(time.Second))
	ro := o
	ro.objects, ro.members = shape.objects, shape.members
	ro.profile, ro.heapProfile = "", ""
	b, err := newBench(ctx, f, kind, ro)
	if err != nil {
		return GrowthRow{}, err
	}
	r := &Results{Members: shape.members, Objects: shape.objects, Kind: o.kind, Workers: o.workers, Scenarios: growthScenarios}
	for _, name := range growthScenarios {
		logf("  scenario %s", name)
		if err := b.scenario(name)(ctx, r); err != nil {
			return GrowthRow{}, fmt.Errorf("scenario %s: %w", name, err)
		}
	}
	r.finish()
	burst, direct := r.perMemberObject(r.BurstCPU), r.perMemberObject(r.BaselineCPU)
	return GrowthRow{
		Objects: shape.objects, Members: shape.members,
		BaselineObjectsPerSecond: r.BaselineObjectsPerSecond, BurstSeconds: r.BurstSeconds,
		BurstObjectsPerSecond: r.BurstObjectsPerSecond, BurstRatioToBaseline: r.BurstRatioToBaseline,
		PacedP50Ms: r.PacedP50Ms, PacedP99Ms: r.PacedP99Ms,
		RSSBytes: r.RSSBytes, RSSBytesPerObject: r.RSSBytesPerObject,
		RSSAfterRestartBytes: rss(f.Fedhub.PID()),
		RestartSeconds:       r.RestartSeconds, RestartObjects: shape.objects + len(b.paced), RestartMemberWrites: r.RestartMemberWrites,
		FedhubCPUMsPerMemberObject: burst.Fedhub, MembersCPUMsPerMemberObject: burst.Members,
		DirectMembersCPUMsPerMemberObject: direct.Members,
		BurstCPU:                          r.BurstCPU, BaselineCPU: r.BaselineCPU,
	}, nil
}
