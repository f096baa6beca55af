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

// Command bench measures propagation against the physical limit: it starts
// a host, M member kube-apiservers and fedhub with the test harness, writes
// objects into the members directly (the baseline), then through fedhub;
// last, in a federation of its own, it measures a pull member (fedhub-agent)
// beside a push member (pull.go). It prints one table, writes
// bench-results.json, a latency plot and docs/performance.md. Run it with
// make bench.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/test/framework"
)

type options struct {
	members, objects, pacedCount, workers int
	pullObjects                           int
	pacedRate                             float64
	steady                                time.Duration
	kind, scenarios, out, plot, doc       string
	profile, heapProfile                  string
	fedhubArgs, agentArgs                 stringList

	// The scale suite's (scale.go): which parts, and the crossdc part's settings.
	suite, scaleParts                             string
	crossdcRTT, crossdcHeartbeat, crossdcElection time.Duration
	crossdcCreates                                int
	// The growth part's (growth.go): N at the first M, then M at one N.
	growthObjects, growthMembers string
	growthMembersObjects         int
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// allScenarios in the order they run; later ones need the objects earlier ones made.
// pull runs last, in a federation of its own (pull.go), once the main one is stopped.
var allScenarios = []string{"baseline", "ceiling", "apipath", "burst", "paced", "update", "steady", "restart", "delete", pullScenario}

func main() {
	var o options
	flag.IntVar(&o.members, "members", 3, "member clusters (M)")
	flag.IntVar(&o.objects, "objects", 2000, "federated objects in the burst (N); each goes to every member")
	flag.StringVar(&o.kind, "kind", "configmap", "what to propagate: configmap or deployment")
	flag.StringVar(&o.scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, comma-separated")
	flag.IntVar(&o.pacedCount, "paced-objects", 100, "objects created one at a time in the paced scenario")
	flag.Float64Var(&o.pacedRate, "paced-rate", 10, "objects per second in the paced scenario (and in the pull scenario's paced part)")
	flag.IntVar(&o.pullObjects, "pull-objects", 500, "federated objects in the pull scenario's burst, each on its push and its pull member")
	flag.DurationVar(&o.steady, "steady", time.Minute, "length of the quiet steady-state window")
	flag.StringVar(&o.out, "out", "bench-results.json", "where to write the results as JSON")
	flag.StringVar(&o.plot, "plot", "docs/performance-latency.png", "where to write the paced latency plot (PNG)")
	flag.StringVar(&o.doc, "doc", "docs/performance.md", "where to write the report; empty for none")
	flag.StringVar(&o.profile, "profile", "", "save a 10 s CPU profile of fedhub taken during the burst to this file")
	flag.StringVar(&o.heapProfile, "heap-profile", "", "save a heap profile of fedhub taken after the burst (after a GC) to this file")
	flag.Var(&o.fedhubArgs, "fedhub-flag", "a flag for fedhub-apiserver, e.g. --fedhub-flag=--member-qps=500 (repeatable)")
	flag.Var(&o.agentArgs, "agent-flag", "a flag for the pull scenario's fedhub-agent, e.g. --agent-flag=--workers=16 (repeatable)")
	flag.StringVar(&o.suite, "suite", propagationSuite, "what to measure: "+propagationSuite+" (make bench) or "+scaleSuite+" (make bench-scale)")
	flag.StringVar(&o.scaleParts, "scale-parts", strings.Join(scalePartNames(), ","), "the scale suite's parts to run, comma-separated")
	flag.DurationVar(&o.crossdcRTT, "crossdc-rtt", 50*time.Millisecond, "crossdc: the round trip between fedhub's etcd members (half of it each way)")
	flag.DurationVar(&o.crossdcHeartbeat, "crossdc-heartbeat", 50*time.Millisecond, "crossdc: etcd's --heartbeat-interval (about the RTT, docs/ha.md)")
	flag.DurationVar(&o.crossdcElection, "crossdc-election", 500*time.Millisecond, "crossdc: etcd's --election-timeout (10 heartbeats)")
	flag.IntVar(&o.crossdcCreates, "crossdc-creates", 200, "crossdc: federated objects created one at a time per measure")
	flag.StringVar(&o.growthObjects, "growth-objects", "2000,10000,20000", "growth: the numbers of federated objects (N), each at the first of -growth-members, comma-separated")
	flag.StringVar(&o.growthMembers, "growth-members", "3,6", "growth: the numbers of API-only members (M), each at N = -growth-members-objects, comma-separated")
	flag.IntVar(&o.growthMembersObjects, "growth-members-objects", 5000, "growth: N for the rows of -growth-members (0: none)")
	flag.Parse()
	o.workers = workersOf(o.fedhubArgs)
	run := run
	if o.suite == scaleSuite {
		// The scale suite's own defaults, unless given.
		given := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
		if !given["members"] {
			o.members = 2
		}
		if !given["out"] {
			o.out = "bench-scale-results.json"
		}
		run = runScale
	} else if o.suite != propagationSuite {
		fmt.Fprintf(os.Stderr, "bench: unknown -suite %q\n", o.suite)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// workersOf is the propagation worker count fedhub will run with: the
// baseline writes with the same concurrency.
func workersOf(args []string) int {
	workers := propagation.DefaultTuning().WorkersPerType
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, "--propagation-workers="); ok {
			fmt.Sscan(value, &workers)
		}
	}
	return workers
}

func run(o options) error {
	kind, ok := targetKinds[o.kind]
	if !ok {
		return fmt.Errorf("unknown -kind %q", o.kind)
	}
	selected, err := selection(o.scenarios, allScenarios, "scenario")
	if err != nil {
		return err
	}
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		return err
	}
	// Ctrl-C or SIGTERM ends the run, and the deferred Stops still stop
	// every process the run started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	results := &Results{Members: o.members, Objects: o.objects, Kind: o.kind, Workers: o.workers, CPUs: runtime.NumCPU(),
		CPUModel: cpuModel(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), FedhubFlags: o.fedhubArgs}
	for _, name := range allScenarios {
		if selected[name] {
			results.Scenarios = append(results.Scenarios, name)
		}
	}
	var latencies []time.Duration
	if slices.ContainsFunc(results.Scenarios, func(name string) bool { return name != pullScenario }) {
		if latencies, err = runMain(ctx, binaries, kind, o, selected, results); err != nil {
			return err
		}
	}
	if selected[pullScenario] {
		logf("scenario %s", pullScenario)
		if err := runPull(ctx, binaries, kind, o, results); err != nil {
			return fmt.Errorf("scenario %s: %w", pullScenario, err)
		}
	}
	results.finish()

	table := results.table()
	fmt.Print(table)
	data, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if len(latencies) > 0 && o.plot != "" {
		if err := plotLatencies(latencies, o.plot); err != nil {
			return err
		}
	}
	if o.doc != "" {
		plot := ""
		if len(latencies) > 0 && o.plot != "" {
			plot, _ = filepath.Rel(filepath.Dir(o.doc), o.plot)
		}
		// The growth section, make bench-scale's, stays (growth_doc.go).
		if err := os.WriteFile(o.doc, []byte(keepGrowthSection(o.doc, results.document(table, plot))), 0o644); err != nil {
			return err
		}
	}
	logf("done in %s; results in %s", time.Since(started).Round(time.Second), o.out)
	return nil
}

