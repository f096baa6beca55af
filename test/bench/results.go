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
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Results are what one run measured; the JSON keys are stable.
type Results struct {
	Date        string   `json:"date"`
	CPUs        int      `json:"cpus"`
	CPUModel    string   `json:"cpu_model"`
	GoVersion   string   `json:"go_version"`
	Members     int      `json:"members"`
	Objects     int      `json:"objects"`
	Kind        string   `json:"kind"`
	Workers     int      `json:"propagation_workers"`
	FedhubFlags []string `json:"fedhub_flags"`
	// Scenarios are the scenarios that ran, in order.
	Scenarios []string `json:"scenarios"`

	BaselineObjectsPerSecond float64 `json:"baseline_objects_per_s"`
	BurstSeconds             float64 `json:"burst_seconds"`
	BurstObjectsPerSecond    float64 `json:"burst_objects_per_s"`
	BurstRatioToBaseline     float64 `json:"burst_ratio_to_baseline"`
	// BurstCPURatioToBaseline is the direct path's CPU seconds per member
	// object over the federated path's: on a machine the burst keeps busy,
	// the ratio the throughput ratio tends to, without the noise of CPU
	// that other tenants of the machine take.
	BurstCPURatioToBaseline      float64 `json:"burst_cpu_ratio_to_baseline"`
	PacedP50Ms                   float64 `json:"paced_p50_ms"`
	PacedP90Ms                   float64 `json:"paced_p90_ms"`
	PacedP99Ms                   float64 `json:"paced_p99_ms"`
	PacedMaxMs                   float64 `json:"paced_max_ms"`
	UpdateSeconds                float64 `json:"update_seconds"`
	UpdateObjectsPerSecond       float64 `json:"update_objects_per_s"`
	DirectUpdateObjectsPerSecond float64 `json:"direct_update_objects_per_s"`
	UpdateRatioToDirect          float64 `json:"update_ratio_to_direct"`
	SteadySeconds                float64 `json:"steady_seconds"`
	SteadyMemberWrites           int     `json:"steady_member_writes"`
	SteadyFedhubCPUSeconds       float64 `json:"steady_fedhub_cpu_seconds"`
	RestartSeconds               float64 `json:"restart_seconds"`
	RestartMemberWrites          int     `json:"restart_member_writes"`
	DeleteSeconds                float64 `json:"delete_seconds"`
	DeleteObjectsPerSecond       float64 `json:"delete_objects_per_s"`
	// The paced updates and deletes: PacedWriteObjects objects, one at a
	// time at PacedRate, from the response at fedhub until every member
	// holds the new version, or no longer holds the object; the direct ones
	// (the baseline's) from sending the writes to every member until then.
	PacedWriteObjects      int     `json:"paced_write_objects"`
	PacedRate              float64 `json:"paced_rate"`
	PacedUpdateP50Ms       float64 `json:"paced_update_p50_ms"`
	PacedUpdateP99Ms       float64 `json:"paced_update_p99_ms"`
	DirectPacedUpdateP50Ms float64 `json:"direct_paced_update_p50_ms"`
	DirectPacedUpdateP99Ms float64 `json:"direct_paced_update_p99_ms"`
	PacedDeleteP50Ms       float64 `json:"paced_delete_p50_ms"`
	PacedDeleteP99Ms       float64 `json:"paced_delete_p99_ms"`
	DirectPacedDeleteP50Ms float64 `json:"direct_paced_delete_p50_ms"`
	DirectPacedDeleteP99Ms float64 `json:"direct_paced_delete_p99_ms"`
	// The ceiling is the federated path's own writes, done by the benchmark
	// with no reconciler: the most the burst's ratio can reach here.
	CeilingSeconds            float64 `json:"ceiling_seconds"`
	CeilingObjectsPerSecond   float64 `json:"ceiling_objects_per_s"`
	CeilingRatioToBaseline    float64 `json:"ceiling_ratio_to_baseline"`
	CeilingCPURatioToBaseline float64 `json:"ceiling_cpu_ratio_to_baseline"`
	// The API path (1c): the N federated objects created through the host
	// with propagation disabled, and the same N created on the host as
	// custom resources of a CRD with fedhub's schema; the ratio is fedhub's
	// rate over the CRD's. Rates are objects, not member objects, per second.
	APIPathFedhubSeconds          float64 `json:"apipath_fedhub_seconds"`
	APIPathFedhubObjectsPerSecond float64 `json:"apipath_fedhub_objects_per_s"`
	APIPathCRDSeconds             float64 `json:"apipath_crd_seconds"`
	APIPathCRDObjectsPerSecond    float64 `json:"apipath_crd_objects_per_s"`
	APIPathRatioToCRD             float64 `json:"apipath_ratio_to_crd"`
	APIPathCPURatioToCRD          float64 `json:"apipath_cpu_ratio_to_crd"`
	APIPathFedhubCPU              cpuUse  `json:"apipath_fedhub_cpu_seconds"`
	APIPathCRDCPU                 cpuUse  `json:"apipath_crd_cpu_seconds"`
	// CeilingBoundFromCRD is the ceiling's ratio were each of fedhub's two
	// writes per object (the object, its status) as cheap as the host's own
	// create of the same object as a custom resource (1c's CRD side): what
	// any apiserver built on the same library can be expected to reach.
	// MemberWriteCPUMs, CRDWriteCPUMs and FedhubWriteCPUMs are the CPU-ms of
	// a member object written directly (all processes), of the host's custom
	// resource create (host, its etcd and the client) and of one of fedhub's
	// writes in the ceiling (fedhub's process, its embedded etcd included).
	CeilingBoundFromCRD float64 `json:"ceiling_bound_from_crd,omitempty"`
	MemberWriteCPUMs    float64 `json:"member_write_cpu_ms,omitempty"`
	CRDWriteCPUMs       float64 `json:"crd_write_cpu_ms,omitempty"`
	FedhubWriteCPUMs    float64 `json:"fedhub_write_cpu_ms,omitempty"`
	// BurstRatioToCeiling is how close propagation comes to the ceiling.
	BurstRatioToCeiling float64 `json:"burst_ratio_to_ceiling"`
	RSSBytes            int64   `json:"rss_bytes"`
	RSSBytesPerObject   float64 `json:"rss_bytes_per_object"`
	// MemoryIdle is fedhub's memory once it serves the default types, before
	// any object; MemoryAfterBurst right after the burst (RSSBytes).
	MemoryIdle       *memoryUse `json:"memory_idle,omitempty"`
	MemoryAfterBurst *memoryUse `json:"memory_after_burst,omitempty"`
	// BaselineCPU and BurstCPU are the CPU seconds each component used
	// during the baseline's creates and during the burst.
	BaselineCPU cpuUse `json:"baseline_cpu_seconds"`
	BurstCPU    cpuUse `json:"burst_cpu_seconds"`
	CeilingCPU  cpuUse `json:"ceiling_cpu_seconds"`
	// Pull is the pull scenario's, run in a federation of its own.
	Pull *PullResults `json:"pull,omitempty"`
}

