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

package planner

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
)

// Many expectations below come from KubeFed's planner tests, which all used
// an empty key. With an empty key the clusters of equal weight are ordered
// D, C, B, A and member-1, member-2, ... member-5, so for example the
// rounded-up shares go to C and B before A. Cases marked "KubeFed:" are ones
// where fedhub deliberately gives another answer.

type prefs = map[string]schedulingv1alpha1.ClusterPreferences

type planCase struct {
	name      string
	prefs     prefs
	total     int32
	rebalance bool
	key       string
	clusters  []string
	current   map[string]int64
	capacity  map[string]int64

	want         map[string]int64
	wantOverflow map[string]int64
	wantIgnored  int64
	wantUnplaced int64
	// wantReason must be a substring of Reason; Reason must be empty when
	// neither wantIgnored nor wantUnplaced is set.
	wantReason string
}

func pint(v int64) *int64 { return &v }

func weight(w int64) schedulingv1alpha1.ClusterPreferences {
	return schedulingv1alpha1.ClusterPreferences{Weight: w}
}

var abc = []string{"A", "B", "C"}

func runPlanCases(t *testing.T, tests []planCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pref := Preferences{TotalReplicas: tt.total, Rebalance: tt.rebalance, Clusters: tt.prefs, Key: tt.key}
			got := Plan(pref, tt.clusters, tt.current, tt.capacity)
			if !reflect.DeepEqual(got.Plan, tt.want) {
				t.Errorf("plan %v, want %v", got.Plan, tt.want)
			}
			if len(got.Overflow) != 0 || len(tt.wantOverflow) != 0 {
				if !reflect.DeepEqual(got.Overflow, tt.wantOverflow) {
					t.Errorf("overflow %v, want %v", got.Overflow, tt.wantOverflow)
				}
			}
			if got.PlacedIgnoringWeights != tt.wantIgnored {
				t.Errorf("placed ignoring weights %d, want %d", got.PlacedIgnoringWeights, tt.wantIgnored)
			}
			if got.Unplaced != tt.wantUnplaced {
				t.Errorf("unplaced %d, want %d", got.Unplaced, tt.wantUnplaced)
			}
			if tt.wantIgnored == 0 && tt.wantUnplaced == 0 {
				if got.Reason != "" {
					t.Errorf("reason %q, want none", got.Reason)
				}
			} else if got.Reason == "" || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason %q, want one containing %q", got.Reason, tt.wantReason)
			}
			checkInvariants(t, pref, tt.clusters, tt.current, tt.capacity, got)
		})
	}
}

func TestPlanEqualWeights(t *testing.T) {
	runPlanCases(t, []planCase{
		{name: "50 over three, rounding favours C and B", prefs: prefs{"*": weight(1)}, total: 50, clusters: abc,
			want: map[string]int64{"A": 16, "B": 17, "C": 17}},
		{name: "50 over two", prefs: prefs{"*": weight(1)}, total: 50, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 25, "B": 25}},
		{name: "6 over member-1 and member-2", prefs: prefs{"*": weight(1)}, total: 6, clusters: []string{"member-1", "member-2"},
			want: map[string]int64{"member-1": 3, "member-2": 3}},
		{name: "equal explicit weights behave like the wildcard", prefs: prefs{"A": weight(7), "B": weight(7), "C": weight(7)}, total: 50, clusters: abc,
			want: map[string]int64{"A": 16, "B": 17, "C": 17}},
		{name: "one cluster", prefs: prefs{"*": weight(1)}, total: 1, clusters: []string{"A"},
			want: map[string]int64{"A": 1}},
		{name: "no clusters", prefs: prefs{"*": weight(1)}, total: 1, clusters: []string{},
			want: map[string]int64{}, wantUnplaced: 1, wantReason: "no cluster matches"},
		{name: "no replicas", prefs: prefs{"*": weight(1)}, total: 0, clusters: abc,
			want: map[string]int64{"A": 0, "B": 0, "C": 0}},
		{name: "negative total counts as 0", prefs: prefs{"*": weight(1)}, total: -3, clusters: abc,
			want: map[string]int64{"A": 0, "B": 0, "C": 0}},
		{name: "a cluster listed twice counts once", prefs: prefs{"*": weight(1)}, total: 50, clusters: []string{"A", "B", "A"},
			want: map[string]int64{"A": 25, "B": 25}},
	})
}

