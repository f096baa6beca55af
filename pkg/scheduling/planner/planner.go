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

// Package planner splits the replicas of a ReplicaSchedulingPreference across
// member clusters. It is a pure function of its inputs: the caller supplies the
// candidate clusters, the replicas already running and the estimated capacity,
// and gets back how many replicas each cluster should run.
//
// The planner follows KubeFed's replica planner, so that an RSP moved from
// KubeFed to fedhub keeps its layout, except where KubeFed was wrong (see Plan).
//
// # Algorithm
//
// A cluster is a candidate when the preferences name it, or, failing that, when
// they have a "*" entry; any other cluster gets 0 replicas. Candidates are put
// in a fixed order (see Plan) and then, in that order:
//
//  1. Minimums: each candidate gets its minReplicas, bounded by its
//     maxReplicas, its estimated capacity and what is left of totalReplicas.
//  2. Keeping (rebalance false only): each candidate keeps the replicas it
//     already runs, within its maxReplicas and capacity. If there are not
//     enough replicas left for all of them, what is left is split between
//     these clusters by weight instead of first come, first served.
//  3. Weighted rounds: each round offers every candidate still open
//     ceil(left × weight / sum of open weights), where left is the number of
//     replicas not yet placed when the round starts. Replicas kept in step 2
//     count against a cluster's offers before it gets new ones. A candidate
//     that reaches its maxReplicas or capacity leaves the rounds; what it was
//     offered beyond its capacity is its overflow. Rounds stop when all
//     replicas are placed or no candidate with a positive weight can take more.
//  4. Even rounds: replicas still left go, in rounds like step 3 with every
//     weight taken as 1, to the candidates that still have room. This only
//     happens when no cluster with a positive weight has room, for example when
//     every weight is 0; Result.PlacedIgnoringWeights counts these replicas.
//
// Replicas that no candidate can take are reported as overflow, up to what
// the rounds offered beyond capacity, and the rest as unplaced.
package planner

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"sort"
	"strings"

	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
)

// Wildcard is the Clusters key whose preferences apply to every cluster the
// preferences do not name.
const Wildcard = "*"

// Preferences is the part of a ReplicaSchedulingPreference the planner reads.
type Preferences struct {
	// TotalReplicas is the number of replicas to place. Negative counts as 0.
	TotalReplicas int32
	// Rebalance lets replicas move away from the clusters running them.
	Rebalance bool
	// Clusters holds the preferences per cluster name, and for Wildcard.
	Clusters map[string]schedulingv1alpha1.ClusterPreferences
	// Key seeds the order of clusters of equal weight, so that different RSPs
	// do not all favour the same cluster. Callers pass "namespace/name" of
	// the RSP, as KubeFed did.
	Key string
}

// FromSpec returns the preferences of an RSP spec; key is its
// "namespace/name". Clusters is used as given: an empty map matches no
// cluster. (KubeFed's scheduler, not its planner, replaced an empty map with
// {"*": {Weight: 1}}; that defaulting is left to the caller.)
func FromSpec(spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec, key string) Preferences {
	return Preferences{
		TotalReplicas: spec.TotalReplicas,
		Rebalance:     spec.Rebalance,
		Clusters:      spec.Clusters,
		Key:           key,
	}
}

// Result is a replica plan.
type Result struct {
	// Plan has an entry for every cluster given to Plan: the replicas it
	// should run, 0 for clusters the preferences do not match. A cluster's
	// plan never exceeds its maxReplicas or its estimated capacity.
	Plan map[string]int64
	// Overflow holds, for clusters whose estimated capacity was too small for
	// their share, how many more replicas they would ideally run. A caller may
	// still ask these clusters for Plan+Overflow replicas, in case capacity
	// turns out to be there. Only clusters with overflow have an entry.
	// The sums of Plan and Overflow never exceed TotalReplicas.
	Overflow map[string]int64
	// PlacedIgnoringWeights is the number of replicas in Plan that were spread
	// evenly over clusters of weight 0, because no cluster with a positive
	// weight had room for them.
	PlacedIgnoringWeights int64
	// Unplaced is the number of replicas neither in Plan nor in Overflow:
	// every candidate cluster is at its maxReplicas or capacity, or there is
	// no candidate.
	Unplaced int64
	// Reason explains PlacedIgnoringWeights and Unplaced when either is not 0,
	// and is empty otherwise.
	Reason string
}

// candidate is a cluster the preferences match, with the state of its plan.
type candidate struct {
	name   string
	hash   uint32
	weight int64 // as given, for ordering
	share  int64 // weight used for shares; see scaleShares

	min         int64
	max         int64
	hasMax      bool
	capacity    int64
	hasCapacity bool

	planned  int64
	kept     int64 // replicas kept by step 2 not yet set against an offer
	overflow int64 // offered beyond capacity; trimmed at the end
	full     bool  // reached maxReplicas or capacity in a round
}

// limit is the most replicas the candidate may be planned: the smaller of its
// maxReplicas and its capacity, or MaxInt64 when it has neither.
func (c *candidate) limit() int64 {
	l := int64(math.MaxInt64)
	if c.hasMax {
		l = c.max
	}
	if c.hasCapacity {
		l = min(l, c.capacity)
	}
	return l
}