// ran tells whether the scenario name ran.
func (r *Results) ran(name string) bool {
	return slices.Contains(r.Scenarios, name)
}

// cpuUse is CPU seconds (user plus system) by component of the run.
type cpuUse struct {
	Fedhub  float64 `json:"fedhub"`
	Members float64 `json:"members"`
	Host    float64 `json:"host"`
	Etcd    float64 `json:"cluster_etcd"`
	Client  float64 `json:"benchmark_client"`
}

func (u cpuUse) total() float64 { return u.Fedhub + u.Members + u.Host + u.Etcd + u.Client }

func (u cpuUse) minus(before cpuUse) cpuUse {
	return cpuUse{Fedhub: u.Fedhub - before.Fedhub, Members: u.Members - before.Members, Host: u.Host - before.Host,
		Etcd: u.Etcd - before.Etcd, Client: u.Client - before.Client}
}

// columns prints the use component by component, as the table's CPU rows do.
func (u cpuUse) columns() string {
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f / %.2f", u.Fedhub, u.Members, u.Host, u.Etcd, u.Client)
}

// perMemberObject is u in CPU-ms per member object of the run, which is
// also CPU seconds per 1,000 member objects.
func (r *Results) perMemberObject(u cpuUse) cpuUse {
	return u.msPer(r.Objects * r.Members)
}

// msPer is u in CPU-ms per one of n things, which is also CPU seconds per 1,000.
func (u cpuUse) msPer(n int) cpuUse {
	if n == 0 {
		return cpuUse{}
	}
	scale := 1000 / float64(n)
	return cpuUse{Fedhub: u.Fedhub * scale, Members: u.Members * scale, Host: u.Host * scale, Etcd: u.Etcd * scale, Client: u.Client * scale}
}