func TestPlanUnequalWeights(t *testing.T) {
	runPlanCases(t, []planCase{
		{name: "6 replicas at 2:1", prefs: prefs{"member-1": weight(2), "member-2": weight(1)}, total: 6,
			clusters: []string{"member-1", "member-2"},
			want:     map[string]int64{"member-1": 4, "member-2": 2}},
		{name: "60 at 1:2, unmatched C gets nothing", prefs: prefs{"A": weight(1), "B": weight(2)}, total: 60, clusters: abc,
			want: map[string]int64{"A": 20, "B": 40, "C": 0}},
		{name: "a dominant weight takes all", prefs: prefs{"A": weight(10000), "B": weight(1)}, total: 50, clusters: abc,
			want: map[string]int64{"A": 50, "B": 0, "C": 0}},
		{name: "the dominant cluster is not available", prefs: prefs{"A": weight(10000), "B": weight(1)}, total: 50, clusters: []string{"B", "C"},
			want: map[string]int64{"B": 50, "C": 0}},
		{name: "the dominant cluster is capped, the rest split evenly",
			prefs: prefs{"A": {Weight: 10000, MaxReplicas: pint(10)}, "B": weight(1), "C": weight(1)}, total: 50, clusters: abc,
			want: map[string]int64{"A": 10, "B": 20, "C": 20}},
		{name: "two capped clusters",
			prefs: prefs{"A": {Weight: 10000, MaxReplicas: pint(10)}, "B": weight(1), "C": {Weight: 1, MaxReplicas: pint(10)}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 10, "B": 30, "C": 10}},
		{name: "caps over four clusters",
			prefs: prefs{"A": {Weight: 10000, MaxReplicas: pint(10)}, "B": weight(1),
				"C": {Weight: 1, MaxReplicas: pint(21)}, "D": {Weight: 1, MaxReplicas: pint(10)}},
			total: 71, clusters: []string{"A", "B", "C", "D"},
			want: map[string]int64{"A": 10, "B": 30, "C": 21, "D": 10}},
		{name: "caps over five clusters",
			prefs: prefs{"A": {Weight: 10000, MaxReplicas: pint(10)}, "B": weight(1),
				"C": {Weight: 1, MaxReplicas: pint(21)}, "D": {Weight: 1, MaxReplicas: pint(10)}, "E": weight(1)},
			total: 91, clusters: []string{"A", "B", "C", "D", "E"},
			want: map[string]int64{"A": 10, "B": 25, "C": 21, "D": 10, "E": 25}},
		// KubeFed: weights this large overflowed int64 and gave nonsense.
		{name: "huge equal weights", prefs: prefs{"A": weight(math.MaxInt64), "B": weight(math.MaxInt64)}, total: 10,
			clusters: []string{"A", "B"},
			want:     map[string]int64{"A": 5, "B": 5}},
		{name: "huge weight against a small one", prefs: prefs{"A": weight(math.MaxInt64), "B": weight(1)}, total: 10,
			clusters: []string{"A", "B"},
			want:     map[string]int64{"A": 10, "B": 0}},
	})
}

