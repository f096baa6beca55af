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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrowthSectionSurvivesBothWriters: make bench-scale rewrites only its
// table, and make bench rewrites only what lies above the growth section.
func TestGrowthSectionSurvivesBothWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, []byte("# Performance\n\nmake bench's first run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	results := func(objects int) *ScaleResults {
		return &ScaleResults{Kind: "configmap", Growth: &GrowthResults{Rows: []GrowthRow{
			{Objects: 2000, Members: 3, FedhubCPUMsPerMemberObject: 2, RSSBytesPerObject: 100 << 10},
			{Objects: objects, Members: 3, FedhubCPUMsPerMemberObject: 3, RSSBytesPerObject: 100 << 10},
		}}}
	}
	if err := writeGrowthSection(path, results(10000), "first"); err != nil {
		t.Fatal(err)
	}
	// Notes written by hand after the table.
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, []byte("\nhand-written notes\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeGrowthSection(path, results(20000), "second"); err != nil {
		t.Fatal(err)
	}
	doc := keepGrowthSection(path, "# Performance\n\nmake bench's second run\n")
	for _, want := range []string{"make bench's second run", growthHeading, "| 20000 | 3 |", "(+50%)", "fedhub CPU per member object at N = 20000, M = 3 (+50%)", "hand-written notes"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
	for _, gone := range []string{"make bench's first run", "| 10000 | 3 |", "`first`"} {
		if strings.Contains(doc, gone) {
			t.Errorf("the document still holds %q:\n%s", gone, doc)
		}
	}
	if n := strings.Count(doc, growthHeading); n != 1 {
		t.Errorf("%d growth headings, want 1", n)
	}
}