func (r *Results) finish() {
	if r.BaselineObjectsPerSecond > 0 {
		r.BurstRatioToBaseline = r.BurstObjectsPerSecond / r.BaselineObjectsPerSecond
	}
	if burst := r.BurstCPU.total(); burst > 0 {
		r.BurstCPURatioToBaseline = r.BaselineCPU.total() / burst
	}
	if r.BaselineObjectsPerSecond > 0 {
		r.CeilingRatioToBaseline = r.CeilingObjectsPerSecond / r.BaselineObjectsPerSecond
	}
	if r.CeilingObjectsPerSecond > 0 {
		r.BurstRatioToCeiling = r.BurstObjectsPerSecond / r.CeilingObjectsPerSecond
	}
	if ceiling := r.CeilingCPU.total(); ceiling > 0 {
		r.CeilingCPURatioToBaseline = r.BaselineCPU.total() / ceiling
	}
	if r.APIPathCRDObjectsPerSecond > 0 {
		r.APIPathRatioToCRD = r.APIPathFedhubObjectsPerSecond / r.APIPathCRDObjectsPerSecond
	}
	if fedhub := r.APIPathFedhubCPU.total(); fedhub > 0 {
		r.APIPathCPURatioToCRD = r.APIPathCRDCPU.total() / fedhub
	}
	r.boundCeiling()
	if r.DirectUpdateObjectsPerSecond > 0 {
		r.UpdateRatioToDirect = r.UpdateObjectsPerSecond / r.DirectUpdateObjectsPerSecond
	}
}

// fedhubWritesPerObject is what the ceiling's path stores in fedhub per
// federated object: the object, then its status.
const fedhubWritesPerObject = 2

// boundCeiling works out CeilingBoundFromCRD when the baseline, the ceiling
// and the API path's CRD side all ran. Per federated object the ceiling's
// path makes M member writes and fedhubWritesPerObject writes in fedhub, so
// with each of those as cheap as a custom resource create the ratio is
// M·member / (M·member + 2·crd); with each as cheap as a member ConfigMap
// write it is M / (M + 2), which is 0.6 at M = 3.
func (r *Results) boundCeiling() {
	r.MemberWriteCPUMs = r.perMemberObject(r.BaselineCPU).total()
	crd := r.APIPathCRDCPU.msPer(r.Objects)
	// The CRD side's fedhub and members columns are their background work,
	// which the custom resource does not cause.
	r.CRDWriteCPUMs = crd.Host + crd.Etcd + crd.Client
	r.FedhubWriteCPUMs = r.CeilingCPU.msPer(fedhubWritesPerObject * r.Objects).Fedhub
	if r.MemberWriteCPUMs == 0 || r.CRDWriteCPUMs == 0 {
		r.CeilingBoundFromCRD = 0
		return
	}
	members := float64(r.Members) * r.MemberWriteCPUMs
	r.CeilingBoundFromCRD = members / (members + fedhubWritesPerObject*r.CRDWriteCPUMs)
}