func TestPlanMinMax(t *testing.T) {
	runPlanCases(t, []planCase{
		// KubeFed: A:2 B:2 C:2, dropping the other 44 without a word.
		{name: "minimums with zero weights, the rest spread evenly",
			prefs: prefs{"*": {MinReplicas: 2}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 16, "B": 17, "C": 17}, wantIgnored: 44, wantReason: "ignoring weights"},
		{name: "minimums exceed the total, the first in order are served",
			prefs: prefs{"*": {MinReplicas: 20}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 10, "B": 20, "C": 20}},
		{name: "a named minimum beyond the total takes everything",
			prefs: prefs{"*": {MinReplicas: 20}, "A": {MinReplicas: 100, Weight: 1}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 50, "B": 0, "C": 0}},
		{name: "minimum then weight, bounded by max",
			prefs: prefs{"*": {MinReplicas: 10, Weight: 1, MaxReplicas: pint(12)}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 12, "B": 12, "C": 12}, wantUnplaced: 14, wantReason: "maxReplicas"},
		{name: "max below the equal share",
			prefs: prefs{"*": {Weight: 1, MaxReplicas: pint(2)}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 2, "B": 2, "C": 2}, wantUnplaced: 44, wantReason: "every matching cluster is at its maxReplicas"},
		// KubeFed: A:0 B:0 C:0.
		{name: "max with zero weights",
			prefs: prefs{"*": {MaxReplicas: pint(2)}}, total: 50, clusters: abc,
			want: map[string]int64{"A": 2, "B": 2, "C": 2}, wantIgnored: 6, wantUnplaced: 44, wantReason: "could not place"},
		// KubeFed: A:5 B:5, above their maxReplicas.
		{name: "a minimum above max is bounded by max",
			prefs: prefs{"*": {MinReplicas: 5, MaxReplicas: pint(3)}}, total: 10, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 3, "B": 3}, wantUnplaced: 4, wantReason: "maxReplicas"},
		{name: "minimum larger than the total",
			prefs: prefs{"*": {MinReplicas: 20, Weight: 1}}, total: 30, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 10, "B": 20}},
		{name: "max of 0 excludes a cluster",
			prefs: prefs{"*": weight(1), "B": {Weight: 1, MaxReplicas: pint(0)}}, total: 9, clusters: abc,
			want: map[string]int64{"A": 4, "B": 0, "C": 5}},
	})
}

func TestPlanWildcard(t *testing.T) {
	runPlanCases(t, []planCase{
		{name: "a named weight beside the wildcard",
			prefs: prefs{"*": weight(1), "A": weight(3)}, total: 10, clusters: abc,
			want: map[string]int64{"A": 6, "B": 2, "C": 2}},
		{name: "without a wildcard only named clusters take part",
			prefs: prefs{"A": weight(1)}, total: 10, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 10, "B": 0}},
		{name: "nothing matches",
			prefs: prefs{"B": weight(1)}, total: 5, clusters: []string{"A", "C"},
			want: map[string]int64{"A": 0, "C": 0}, wantUnplaced: 5, wantReason: "no cluster matches"},
		{name: "no preferences at all",
			prefs: nil, total: 5, clusters: []string{"A"},
			want: map[string]int64{"A": 0}, wantUnplaced: 5, wantReason: "no cluster matches"},
		{name: "a named entry replaces the wildcard",
			prefs: prefs{"*": weight(1), "A": {}}, total: 10, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 0, "B": 10}},
		{name: "named preferences for an unavailable cluster are ignored",
			prefs: prefs{"*": weight(1), "Z": weight(100)}, total: 10, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 5, "B": 5}},
		// KubeFed: A:0 B:3 C:3.
		{name: "a weight-0 named cluster takes what the wildcard clusters cannot",
			prefs: prefs{"*": {Weight: 1, MaxReplicas: pint(3)}, "A": {}}, total: 10, clusters: abc,
			want: map[string]int64{"A": 4, "B": 3, "C": 3}, wantIgnored: 4, wantReason: "ignoring weights"},
	})
}