// offer hands the candidate n more replicas in a round. Kept replicas absorb
// the offer first; the rest is added to the plan up to maxReplicas and then
// capacity, and what does not fit in capacity becomes overflow. It returns
// how many replicas were newly placed and whether the offer changed anything.
func (c *candidate) offer(n int64) (placed int64, changed bool) {
	absorbed := min(n, c.kept)
	c.kept -= absorbed
	want := c.planned + n - absorbed
	if c.hasMax && want > c.max {
		want = c.max
		c.full = true
	}
	if c.hasCapacity && want > c.capacity {
		c.overflow = want - c.capacity
		want = c.capacity
		c.full = true
	}
	placed = want - c.planned
	c.planned = want
	return placed, absorbed > 0 || placed > 0
}

// Plan splits pref.TotalReplicas over clusters. current holds the replicas
// each cluster runs now (read only when pref.Rebalance is false) and capacity
// the estimated number of replicas a cluster can run; a cluster missing from
// capacity is not bounded by it. Negative numbers in the inputs count as 0,
// and a cluster listed twice counts once.
//
// Candidates are ordered by decreasing weight, then by increasing 32-bit
// FNV-1 hash of the cluster name followed by pref.Key (the hash KubeFed used,
// so layouts agree with KubeFed's), then by name should two hashes be equal.
// The order decides which clusters get the rounded-up shares and which get
// their minimum when there are too few replicas for all minimums. It does not
// depend on the order of clusters.
//
// Plan agrees with KubeFed's planner except that:
//   - replicas no cluster of positive weight can take are spread evenly over
//     clusters of weight 0 with room (step 4 in the package documentation);
//     KubeFed dropped them without saying so, e.g. when all weights were 0;
//   - Overflow is trimmed so that Plan plus Overflow never exceeds
//     TotalReplicas; KubeFed trimmed it only with rebalance false, and then
//     per cluster rather than in total;
//   - minReplicas is bounded by maxReplicas;
//   - weights whose sum does not fit in an int64 are scaled down rather than
//     overflowing;
//   - with rebalance false and more replicas running than wanted, the wanted
//     replicas are split by weight between the clusters running them, where
//     KubeFed kept all replicas of the first clusters in order and dropped
//     the others (KubeFed's test expected 0:50 for running 10:70 and 50
//     wanted, with a TODO saying it should be 10:40, which is what Plan gives).
func Plan(pref Preferences, clusters []string, current, capacity map[string]int64) Result {
	res := Result{Plan: make(map[string]int64, len(clusters))}
	cands := candidates(pref, clusters, capacity)
	for _, name := range clusters {
		res.Plan[name] = 0
	}
	left := max(int64(pref.TotalReplicas), 0)

	// 1. Minimums, in order, while replicas last.
	for _, c := range cands {
		c.planned = min(c.min, c.limit(), left)
		left -= c.planned
	}

	// 2. Keep running replicas.
	if !pref.Rebalance {
		left = keep(cands, current, left)
	}

	// 3. Weighted rounds over every candidate.
	left = rounds(cands, left, byShare)

	// 4. Even rounds over the candidates with room.
	if left > 0 {
		var open []*candidate
		for _, c := range cands {
			if !c.full && c.planned < c.limit() {
				open = append(open, c)
			}
		}
		before := left
		left = rounds(open, left, evenly)
		res.PlacedIgnoringWeights = before - left
	}

	// What is left may be asked of clusters beyond their capacity, but only
	// as much of it as they were offered, in candidate order.
	for _, c := range cands {
		res.Plan[c.name] = c.planned
		if o := min(c.overflow, left); o > 0 {
			if res.Overflow == nil {
				res.Overflow = map[string]int64{}
			}
			res.Overflow[c.name] = o
			left -= o
		}
	}
	res.Unplaced = left
	res.Reason = reason(res, len(cands))
	return res
}

// candidates returns the clusters the preferences match, in planning order,
// with their bounds sanitised.
func candidates(pref Preferences, clusters []string, capacity map[string]int64) []*candidate {
	seen := make(map[string]bool, len(clusters))
	var cands []*candidate
	for _, name := range clusters {
		if seen[name] {
			continue
		}
		seen[name] = true
		p, ok := pref.Clusters[name]
		if !ok {
			p, ok = pref.Clusters[Wildcard]
		}
		if !ok {
			continue
		}
		c := &candidate{
			name:   name,
			hash:   orderHash(name, pref.Key),
			weight: max(p.Weight, 0),
			min:    max(p.MinReplicas, 0),
		}
		c.share = c.weight
		if p.MaxReplicas != nil {
			c.max, c.hasMax = max(*p.MaxReplicas, 0), true
		}
		if cp, ok := capacity[name]; ok {
			c.capacity, c.hasCapacity = max(cp, 0), true
		}
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if a.hash != b.hash {
			return a.hash < b.hash
		}
		return a.name < b.name
	})
	scaleShares(cands)
	return cands
}