// table is the run as a Markdown table: scenario, measure, fedhub, baseline,
// target; a row per measure of the scenarios that ran.
func (r *Results) table() string {
	var b strings.Builder
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	perSecond := func(v float64) string { return fmt.Sprintf("%.0f /s", v) }
	row("scenario", "measure", "fedhub", "direct to members", "target")
	row("---", "---", "---:", "---:", "---")
	if r.ran("baseline") {
		row("1 baseline", "member objects created", "", perSecond(r.BaselineObjectsPerSecond), "the physical limit")
	}
	if r.ran("ceiling") {
		row("1b ceiling", "the benchmark stores each federated object and its status in fedhub and writes the member objects, with no reconciler",
			fmt.Sprintf("%s in %.1f s", perSecond(r.CeilingObjectsPerSecond), r.CeilingSeconds), perSecond(r.BaselineObjectsPerSecond),
			r.ceilingTarget())
		row("1b ceiling CPU", "CPU seconds per 1,000 member objects: fedhub / members / host / cluster etcd / benchmark client",
			r.perMemberObject(r.CeilingCPU).columns(), r.perMemberObject(r.BaselineCPU).columns(), "")
	}
	if r.ran("apipath") {
		row("1c API path", fmt.Sprintf("%d federated objects created through the host with propagation disabled; the CRD column: the same objects as custom resources of a CRD on the host", r.Objects),
			fmt.Sprintf("%s in %.1f s", perSecond(r.APIPathFedhubObjectsPerSecond), r.APIPathFedhubSeconds),
			fmt.Sprintf("CRD: %s in %.1f s", perSecond(r.APIPathCRDObjectsPerSecond), r.APIPathCRDSeconds),
			fmt.Sprintf("ratio %.2f (≥ 0.8)", r.APIPathRatioToCRD))
		row("1c API path CPU", "CPU seconds per 1,000 objects (not member objects): fedhub / members / host / cluster etcd / benchmark client",
			r.APIPathFedhubCPU.msPer(r.Objects).columns(), "CRD: "+r.APIPathCRDCPU.msPer(r.Objects).columns(),
			fmt.Sprintf("CPU ratio %.2f", r.APIPathCPURatioToCRD))
	}
	if r.ran("burst") {
		row("2 burst create", fmt.Sprintf("%d×%d member objects, until all exist and every status is OK", r.Objects, r.Members),
			fmt.Sprintf("%s in %.1f s", perSecond(r.BurstObjectsPerSecond), r.BurstSeconds), perSecond(r.BaselineObjectsPerSecond),
			fmt.Sprintf("ratio %.2f (≥ 0.5)", r.BurstRatioToBaseline))
		row("2 burst CPU", "CPU seconds per 1,000 member objects: fedhub / members / host / cluster etcd / benchmark client",
			r.perMemberObject(r.BurstCPU).columns(), r.perMemberObject(r.BaselineCPU).columns(), fmt.Sprintf("CPU ratio %.2f", r.BurstCPURatioToBaseline))
	}
	if r.ran("paced") {
		row("3 paced latency", "create at fedhub → seen in a member: p50 / p90 / p99 / max",
			fmt.Sprintf("%.0f / %.0f / %.0f / %.0f ms", r.PacedP50Ms, r.PacedP90Ms, r.PacedP99Ms, r.PacedMaxMs), "", "p99 < 100 ms")
	}
	pacedWrites := func(p50, p99 float64) string { return fmt.Sprintf("%.0f / %.0f ms", p50, p99) }
	direct := func(p50, p99 float64) string {
		if !r.ran("baseline") {
			return ""
		}
		return pacedWrites(p50, p99)
	}
	if r.ran("update") {
		row("4 update wave", "every template changed once, until every member holds it",
			fmt.Sprintf("%s in %.1f s", perSecond(r.UpdateObjectsPerSecond), r.UpdateSeconds), perSecond(r.DirectUpdateObjectsPerSecond),
			fmt.Sprintf("ratio %.2f", r.UpdateRatioToDirect))
		row("4b paced updates", fmt.Sprintf("%d updates, one at a time at %.0f /s: update at fedhub → every member holds it (direct: from sending the writes): p50 / p99",
			r.PacedWriteObjects, r.PacedRate), pacedWrites(r.PacedUpdateP50Ms, r.PacedUpdateP99Ms), direct(r.DirectPacedUpdateP50Ms, r.DirectPacedUpdateP99Ms), "measured")
	}
	if r.ran("steady") {
		row("5 steady state", fmt.Sprintf("member writes in %.0f quiet seconds; fedhub CPU", r.SteadySeconds),
			fmt.Sprintf("%d writes, %.2f CPU s", r.SteadyMemberWrites, r.SteadyFedhubCPUSeconds), "", "0 writes")
	}
	if r.ran("restart") {
		row("6 restart", "until every object is reconciled again; member writes",
			fmt.Sprintf("%.1f s, %d writes", r.RestartSeconds, r.RestartMemberWrites), "", "0 writes")
	}
	if r.ran("delete") {
		row("7 delete wave", "until the members are clean",
			fmt.Sprintf("%s in %.1f s", perSecond(r.DeleteObjectsPerSecond), r.DeleteSeconds), "", "")
		row("7b paced deletes", fmt.Sprintf("%d deletes, one at a time at %.0f /s: delete at fedhub → gone from every member (direct: from sending the deletes): p50 / p99",
			r.PacedWriteObjects, r.PacedRate), pacedWrites(r.PacedDeleteP50Ms, r.PacedDeleteP99Ms), direct(r.DirectPacedDeleteP50Ms, r.DirectPacedDeleteP99Ms), "measured")
	}
	if m := r.MemoryIdle; m != nil {
		row("8 memory idle", "fedhub RSS with the default types and no objects", fmt.Sprintf("%s MiB", mib(m.RSSBytes)), "", "≤ 200 MiB")
		row("8 memory idle: parts", "RSS: file-backed / anonymous, and the Go runtime's parts of it", m.parts(), "", "")
		row("8 memory idle: heap", "after a GC: live heap, heap goal; live heap (MiB) by component, from the heap profile's stacks", m.heap(), "", "")
	}
	if r.ran("burst") {
		row("8 memory", "fedhub RSS after the burst; per federated object",
			fmt.Sprintf("%.0f MiB; %.1f KiB", float64(r.RSSBytes)/(1<<20), r.RSSBytesPerObject/1024), "", "")
	}
	if m := r.MemoryAfterBurst; m != nil {
		row("8 memory: parts", "after the burst, RSS: file-backed / anonymous, and the Go runtime's parts of it", m.parts(), "", "≤ 300 MiB")
		row("8 memory: heap", "after the burst and a GC: live heap, heap goal; live heap (MiB) by component, from the heap profile's stacks", m.heap(), "", "")
	}
	if p := r.Pull; p != nil {
		push, pull := fmt.Sprintf("push (%s)", p.PushMember), fmt.Sprintf("pull (%s, fedhub-agent)", p.PullMember)
		row("9 pull: paced latency", push+": create at fedhub → seen in the member: p50 / p90 / p99 / max", p.PacedPush.String(), "", "measured")
		row("9 pull: paced latency", pull+": create at fedhub → seen in the member: p50 / p90 / p99 / max", p.PacedPull.String(), "", "measured")
		row("9 pull: burst", fmt.Sprintf("%s: %d objects, until the member holds all", push, p.Objects),
			fmt.Sprintf("%s in %.1f s", perSecond(p.BurstPushObjectsPerSecond), p.BurstPushSeconds), "", "measured")
		row("9 pull: burst", fmt.Sprintf("%s: until fedhub has written the member's %d Works", pull, p.Objects),
			fmt.Sprintf("%.1f s", p.BurstWorksSeconds), "", "")
		row("9 pull: burst", fmt.Sprintf("%s: the same %d objects, until the member holds all", pull, p.Objects),
			fmt.Sprintf("%s in %.1f s", perSecond(p.BurstPullObjectsPerSecond), p.BurstPullSeconds), "", fmt.Sprintf("pull / push %.2f", p.BurstPullRatioToPush))
		row("9 pull: burst", "until every status says Propagation=True (for the pull member: its agent reported the object applied)",
			fmt.Sprintf("%.1f s", p.BurstPropagatedSeconds), "", "")
		c := p.BurstCPU
		row("9 pull: burst CPU", "CPU seconds: fedhub / host / push member / pull member / fedhub-agent / cluster etcd / benchmark client",
			fmt.Sprintf("%.2f / %.2f / %.2f / %.2f / %.2f / %.2f / %.2f", c.Fedhub, c.Host, c.PushMember, c.PullMember, c.Agent, c.Etcd, c.Client), "", "")
	}
	return b.String()
}