func TestPlanCapacity(t *testing.T) {
	runPlanCases(t, []planCase{
		// KubeFed: overflow C:7, so plan plus overflow was 57 of 50.
		{name: "capacity pushes the rest to the others",
			prefs: prefs{"*": weight(1)}, total: 50, rebalance: true, clusters: abc,
			capacity: map[string]int64{"C": 10},
			want:     map[string]int64{"A": 20, "B": 20, "C": 10}},
		{name: "the only cluster is short of capacity",
			prefs: prefs{"A": weight(10000), "B": weight(1)}, total: 50, rebalance: true, clusters: []string{"B", "C"},
			capacity:     map[string]int64{"B": 10},
			want:         map[string]int64{"B": 10, "C": 0},
			wantOverflow: map[string]int64{"B": 40}},
		// KubeFed: overflow B:30.
		{name: "the heavier cluster is short of capacity",
			prefs: prefs{"A": weight(1), "B": weight(2)}, total: 60, rebalance: true, clusters: abc,
			capacity: map[string]int64{"B": 10},
			want:     map[string]int64{"A": 50, "B": 10, "C": 0}},
		// KubeFed: overflow C:11.
		{name: "capacity below max",
			prefs: prefs{"A": {Weight: 10000, MaxReplicas: pint(10)}, "B": weight(1),
				"C": {Weight: 1, MaxReplicas: pint(21)}, "D": {Weight: 1, MaxReplicas: pint(10)}},
			total: 71, rebalance: true, clusters: []string{"A", "B", "C", "D"},
			capacity: map[string]int64{"C": 10},
			want:     map[string]int64{"A": 10, "B": 41, "C": 10, "D": 10}},
		{name: "all candidates short of capacity",
			prefs: prefs{"A": weight(1), "B": weight(1)}, total: 60, clusters: abc,
			capacity:     map[string]int64{"A": 10, "B": 10},
			want:         map[string]int64{"A": 10, "B": 10, "C": 0},
			wantOverflow: map[string]int64{"A": 20, "B": 20}},
		{name: "the lighter cluster takes what the heavier cannot",
			prefs: prefs{"A": weight(1), "B": weight(5)}, total: 60, clusters: abc,
			capacity: map[string]int64{"B": 10},
			want:     map[string]int64{"A": 50, "B": 10, "C": 0}},
		{name: "capacity bounds a minimum",
			prefs: prefs{"*": {MinReplicas: 20}}, total: 50, clusters: abc,
			capacity: map[string]int64{"B": 10},
			want:     map[string]int64{"A": 20, "B": 10, "C": 20}},
		// KubeFed: overflow B:15.
		{name: "capacity bounds a minimum, weights place the rest",
			prefs: prefs{"*": {MinReplicas: 20, Weight: 1}}, total: 60, rebalance: true, clusters: []string{"A", "B"},
			capacity: map[string]int64{"B": 10},
			want:     map[string]int64{"A": 50, "B": 10}},
		{name: "overflow is shared out in order when it exceeds what is left",
			prefs: prefs{"*": weight(1)}, total: 10, rebalance: true, clusters: []string{"A", "B"},
			capacity:     map[string]int64{"A": 3, "B": 2},
			want:         map[string]int64{"A": 3, "B": 2},
			wantOverflow: map[string]int64{"A": 2, "B": 3}},
		// KubeFed: overflow A:2 B:2 (each trimmed on its own), 4 of 3.
		{name: "overflow is trimmed in total, not per cluster",
			prefs: prefs{"*": weight(1)}, total: 3, clusters: []string{"A", "B"},
			capacity:     map[string]int64{"A": 0, "B": 0},
			want:         map[string]int64{"A": 0, "B": 0},
			wantOverflow: map[string]int64{"A": 1, "B": 2}},
		{name: "overflow stops at max",
			prefs: prefs{"*": {Weight: 1, MaxReplicas: pint(3)}}, total: 10, clusters: []string{"A"},
			capacity:     map[string]int64{"A": 1},
			want:         map[string]int64{"A": 1},
			wantOverflow: map[string]int64{"A": 2}, wantUnplaced: 7, wantReason: "estimated capacity"},
		{name: "capacity of clusters the preferences do not match is ignored",
			prefs: prefs{"A": weight(1)}, total: 4, clusters: []string{"A", "B"},
			capacity: map[string]int64{"B": 0, "X": 1},
			want:     map[string]int64{"A": 4, "B": 0}},
	})
}

