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
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/fedhub/fedhub/test/framework"
)

// The suites -suite selects: propagation is make bench's, scale is make
// bench-scale's (issue 22, performance at scale).
const (
	propagationSuite = "propagation"
	scaleSuite       = "scale"
)

// scalePart is one part of the scale suite: it starts what it needs, measures
// into the results and stops everything it started, also on failure.
type scalePart func(ctx context.Context, binaries framework.Binaries, kind targetKind, o options, r *ScaleResults) error

// scaleParts are the scale suite's parts, in the order they run.
var scaleParts = []struct {
	name string
	run  scalePart
}{
	{crossDCPart, runCrossDC},
	{growthPart, runGrowth},
}

func scalePartNames() []string {
	names := make([]string, 0, len(scaleParts))
	for _, p := range scaleParts {
		names = append(names, p.name)
	}
	return names
}

// ScaleResults are what one run of the scale suite measured; the JSON keys are stable.
type ScaleResults struct {
	Date        string   `json:"date"`
	CPUs        int      `json:"cpus"`
	CPUModel    string   `json:"cpu_model"`
	GoVersion   string   `json:"go_version"`
	Kind        string   `json:"kind"`
	FedhubFlags []string `json:"fedhub_flags"`
	// Parts are the parts that ran, in order.
	Parts []string `json:"parts"`
	// CrossDC is the crossdc part's: fedhub on an etcd cluster whose
	// members are a simulated round trip apart.
	CrossDC *CrossDCResults `json:"crossdc,omitempty"`
	// Growth is the growth part's: make bench's figures against N and M.
	Growth *GrowthResults `json:"growth,omitempty"`
}

// runScale runs the selected parts of the scale suite, prints their table
// and writes the results as JSON.
func runScale(o options) error {
	kind, ok := targetKinds[o.kind]
	if !ok {
		return fmt.Errorf("unknown -kind %q", o.kind)
	}
	selected, err := selection(o.scaleParts, scalePartNames(), "scale part")
	if err != nil {
		return err
	}
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	r := &ScaleResults{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		GoVersion: runtime.Version(), Kind: o.kind, FedhubFlags: o.fedhubArgs}
	for _, part := range scaleParts {
		if !selected[part.name] {
			continue
		}
		r.Parts = append(r.Parts, part.name)
		logf("part %s", part.name)
		if err := part.run(ctx, binaries, kind, o, r); err != nil {
			return fmt.Errorf("part %s: %w", part.name, err)
		}
	}
	fmt.Print(r.table())
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if r.Growth != nil && o.doc != "" {
		if err := writeGrowthSection(o.doc, r, "go run ./test/bench "+strings.Join(os.Args[1:], " ")); err != nil {
			return err
		}
		logf("growth table written into %s", o.doc)
	}
	logf("done in %s; results in %s", time.Since(started).Round(time.Second), o.out)
	return nil
}

// table is the run as Markdown: a table per part that ran.
func (r *ScaleResults) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Date %s; %d CPUs (%s), %s; %s objects", r.Date, r.CPUs, r.CPUModel, r.GoVersion, r.Kind)
	if len(r.FedhubFlags) > 0 {
		fmt.Fprintf(&b, "; fedhub flags `%s`", strings.Join(r.FedhubFlags, " "))
	}
	b.WriteString("\n\n")
	if r.CrossDC != nil {
		b.WriteString(r.CrossDC.table())
	}
	if r.Growth != nil {
		if r.CrossDC != nil {
			b.WriteString("\n")
		}
		b.WriteString(r.Growth.table())
		b.WriteString(r.Growth.flatness())
	}
	return b.String()
}