// document is docs/performance.md for this run.
func (r *Results) document(table, plotPath string) string {
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString("<!-- Written by `make bench` (test/bench); do not edit by hand. -->\n\n")
	b.WriteString("`make bench` starts a host, M member kube-apiservers (API only) and fedhub-apiserver with the test harness, ")
	b.WriteString("all on one machine and one etcd for the clusters (fedhub has its own embedded etcd). ")
	b.WriteString("It runs the scenarios below in one run, so that fedhub and the baseline share the same conditions, ")
	b.WriteString("prints this table and writes `bench-results.json`.\n\n")
	b.WriteString("Across datacenters, fedhub on a 3-member etcd whose members are a simulated 50 ms round trip apart, is measured by `make bench-scale` (its `crossdc` part); ")
	b.WriteString("its results and the etcd settings used are in docs/ha.md, \"Measured across datacenters\".\n\n")
	b.WriteString("## Method\n\n")
	b.WriteString("1. **Baseline:** the benchmark writes the same N×M objects directly into the members, with as many writes in flight as fedhub's propagation can have (workers per type × members). Then it updates them, for scenario 4; then, watching the members, it updates and deletes the first K of them one at a time (each in every member at once, as propagation writes) at the paced rate, for scenarios 4b and 7b, and deletes the rest (untimed).\n")
	b.WriteString("   **Ceiling (1b):** with the kind's propagation disabled, the benchmark itself does the least any federated path must, with the baseline's concurrency: per object it creates the federated object in fedhub, creates the object in every member and stores a `Propagation=True` status. Its ratio to the baseline is the most the burst's ratio can reach on this machine; the rest of the burst's cost is propagation's own (watching fedhub and the members, deciding, recording events). It runs before the burst, when no events are still being written, and the objects are deleted (untimed) before propagation is enabled again.\n")
	b.WriteString("   **API path (1c):** the API alone, against what KubeFed's users had. On the host, the benchmark installs a CRD in a group of its own (`" + crdGroup + "`) for the federated kind, whose `openAPIV3Schema` is the schema fedhub serves for the kind (from fedhub's `/openapi/v3`, the root's `metadata` reduced to `type: object` as in fedhub's own schema), with the status subresource as fedhub has; once it is Established and served, it creates the burst's N objects (the same bodies, in that group) through the host with the burst's 64 concurrent creates and deletes the CRD again (untimed, waiting until it and its objects are gone). Then, with the kind's propagation disabled, it creates the same N federated objects through the host, whose aggregator passes them to fedhub, the same way; they are deleted (untimed) before propagation is enabled again. Each side is timed from the first create to the last response, in objects (not member objects) per second; the ratio is fedhub's rate over the CRD's. The CRD side runs first, so that anything either side leaves behind can slow fedhub's side, not the reference's. The CPU seconds of every process during each side are given per 1,000 objects; the CPU ratio is the CRD side's total over fedhub's.\n")
	b.WriteString("2. **Burst create:** N federated objects, each placed on every member, are created at once (64 client connections). The clock stops when every federated status says `Propagation=True` for its generation (one watch of fedhub) and every member holds every object (metadata lists, once the statuses are done). The benchmark does not watch the members here: their watches would cost the members CPU that the baseline does not pay.\n")
	b.WriteString("   **Burst CPU:** the CPU seconds (user plus system, from `/proc`) that fedhub, the member kube-apiservers, the host kube-apiserver, the clusters' etcd and the benchmark itself used during the burst and during the baseline's creates, per 1,000 member objects. The CPU ratio is the baseline's total over the burst's.\n")
	b.WriteString("3. **Paced latency:** objects are created one at a time at a fixed low rate. For each object and member, the latency runs from the create response at fedhub to the object's appearance in that member's watch.\n")
	b.WriteString("4. **Update wave:** every burst object's template is changed once; the clock stops when every member object holds the new version.\n")
	b.WriteString("   **Paced updates (4b):** then K objects (scenario 3's, `-paced-objects`) are updated through fedhub one at a time at twice the paced rate (`-paced-rate`; each is still alone in flight), with member watches of their own (the wave's are stopped). Per object, the latency runs from the update response at fedhub until the last member's watch has seen the new version. The direct column is the baseline's: from sending the same update to every member at once until the last member's watch has seen it, so it includes the member write that fedhub's figure also includes.\n")
	b.WriteString("5. **Steady state:** a quiet window after convergence. Member writes are counted from the member watches (they must be 0), along with fedhub's CPU seconds.\n")
	b.WriteString("6. **Restart:** fedhub is restarted on the same etcd. The clock stops when fedhub's `reconciles_total` counts every object. Member writes are counted meanwhile (they must be 0).\n")
	b.WriteString("7. **Delete wave:** every federated object is deleted; the clock stops when the members are clean.\n")
	b.WriteString("   **Paced deletes (7b):** before the wave, the K paced objects are deleted through fedhub one at a time at twice the paced rate, watching the members; per object, the latency runs from the delete response at fedhub until the last member's watch has seen the object deleted (fedhub's finalizer holds the federated object until then). The direct column is the baseline's, from sending the delete to every member. The wave then deletes the other objects.\n")
	b.WriteString("8. **Memory:** fedhub's resident set size once it serves the default types, before any object (idle), and after the burst, with its growth per federated object. ")
	b.WriteString("Each is broken down: from `/proc/PID/status`, the file-backed part (`RssFile`: the binary's text and read-only data, mapped from the file) and the anonymous part (`RssAnon`); from the Go runtime's statistics (`/debug/pprof/heap?debug=1`, read right after the RSS), the heap in use, the heap memory idle and not yet returned to the system (`HeapIdle − HeapReleased`, counted in RSS until the runtime's scavenger returns it), goroutine stacks and the runtime's own metadata. ")
	b.WriteString("Then a GC is forced (`/debug/pprof/heap?gc=1`) and the live heap (`HeapAlloc`) and the heap goal (`NextGC`: the heap may grow to about this before the next GC, so RSS tracks the goal rather than the live heap) are read, with the heap profile's estimate of the live heap (its sampled `inuse_space`, scaled as pprof does). ")
	b.WriteString("The live heap is attributed to components by the stacks of the profile's samples: the first component in this order with a frame in the stack takes the sample — the federated types' schemas and OpenAPI (`registry/types`, `pkg/typeconfig`, and what fedhub builds when told of a FederatedTypeConfig), the API watch cache (`storage/cacher`, and the objects decoded from etcd's watch for it), the embedded etcd (`etcd/server`, `raft`, `bbolt`), informers (`client-go/tools/cache`, and the objects their watches decode), the reconciler, the built-in API's OpenAPI, discovery and routes, the etcd and gRPC clients, package initialization, then server setup and requests in flight. ")
	b.WriteString("A sample whose stack matches none is unattributed. Go keeps at most 128 frames of a stack, so a deep stack (deep JSON decoding) can lose the frames that name its owner: such a sample falls to a later component or to the unattributed share. The profile samples one allocation per 512 KiB on average, so small components are estimates.\n")
	b.WriteString("9. **Pull beside push:** once the main federation is stopped, a federation of its own starts: a host, two API-only members, member-1 joined in push mode and member-2 in pull mode with its `fedhub-agent` (docs/pull.md), and fedhub with the same flags. The same objects are placed on both members, so fedhub writes member-1 directly and member-2's objects as Works that the agent, reaching fedhub through the host, applies. A burst of N_pull objects (64 client connections) is timed per member until that member's watch has seen its last object (both members are watched alike), for the pull member also until fedhub has written its last Work (a metadata watch of the Works through the host, as the agent reads them), and until every status says `Propagation=True` (a pull member's per-cluster status is `WaitingForAgent` until its agent reports, so this includes the agent's report); then objects are created one at a time as in scenario 3, with the latency per member from the create response at fedhub to the object's appearance in that member's watch. The numbers are measured, not held to a target.\n\n")
	b.WriteString("## Latest run\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", r.Date)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s\n", r.CPUs, r.CPUModel, r.GoVersion)
	if slices.ContainsFunc(r.Scenarios, func(name string) bool { return name != pullScenario }) {
		fmt.Fprintf(&b, "- M = %d members, N = %d %s objects, %d propagation workers per type", r.Members, r.Objects, r.Kind, r.Workers)
		if len(r.FedhubFlags) > 0 {
			fmt.Fprintf(&b, ", fedhub flags `%s`", strings.Join(r.FedhubFlags, " "))
		}
		b.WriteString("\n")
	}
	if p := r.Pull; p != nil {
		fmt.Fprintf(&b, "- Scenario 9: %d members (%s push, %s pull), N_pull = %d %s objects, %d paced objects at %.0f /s", p.Members, p.PushMember, p.PullMember,
			p.Objects, r.Kind, p.PacedObjects, p.PacedRate)
		if len(r.FedhubFlags) > 0 {
			fmt.Fprintf(&b, ", fedhub flags `%s`", strings.Join(r.FedhubFlags, " "))
		}
		if len(p.AgentFlags) > 0 {
			fmt.Fprintf(&b, ", fedhub-agent flags `%s`", strings.Join(p.AgentFlags, " "))
		}
		b.WriteString("\n")
	}
	if len(r.Scenarios) < len(allScenarios) {
		fmt.Fprintf(&b, "- Scenarios run: %s (not a full run)\n", strings.Join(r.Scenarios, ", "))
	}
	b.WriteString("\n")
	b.WriteString(table)
	b.WriteString(r.cpuSummary())
	if plotPath != "" {
		fmt.Fprintf(&b, "\n![Paced propagation latency](%s)\n", plotPath)
	}
	return b.String()
}