// runMain starts the main federation (a host, M push members and fedhub),
// runs the selected scenarios but pull in it and stops it. It returns the
// paced scenario's latencies, for the plot.
func runMain(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, selected map[string]bool, results *Results) ([]time.Duration, error) {
	dir, err := os.MkdirTemp("", "fedhub-bench-")
	if err != nil {
		return nil, err
	}
	started := time.Now()
	logf("starting a host, %d members and fedhub in %s", o.members, dir)
	f, err := framework.StartFederation(ctx, framework.FederationOptions{
		Binaries: binaries, Dir: dir, Members: o.members, MembersAPIOnly: true, FedhubArgs: o.fedhubArgs,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		f.Stop()
		_ = os.RemoveAll(dir)
	}()
	logf("federation ready in %s", time.Since(started).Round(time.Second))

	b, err := newBench(ctx, f, kind, o)
	if err != nil {
		return nil, err
	}
	for _, name := range allScenarios {
		if !selected[name] || name == pullScenario {
			continue
		}
		logf("scenario %s", name)
		if err := b.scenario(name)(ctx, results); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
	}
	return b.latencies, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// cpuModel is the processor's name from /proc/cpuinfo, for the report.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown"
}

// selection parses a comma-separated list of names, each one of known.
func selection(list string, known []string, what string) (map[string]bool, error) {
	selected := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(known, s) {
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, s, strings.Join(known, ","))
		}
		selected[s] = true
	}
	return selected, nil
}
