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
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
)

// The growth section of docs/performance.md: make bench writes the file
// above it and keeps the section (keepGrowthSection); make bench-scale
// rewrites only what lies between its table markers (writeGrowthSection),
// so that what is written by hand after them stays.
const (
	growthHeading     = "## Growth (make bench-scale)"
	growthTableBegin  = "<!-- growth-table begin: written by make bench-scale (test/bench/growth_doc.go) -->"
	growthTableEnd    = "<!-- growth-table end -->"
	growthFlatPercent = 20
)

// keepGrowthSection appends to doc, make bench's report, the growth section
// the file at path already holds, if any.
func keepGrowthSection(path, doc string) string {
	old, err := os.ReadFile(path)
	if err != nil {
		return doc
	}
	i := strings.Index(string(old), "\n"+growthHeading+"\n")
	if i < 0 {
		return doc
	}
	return strings.TrimRight(doc, "\n") + "\n" + string(old[i:])
}

// writeGrowthSection puts the growth table into the file at path: between
// the markers if they are there, else in a new section at the end.
func writeGrowthSection(path string, r *ScaleResults, command string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	text := string(old)
	generated := growthTableBegin + "\n\n" + r.Growth.section(r, command) + "\n" + growthTableEnd
	begin, end := strings.Index(text, growthTableBegin), strings.Index(text, growthTableEnd)
	if begin >= 0 && end > begin {
		text = text[:begin] + generated + text[end+len(growthTableEnd):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + growthHeading + "\n\n" +
			"<!-- make bench keeps this section; make bench-scale rewrites only what lies between the growth-table markers. -->\n\n" +
			generated + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// section is the growth table with its run conditions and method.
func (g *GrowthResults) section(r *ScaleResults, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- Date: %s\n", r.Date)
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s\n", r.CPUs, r.CPUModel, r.GoVersion)
	fmt.Fprintf(&b, "- Command: `%s`\n", command)
	fmt.Fprintf(&b, "- %s objects, %d propagation workers per type, %d paced objects at %.0f /s per row", r.Kind, g.Workers, g.PacedObjects, g.PacedRate)
	if len(r.FedhubFlags) > 0 {
		fmt.Fprintf(&b, ", fedhub flags `%s`", strings.Join(r.FedhubFlags, " "))
	}
	b.WriteString("\n\n")
	b.WriteString("Each row is a federation of its own (a host, M API-only members, fedhub with its embedded etcd), started for the row and stopped after it. " +
		"In it, make bench's scenarios run with N objects: the baseline (scenario 1: the N×M objects written directly into the members), " +
		"the burst (2), the paced latency (3, with the burst's N objects stored) and the restart (6: fedhub stopped and started again on the same etcd, " +
		"until its `reconciles_total` counts every stored object, N plus the paced ones; member writes counted meanwhile). " +
		"RSS is fedhub's after the burst; per object is its growth during the burst over N. " +
		"CPU is per member object of the burst, from `/proc`. " +
		fmt.Sprintf("Percentages compare a cost per object with the first row's; beyond ±%d%% it is not flat.\n\n", growthFlatPercent))
	b.WriteString(g.table())
	b.WriteString(g.flatness())
	return b.String()
}

// table is the growth rows as a Markdown table.
func (g *GrowthResults) table() string {
	var b strings.Builder
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	row("N", "M", "burst (member objects/s)", "direct baseline", "ratio", "paced p50 / p99",
		"fedhub RSS after the burst", "RSS per federated object", "fedhub CPU-ms per member object", "members CPU-ms per member object (direct)",
		"restart (objects reconciled)", "member writes during the restart")
	row("---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:")
	if len(g.Rows) == 0 {
		return b.String()
	}
	first := g.Rows[0]
	for i, r := range g.Rows {
		row(fmt.Sprint(r.Objects), fmt.Sprint(r.Members),
			fmt.Sprintf("%.0f /s in %.1f s", r.BurstObjectsPerSecond, r.BurstSeconds), fmt.Sprintf("%.0f /s", r.BaselineObjectsPerSecond),
			fmt.Sprintf("%.2f", r.BurstRatioToBaseline), fmt.Sprintf("%.0f / %.0f ms", r.PacedP50Ms, r.PacedP99Ms),
			fmt.Sprintf("%.0f MiB", float64(r.RSSBytes)/(1<<20)),
			fmt.Sprintf("%.1f KiB%s", r.RSSBytesPerObject/1024, versus(r.RSSBytesPerObject, first.RSSBytesPerObject, i == 0)),
			fmt.Sprintf("%.2f%s", r.FedhubCPUMsPerMemberObject, versus(r.FedhubCPUMsPerMemberObject, first.FedhubCPUMsPerMemberObject, i == 0)),
			fmt.Sprintf("%.2f (%.2f)", r.MembersCPUMsPerMemberObject, r.DirectMembersCPUMsPerMemberObject),
			fmt.Sprintf("%.1f s (%d)", r.RestartSeconds, r.RestartObjects), fmt.Sprint(r.RestartMemberWrites))
	}
	return b.String()
}

// versus is " (+12%)": value against the reference's, unless it is the reference.
func versus(value, reference float64, same bool) string {
	if same || reference == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.0f%%)", 100*(value/reference-1))
}

// flatness says which costs per object left ±growthFlatPercent of the first row's.
func (g *GrowthResults) flatness() string {
	if len(g.Rows) < 2 {
		return ""
	}
	first := g.Rows[0]
	var off []string
	for _, r := range g.Rows[1:] {
		check := func(what string, value, reference float64) {
			if reference > 0 && math.Abs(value/reference-1)*100 > growthFlatPercent {
				off = append(off, fmt.Sprintf("%s at N = %d, M = %d (%+.0f%%)", what, r.Objects, r.Members, 100*(value/reference-1)))
			}
		}
		check("fedhub CPU per member object", r.FedhubCPUMsPerMemberObject, first.FedhubCPUMsPerMemberObject)
		check("RSS per federated object", r.RSSBytesPerObject, first.RSSBytesPerObject)
	}
	ref := fmt.Sprintf("the first row's (N = %d, M = %d)", first.Objects, first.Members)
	if len(off) == 0 {
		return fmt.Sprintf("\nEvery cost per object stayed within ±%d%% of %s.\n", growthFlatPercent, ref)
	}
	return fmt.Sprintf("\nNot flat (beyond ±%d%% of %s): %s.\n", growthFlatPercent, ref, strings.Join(off, "; "))
}