// cpuSummary says where the burst's CPU went, next to the direct path's.
func (r *Results) cpuSummary() string {
	if r.Objects*r.Members == 0 || r.BurstCPU.total() == 0 || r.BaselineCPU.total() == 0 {
		return ""
	}
	burst, direct := r.perMemberObject(r.BurstCPU), r.perMemberObject(r.BaselineCPU)
	return fmt.Sprintf("\n**Where the CPU goes.** The burst keeps the machine's cores busy, so its throughput follows its CPU cost. "+
		"A member object written directly cost %.2f CPU-ms (members %.2f, etcd %.2f, client %.2f). "+
		"Through fedhub it cost %.2f CPU-ms: fedhub %.2f (its API, its etcd, propagation), members %.2f, "+
		"host %.2f (the events fedhub records there, and the aggregator passing watches on), etcd %.2f and the benchmark %.2f. "+
		"The CPU ratio is %.2f; the measured throughput ratio %.2f.\n",
		direct.total(), direct.Members, direct.Etcd, direct.Client,
		burst.total(), burst.Fedhub, burst.Members, burst.Host, burst.Etcd, burst.Client,
		r.BurstCPURatioToBaseline, r.BurstRatioToBaseline) + r.ceilingSummary()
}

// ceilingSummary compares the burst with the ceiling's path, when it ran.
func (r *Results) ceilingSummary() string {
	if r.CeilingCPU.total() == 0 {
		return ""
	}
	ceiling := r.perMemberObject(r.CeilingCPU)
	return fmt.Sprintf("The ceiling's path (scenario 1b) cost %.2f CPU-ms per member object: fedhub %.2f, members %.2f, host %.2f, etcd %.2f and the benchmark %.2f "+
		"(which there writes the member objects itself). Its throughput ratio was %.2f and its CPU ratio %.2f, "+
		"so the burst reached %.0f%% of the ceiling's throughput; what the burst spent above the ceiling, %.2f CPU-ms per member object, is propagation's own.\n",
		ceiling.total(), ceiling.Fedhub, ceiling.Members, ceiling.Host, ceiling.Etcd, ceiling.Client,
		r.CeilingRatioToBaseline, r.CeilingCPURatioToBaseline, 100*r.BurstRatioToCeiling, r.perMemberObject(r.BurstCPU).total()-ceiling.total()) +
		r.membersSummary(ceiling) + r.boundSummary()
}