func TestPlanRebalance(t *testing.T) {
	ab := []string{"A", "B"}
	runPlanCases(t, []planCase{
		// Rebalance false: running replicas stay.
		{name: "keep 30 in C", prefs: prefs{"*": weight(1)}, total: 50, clusters: abc,
			current: map[string]int64{"C": 30},
			want:    map[string]int64{"A": 10, "B": 10, "C": 30}},
		{name: "keep 30 in A", prefs: prefs{"*": weight(1)}, total: 50, clusters: ab,
			current: map[string]int64{"A": 30},
			want:    map[string]int64{"A": 30, "B": 20}},
		{name: "keep 8 of 15 in B, A:0", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 0, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "keep 8 of 15 in B, A:1", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 1, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "keep 8 of 15 in B, A:4", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 4, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "keep 8 of 15 in B, A:5", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 5, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "keep 8 of 15 in B, A:6", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 6, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "already as wanted", prefs: prefs{"*": weight(1)}, total: 15, clusters: ab,
			current: map[string]int64{"A": 7, "B": 8},
			want:    map[string]int64{"A": 7, "B": 8}},
		{name: "large numbers", prefs: prefs{"*": weight(1)}, total: 500000, clusters: ab,
			current: map[string]int64{"A": 300000},
			want:    map[string]int64{"A": 300000, "B": 200000}},
		{name: "fewer running than the share grow to it", prefs: prefs{"*": weight(1)}, total: 50, clusters: ab,
			current: map[string]int64{"A": 10},
			want:    map[string]int64{"A": 25, "B": 25}},
		// KubeFed: A:0 B:50, with a TODO (kubernetes/kubernetes#31816)
		// saying it should be 10:40.
		{name: "scale down from 80 running to 50", prefs: prefs{"*": weight(1)}, total: 50, clusters: ab,
			current: map[string]int64{"A": 10, "B": 70},
			want:    map[string]int64{"A": 10, "B": 40}},
		{name: "scale down to 1", prefs: prefs{"*": weight(1)}, total: 1, clusters: ab,
			current: map[string]int64{"A": 30},
			want:    map[string]int64{"A": 1, "B": 0}},
		{name: "both below their share", prefs: prefs{"*": weight(1)}, total: 50, clusters: ab,
			current: map[string]int64{"A": 10, "B": 20},
			want:    map[string]int64{"A": 25, "B": 25}},
		{name: "scale down split by weight", prefs: prefs{"A": weight(1), "B": weight(3)}, total: 40, clusters: ab,
			current: map[string]int64{"A": 40, "B": 40},
			want:    map[string]int64{"A": 10, "B": 30}},
		{name: "scale down split evenly when weights are 0", prefs: prefs{"*": {}}, total: 40, clusters: ab,
			current: map[string]int64{"A": 30, "B": 30},
			want:    map[string]int64{"A": 20, "B": 20}},
		{name: "running above max keeps max", prefs: prefs{"*": {Weight: 1, MaxReplicas: pint(20)}}, total: 30, clusters: ab,
			current: map[string]int64{"A": 30},
			want:    map[string]int64{"A": 20, "B": 10}},
		{name: "running above capacity keeps capacity", prefs: prefs{"*": weight(1)}, total: 30, clusters: ab,
			current:  map[string]int64{"A": 30},
			capacity: map[string]int64{"A": 12},
			want:     map[string]int64{"A": 12, "B": 18}},
		{name: "running replicas of an unmatched cluster are not kept", prefs: prefs{"A": weight(1)}, total: 10, clusters: ab,
			current: map[string]int64{"B": 10},
			want:    map[string]int64{"A": 10, "B": 0}},
		{name: "running replicas and zero weights", prefs: prefs{"*": {}}, total: 30, clusters: ab,
			current: map[string]int64{"A": 10},
			want:    map[string]int64{"A": 15, "B": 15}, wantIgnored: 20, wantReason: "ignoring weights"},

		// Rebalance true: running replicas do not matter.
		{name: "rebalance moves replicas to their share", prefs: prefs{"*": weight(1)}, total: 50, rebalance: true, clusters: ab,
			current: map[string]int64{"A": 30},
			want:    map[string]int64{"A": 25, "B": 25}},
		{name: "rebalance scales down by weight", prefs: prefs{"*": weight(1)}, total: 50, rebalance: true, clusters: ab,
			current: map[string]int64{"A": 10, "B": 70},
			want:    map[string]int64{"A": 25, "B": 25}},
		{name: "rebalance moves the single replica to the first in order", prefs: prefs{"*": weight(1)}, total: 1, rebalance: true, clusters: ab,
			current: map[string]int64{"A": 1},
			want:    map[string]int64{"A": 0, "B": 1}},
		{name: "without rebalance the single replica stays", prefs: prefs{"*": weight(1)}, total: 1, clusters: ab,
			current: map[string]int64{"A": 1},
			want:    map[string]int64{"A": 1, "B": 0}},
	})
}