// orderHash is the 32-bit FNV-1 hash of name followed by key.
func orderHash(name, key string) uint32 {
	h := fnv.New32()
	_, _ = h.Write([]byte(name + key)) // writing to a hash.Hash never fails
	return h.Sum32()
}

// scaleShares halves the shares, keeping positive ones at least 1, until
// their sum fits in an int64. Only absurdly large weights need this; ordinary
// ones are used as given.
func scaleShares(cands []*candidate) {
	for {
		var sum uint64
		fits := true
		for _, c := range cands {
			var carry uint64
			sum, carry = bits.Add64(sum, uint64(c.share), 0)
			if carry != 0 || sum > math.MaxInt64 {
				fits = false
				break
			}
		}
		if fits {
			return
		}
		for _, c := range cands {
			if c.share > 0 {
				c.share = c.share/2 + c.share%2
			}
		}
	}
}

// keep plans, for rebalance false, the replicas each candidate already runs
// on top of its minimum, within its bounds, and returns what is left. When
// left cannot cover them all, it is split by weight between the candidates
// running replicas, each taking at most what it runs (and evenly between
// those left if their weights are 0).
func keep(cands []*candidate, current map[string]int64, left int64) int64 {
	var running []*candidate
	wants := map[*candidate]int64{}
	var sum int64
	for _, c := range cands {
		want := min(max(current[c.name], 0), c.limit()) - c.planned
		if want <= 0 {
			continue
		}
		want = min(want, left) // keeps sum from overflowing
		running = append(running, c)
		wants[c] = want
		sum += want
	}
	kept := wants
	if sum > left {
		kept = make(map[*candidate]int64, len(running))
		take := func(c *candidate, n int64) (int64, bool, bool) {
			n = min(n, wants[c]-kept[c])
			kept[c] += n
			return n, n > 0, kept[c] == wants[c]
		}
		rest := roundsWith(running, left, byShare, take)
		var short []*candidate
		for _, c := range running {
			if kept[c] < wants[c] {
				short = append(short, c)
			}
		}
		roundsWith(short, rest, evenly, take)
	}
	for _, c := range running {
		c.planned += kept[c]
		c.kept = kept[c]
		left -= kept[c]
	}
	return left
}

// byShare and evenly weigh candidates for rounds: by their (scaled) weight,
// or all the same.
func byShare(c *candidate) int64 { return c.share }
func evenly(*candidate) int64    { return 1 }

// rounds offers left to cands in weighted rounds (see candidate.offer) and
// returns what is left.
func rounds(cands []*candidate, left int64, weight func(*candidate) int64) int64 {
	return roundsWith(cands, left, weight, func(c *candidate, n int64) (int64, bool, bool) {
		placed, changed := c.offer(n)
		return placed, changed, c.full
	})
}

// roundsWith runs weighted rounds: each round offers every candidate still in
// ceil(left × weight / total weight) of the replicas left when the round
// started, in order, never more than is still left. give takes an offer and
// returns how many replicas it took, whether anything changed, and whether
// the candidate can take no more, in which case it leaves the rounds. Rounds
// stop when nothing is left, the weights in the rounds sum to 0, or a round
// changes nothing. It returns what is left.
func roundsWith(cands []*candidate, left int64, weight func(*candidate) int64,
	give func(c *candidate, n int64) (took int64, changed, done bool)) int64 {
	in := append([]*candidate(nil), cands...)
	for changed := true; changed && left > 0 && len(in) > 0; {
		changed = false
		var sum int64
		for _, c := range in {
			sum += weight(c)
		}
		if sum == 0 {
			break
		}
		pool := left
		next := in[:0]
		for _, c := range in {
			took, ch, done := give(c, min(ceilShare(pool, weight(c), sum), left))
			left -= took
			changed = changed || ch
			if !done {
				next = append(next, c)
			}
		}
		in = next
	}
	return left
}

// ceilShare returns ceil(n × w / sum) for 0 <= n, 0 <= w <= sum and sum > 0,
// without overflowing.
func ceilShare(n, w, sum int64) int64 {
	hi, lo := bits.Mul64(uint64(n), uint64(w))
	q, r := bits.Div64(hi, lo, uint64(sum)) // hi < w <= sum, so no panic
	if r != 0 {
		q++
	}
	return int64(q)
}

// reason explains res.PlacedIgnoringWeights and res.Unplaced.
func reason(res Result, candidates int) string {
	var parts []string
	if res.PlacedIgnoringWeights > 0 {
		parts = append(parts, fmt.Sprintf(
			"placed %s ignoring weights, evenly over clusters of weight 0, because no cluster with a positive weight had room",
			replicas(res.PlacedIgnoringWeights)))
	}
	if res.Unplaced > 0 {
		why := "every matching cluster is at its maxReplicas or estimated capacity"
		if candidates == 0 {
			why = "no cluster matches the preferences"
		}
		parts = append(parts, fmt.Sprintf("could not place %s: %s", replicas(res.Unplaced), why))
	}
	return strings.Join(parts, "; ")
}

func replicas(n int64) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}