// membersSummary compares what the members paid per member object in the
// burst with the ceiling, where the benchmark sends them the same creates
// while fedhub stores its objects on the same machine: the difference is
// what fedhub's way of writing and watching costs them, apart from sharing
// the machine's cores and caches.
func (r *Results) membersSummary(ceiling cpuUse) string {
	burst, direct := r.perMemberObject(r.BurstCPU), r.perMemberObject(r.BaselineCPU)
	if burst.Members == 0 || direct.Members == 0 || ceiling.Members == 0 {
		return ""
	}
	return fmt.Sprintf("\n**What the members pay.** Per member object the members used %.2f CPU-ms in the burst, %.2f in the ceiling's path and %.2f when written directly: "+
		"%.2f× the direct writes, and %.2f× the ceiling's, whose member creates are the benchmark's own, sent while fedhub stores its objects beside them. "+
		"The ceiling's %.2f× over the direct writes is what sharing this machine's two cores and their caches with fedhub costs the members; the burst's ratio to the ceiling's is what fedhub's watch of every member and its own way of writing add to that.\n",
		burst.Members, ceiling.Members, direct.Members, burst.Members/direct.Members, burst.Members/ceiling.Members, ceiling.Members/direct.Members)
}

// ceilingTarget is the 1b row's target cell: the measured ratios, the
// target, and the bound the host's custom resource cost sets when known.
func (r *Results) ceilingTarget() string {
	cell := fmt.Sprintf("ratio %.2f, CPU ratio %.2f (≥ 0.6)", r.CeilingRatioToBaseline, r.CeilingCPURatioToBaseline)
	if r.CeilingBoundFromCRD > 0 {
		cell += fmt.Sprintf("; %.2f with fedhub's writes as cheap as the host's custom resource create", r.CeilingBoundFromCRD)
	}
	return cell
}