func TestPlanZeroWeights(t *testing.T) {
	// KubeFed placed none of these replicas except the minimums.
	runPlanCases(t, []planCase{
		{name: "all weights 0", prefs: prefs{"*": {}}, total: 10, clusters: abc,
			want: map[string]int64{"A": 2, "B": 4, "C": 4}, wantIgnored: 10, wantReason: "ignoring weights"},
		{name: "the only weighted cluster is full", prefs: prefs{"A": {Weight: 1, MaxReplicas: pint(4)}, "*": {}}, total: 10, clusters: abc,
			want: map[string]int64{"A": 4, "B": 3, "C": 3}, wantIgnored: 6, wantReason: "ignoring weights"},
		{name: "all weights 0 and too little room", prefs: prefs{"A": {MaxReplicas: pint(1)}, "B": {MaxReplicas: pint(2)}}, total: 10,
			clusters: []string{"A", "B"},
			want:     map[string]int64{"A": 1, "B": 2}, wantIgnored: 3, wantUnplaced: 7, wantReason: "placed 3 replicas ignoring weights"},
		{name: "all weights 0 and short of capacity", prefs: prefs{"*": {}}, total: 10, clusters: []string{"A", "B"},
			capacity: map[string]int64{"A": 2},
			want:     map[string]int64{"A": 2, "B": 8}, wantIgnored: 10, wantReason: "ignoring weights"},
		{name: "all weights 0, short of capacity and room", prefs: prefs{"*": {}, "B": {MaxReplicas: pint(4)}}, total: 10,
			clusters: []string{"A", "B"},
			capacity: map[string]int64{"A": 2},
			want:     map[string]int64{"A": 2, "B": 4}, wantOverflow: map[string]int64{"A": 3},
			wantIgnored: 6, wantUnplaced: 1, wantReason: "could not place 1 replica:"},
		{name: "minimums place everything", prefs: prefs{"*": {MinReplicas: 5}}, total: 10, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 5, "B": 5}},
	})
}

func TestPlanSingleReplica(t *testing.T) {
	five := []string{"member-1", "member-2", "member-3", "member-4", "member-5"}
	runPlanCases(t, []planCase{
		{name: "one of two", prefs: prefs{"*": weight(1)}, total: 1, clusters: []string{"A", "B"},
			want: map[string]int64{"A": 0, "B": 1}},
		{name: "one of four", prefs: prefs{"*": weight(1)}, total: 1, clusters: []string{"A", "B", "C", "D"},
			want: map[string]int64{"A": 0, "B": 0, "C": 0, "D": 1}},
		{name: "one of five, empty key", prefs: prefs{"*": weight(1)}, total: 1, clusters: five,
			want: map[string]int64{"member-1": 1, "member-2": 0, "member-3": 0, "member-4": 0, "member-5": 0}},
		{name: "one of five, key default/web", prefs: prefs{"*": weight(1)}, total: 1, key: "default/web", clusters: five,
			want: map[string]int64{"member-1": 0, "member-2": 0, "member-3": 1, "member-4": 0, "member-5": 0}},
		{name: "one of five, key default/api", prefs: prefs{"*": weight(1)}, total: 1, key: "default/api", clusters: five,
			want: map[string]int64{"member-1": 0, "member-2": 0, "member-3": 0, "member-4": 1, "member-5": 0}},
		{name: "one of five, the heaviest wins", prefs: prefs{"*": weight(1), "member-2": weight(2)}, total: 1, key: "default/api", clusters: five,
			want: map[string]int64{"member-1": 0, "member-2": 1, "member-3": 0, "member-4": 0, "member-5": 0}},
		{name: "one of five, all at weight 0", prefs: prefs{"*": {}}, total: 1, key: "default/web", clusters: five,
			want:        map[string]int64{"member-1": 0, "member-2": 0, "member-3": 1, "member-4": 0, "member-5": 0},
			wantIgnored: 1, wantReason: "ignoring weights"},
		{name: "one of five stays where it runs", prefs: prefs{"*": weight(1)}, total: 1, key: "default/web", clusters: five,
			current: map[string]int64{"member-5": 1},
			want:    map[string]int64{"member-1": 0, "member-2": 0, "member-3": 0, "member-4": 0, "member-5": 1}},
	})
}