// boundSummary explains CeilingBoundFromCRD when it could be worked out.
func (r *Results) boundSummary() string {
	if r.CeilingBoundFromCRD == 0 {
		return ""
	}
	return fmt.Sprintf("\n**What the ceiling can reach.** Per federated object the ceiling's path makes %d member writes and %d writes in fedhub (the object, then its status). "+
		"A member object written directly cost %.2f CPU-ms (scenario 1). The host's own create of the same federated object as a custom resource cost %.2f CPU-ms "+
		"(scenario 1c's CRD side: the host, its etcd and the client), %.1f× a member ConfigMap write; one of fedhub's writes in the ceiling cost fedhub %.2f CPU-ms, its embedded etcd included. "+
		"Were each of fedhub's writes exactly as cheap as the host's custom resource create, the ceiling's ratio would be %d·%.2f / (%d·%.2f + %d·%.2f) = %.2f; it measured %.2f. "+
		"A ratio of %.2f (= %d / (%d + %d)) needs each of fedhub's writes to cost no more than a member ConfigMap write, %.1f× less than kube-apiserver itself pays to store the same object.\n",
		r.Members, fedhubWritesPerObject, r.MemberWriteCPUMs, r.CRDWriteCPUMs, r.CRDWriteCPUMs/r.MemberWriteCPUMs, r.FedhubWriteCPUMs,
		r.Members, r.MemberWriteCPUMs, r.Members, r.MemberWriteCPUMs, fedhubWritesPerObject, r.CRDWriteCPUMs, r.CeilingBoundFromCRD, r.CeilingRatioToBaseline,
		float64(r.Members)/float64(r.Members+fedhubWritesPerObject), r.Members, r.Members, fedhubWritesPerObject, r.CRDWriteCPUMs/r.MemberWriteCPUMs)
}

// plotLatencies draws the distribution of the paced latencies as a histogram.
func plotLatencies(latencies []time.Duration, path string) error {
	values := make(plotter.Values, len(latencies))
	for i, l := range latencies {
		values[i] = float64(l) / float64(time.Millisecond)
	}
	p := plot.New()
	p.Title.Text = "Propagation latency, create at fedhub → seen in a member"
	p.X.Label.Text = "milliseconds"
	p.Y.Label.Text = "objects × members"
	hist, err := plotter.NewHist(values, 40)
	if err != nil {
		return err
	}
	p.Add(hist)
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}