func TestPlanOrderIgnoresInputOrder(t *testing.T) {
	pref := Preferences{TotalReplicas: 23, Clusters: prefs{"*": weight(1), "C": weight(2)}, Key: "ns/web"}
	want := Plan(pref, []string{"A", "B", "C", "D", "E"}, nil, nil)
	for _, clusters := range [][]string{{"E", "D", "C", "B", "A"}, {"C", "A", "E", "B", "D"}} {
		if got := Plan(pref, clusters, nil, nil); !reflect.DeepEqual(got, want) {
			t.Errorf("clusters %v: %+v, want %+v", clusters, got, want)
		}
	}
}

func TestOrderHash(t *testing.T) {
	// FNV-1, 32 bits, of the cluster name followed by the key.
	tests := []struct {
		name, key string
		want      uint32
	}{
		{"", "", 0x811c9dc5},
		{"a", "", 0x050c5d7e},
		{"member-1", "default/web", orderHash("member-1default/web", "")},
	}
	for _, tt := range tests {
		if got := orderHash(tt.name, tt.key); got != tt.want {
			t.Errorf("orderHash(%q, %q) = %#x, want %#x", tt.name, tt.key, got, tt.want)
		}
	}
}

func TestFromSpec(t *testing.T) {
	spec := schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
		TargetKind:    "FederatedDeployment",
		TotalReplicas: 6,
		Rebalance:     true,
		Clusters:      prefs{"member-1": weight(2)},
	}
	want := Preferences{TotalReplicas: 6, Rebalance: true, Clusters: spec.Clusters, Key: "default/web"}
	if got := FromSpec(spec, "default/web"); !reflect.DeepEqual(got, want) {
		t.Errorf("FromSpec = %+v, want %+v", got, want)
	}
}

// TestPlanProperties checks the invariants of checkInvariants on many
// generated inputs, including negative, huge and duplicate values.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20240601))
	names := []string{"A", "B", "C", "D", "E", "F", "member-1", "member-2"}
	small := func(n int) int64 { return int64(rng.Intn(n)) }
	for i := 0; i < 20000; i++ {
		var clusters []string
		for _, n := range names {
			if rng.Intn(2) == 0 {
				clusters = append(clusters, n)
			}
		}
		if len(clusters) > 0 && rng.Intn(10) == 0 {
			clusters = append(clusters, clusters[0])
		}
		p := prefs{}
		for _, n := range append([]string{Wildcard}, names...) {
			if rng.Intn(3) == 0 {
				continue
			}
			var cp schedulingv1alpha1.ClusterPreferences
			if rng.Intn(3) == 0 {
				cp.MinReplicas = small(15) - 2
			}
			if rng.Intn(3) == 0 {
				cp.MaxReplicas = pint(small(20) - 2)
			}
			switch rng.Intn(8) {
			case 0:
			case 1:
				cp.Weight = math.MaxInt64 - small(3)
			case 2:
				cp.Weight = -1
			default:
				cp.Weight = small(5)
			}
			p[n] = cp
		}
		current, capacity := map[string]int64{}, map[string]int64{}
		for _, n := range clusters {
			if rng.Intn(2) == 0 {
				current[n] = small(40) - 2
			}
			if rng.Intn(4) == 0 {
				capacity[n] = small(20) - 2
			}
		}
		total := int32(small(80) - 3)
		if rng.Intn(50) == 0 {
			total = math.MaxInt32
		}
		pref := Preferences{TotalReplicas: total, Rebalance: rng.Intn(2) == 0, Clusters: p, Key: fmt.Sprintf("ns/rsp-%d", i%7)}
		res := Plan(pref, clusters, current, capacity)
		checkInvariants(t, pref, clusters, current, capacity, res)
		shuffled := append([]string(nil), clusters...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := Plan(pref, shuffled, current, capacity); !reflect.DeepEqual(again, res) {
			t.Errorf("clusters reordered to %v: %+v", shuffled, again)
		}
		if !pref.Rebalance {
			// The scheduling controller keeps the replicas in force, which
			// are the last plan plus its overflow: planning again from them
			// must not move anything.
			inForce := map[string]int64{}
			for name, n := range res.Plan {
				inForce[name] = n + res.Overflow[name]
			}
			if again := Plan(pref, clusters, inForce, capacity); !reflect.DeepEqual(again.Plan, res.Plan) {
				t.Errorf("planned again from the plan in force %v: %v", inForce, again.Plan)
			}
		}
		if t.Failed() {
			t.Fatalf("case %d: %+v clusters=%v current=%v capacity=%v\nresult %+v", i, pref, clusters, current, capacity, res)
		}
	}
}

// checkInvariants checks what must hold for every plan.
func checkInvariants(t *testing.T, pref Preferences, clusters []string, current, capacity map[string]int64, res Result) {
	t.Helper()
	total := max(int64(pref.TotalReplicas), 0)

	// What a cluster is matched with, and the most it may be planned.
	matched := func(name string) (schedulingv1alpha1.ClusterPreferences, bool) {
		if p, ok := pref.Clusters[name]; ok {
			return p, true
		}
		p, ok := pref.Clusters[Wildcard]
		return p, ok
	}
	limit := func(name string, p schedulingv1alpha1.ClusterPreferences) int64 {
		l := int64(math.MaxInt64)
		if p.MaxReplicas != nil {
			l = max(*p.MaxReplicas, 0)
		}
		if c, ok := capacity[name]; ok {
			l = min(l, max(c, 0))
		}
		return l
	}

	inputs := map[string]bool{}
	for _, c := range clusters {
		inputs[c] = true
	}
	if len(res.Plan) != len(inputs) {
		t.Errorf("plan has %d clusters, want %d", len(res.Plan), len(inputs))
	}
	var planned, overflow, sumMin, sumKeep int64
	full := true // every candidate is at its limit
	weightedFull := true
	for c := range inputs {
		n, ok := res.Plan[c]
		if !ok {
			t.Errorf("no plan for %s", c)
		}
		if n < 0 {
			t.Errorf("%s planned %d", c, n)
		}
		planned += n
		p, isCandidate := matched(c)
		if !isCandidate {
			if n != 0 || res.Overflow[c] != 0 {
				t.Errorf("unmatched %s planned %d, overflow %d", c, n, res.Overflow[c])
			}
			continue
		}
		l := limit(c, p)
		if n > l {
			t.Errorf("%s planned %d beyond its limit %d", c, n, l)
		}
		if n < l {
			full = false
			if p.Weight > 0 {
				weightedFull = false
			}
		}
		m := min(max(p.MinReplicas, 0), l)
		sumMin += m
		k := m
		if !pref.Rebalance {
			k = max(m, min(max(current[c], 0), l))
		}
		sumKeep += k
	}
	for c, o := range res.Overflow {
		overflow += o
		if o <= 0 {
			t.Errorf("overflow entry %s: %d", c, o)
		}
		if cp, ok := capacity[c]; !ok || res.Plan[c] != max(cp, 0) {
			t.Errorf("overflow in %s, which is not at its capacity", c)
		}
	}
	if planned+overflow+res.Unplaced != total || res.Unplaced < 0 {
		t.Errorf("plan %d + overflow %d + unplaced %d != total %d", planned, overflow, res.Unplaced, total)
	}
	if res.Unplaced > 0 && !full {
		t.Errorf("%d unplaced while a cluster has room", res.Unplaced)
	}
	if res.PlacedIgnoringWeights > 0 && !weightedFull {
		t.Errorf("weights ignored while a weighted cluster has room")
	}
	if res.PlacedIgnoringWeights < 0 || res.PlacedIgnoringWeights > planned {
		t.Errorf("placed ignoring weights %d of %d planned", res.PlacedIgnoringWeights, planned)
	}
	if (res.Reason != "") != (res.Unplaced > 0 || res.PlacedIgnoringWeights > 0) {
		t.Errorf("reason %q with %d unplaced and %d placed ignoring weights", res.Reason, res.Unplaced, res.PlacedIgnoringWeights)
	}
	// Minimums, and without rebalance running replicas, are honoured when
	// the total allows it.
	for c := range inputs {
		p, ok := matched(c)
		if !ok {
			continue
		}
		l := limit(c, p)
		m := min(max(p.MinReplicas, 0), l)
		if sumMin <= total && res.Plan[c] < m {
			t.Errorf("%s planned %d below its minimum %d", c, res.Plan[c], m)
		}
		if !pref.Rebalance && sumKeep <= total {
			if k := min(max(current[c], 0), l); res.Plan[c] < k {
				t.Errorf("%s planned %d, below the %d it runs", c, res.Plan[c], k)
			}
		}
	}
}
