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
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// pacedVersion is the version the paced updates write: above the burst's
// (1) and the update wave's (2), so that every paced update is a change.
const pacedVersion = 3

// pacedWriteRateFactor: paced updates and deletes go at this many times
// -paced-rate. Each is still alone in flight (its latency, tens of
// milliseconds, is well below the 50 ms between two at the default rate),
// and make bench stays within its five minutes.
const pacedWriteRateFactor = 2

// pacedWriteRate is the rate of the paced updates and deletes.
func (b *bench) pacedWriteRate() float64 { return b.o.pacedRate * pacedWriteRateFactor }

// pacedTargets are the objects the paced updates and deletes use: the paced
// scenario's when it ran, else the first -paced-objects burst objects.
func (b *bench) pacedTargets() []string {
	if len(b.paced) > 0 {
		return b.paced
	}
	return b.names[:min(b.o.pacedCount, len(b.names))]
}

// pacedWrites writes each of names, one at a time at -paced-rate, and
// returns the sorted latencies, per object, from the moment write returns
// until every watch has seen the write arrive. Only the paced parts watch
// this way, never a wave or a burst.
func (b *bench) pacedWrites(ctx context.Context, what string, watches []*objectWatch, names []string,
	write func(name string) (time.Time, error), arrived func(w *objectWatch, name string) (time.Time, bool)) ([]time.Duration, error) {
	ticker := time.NewTicker(time.Duration(float64(time.Second) / b.pacedWriteRate()))
	defer ticker.Stop()
	from := map[string]time.Time{}
	for _, name := range names {
		at, err := write(name)
		if err != nil {
			return nil, err
		}
		from[name] = at
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ticker.C:
		}
	}
	if err := waitUntil(ctx, deadline, what, func() bool {
		for _, w := range watches {
			for _, name := range names {
				if _, ok := arrived(w, name); !ok {
					return false
				}
			}
		}
		return true
	}, sources(watches)...); err != nil {
		return nil, err
	}
	latencies := make([]time.Duration, 0, len(names))
	for _, name := range names {
		var last time.Time
		for _, w := range watches {
			if at, _ := arrived(w, name); at.After(last) {
				last = at
			}
		}
		latencies = append(latencies, last.Sub(from[name]))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return latencies, nil
}

// holdsPacedVersion and gone tell when a member's watch saw a paced update, and a delete.
func holdsPacedVersion(w *objectWatch, name string) (time.Time, bool) {
	return w.versionSeenAt(name, fmt.Sprint(pacedVersion))
}

func gone(w *objectWatch, name string) (time.Time, bool) { return w.deletedSeenAt(name) }

// updateFederated changes a federated object's template to version v.
func (b *bench) updateFederated(ctx context.Context, name string, v int) error {
	data := fmt.Sprintf(`{"spec":{"template":%s}}`, mustJSON(b.kind.template(v)))
	_, err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).Patch(ctx, name, types.MergePatchType, []byte(data), metav1.PatchOptions{})
	return err
}

// pacedUpdates updates the paced targets through fedhub one at a time, from
// the update response until every member holds the new version.
func (b *bench) pacedUpdates(ctx context.Context, r *Results) error {
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return err
	}
	defer stopAll(watches)
	latencies, err := b.pacedWrites(ctx, "paced updates in every member", watches, b.pacedTargets(), func(name string) (time.Time, error) {
		err := b.updateFederated(ctx, name, pacedVersion)
		return time.Now(), err
	}, holdsPacedVersion)
	if err != nil {
		return err
	}
	r.PacedUpdateP50Ms, r.PacedUpdateP99Ms = percentile(latencies, 50), percentile(latencies, 99)
	r.PacedWriteObjects, r.PacedRate = len(latencies), b.pacedWriteRate()
	logf("  paced updates: %d objects, p50 %.0f ms, p99 %.0f ms", len(latencies), r.PacedUpdateP50Ms, r.PacedUpdateP99Ms)
	return nil
}

// pacedDeletes deletes the paced targets through fedhub one at a time, from
// the delete response until the object is gone from every member, and
// returns the names it deleted.
func (b *bench) pacedDeletes(ctx context.Context, r *Results) ([]string, error) {
	watches, err := b.memberWatches(ctx)
	if err != nil {
		return nil, err
	}
	defer stopAll(watches)
	names := b.pacedTargets()
	latencies, err := b.pacedWrites(ctx, "paced deletes in every member", watches, names, func(name string) (time.Time, error) {
		err := b.fedhub.Resource(b.kind.federated).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{})
		return time.Now(), err
	}, gone)
	if err != nil {
		return nil, err
	}
	r.PacedDeleteP50Ms, r.PacedDeleteP99Ms = percentile(latencies, 50), percentile(latencies, 99)
	r.PacedWriteObjects, r.PacedRate = len(latencies), b.pacedWriteRate()
	logf("  paced deletes: %d objects, p50 %.0f ms, p99 %.0f ms", len(latencies), r.PacedDeleteP50Ms, r.PacedDeleteP99Ms)
	return names, nil
}

// directPacedWrites is the baseline's side of the paced updates and
// deletes: the same number of its objects, each written into every member
// at once (as fedhub's propagation writes), one object at a time at the same
// rate, from sending the writes until every member's watch has seen them.
func (b *bench) directPacedWrites(ctx context.Context, r *Results) error {
	var watches []*objectWatch
	defer func() { stopAll(watches) }()
	for _, member := range b.memberMetadata {
		w, err := watchObjects(ctx, member, b.kind.target, directNamespace, "")
		if err != nil {
			return err
		}
		watches = append(watches, w)
	}
	names := b.names[:min(b.o.pacedCount, len(b.names))]
	m := len(b.members)
	everyMember := func(verb func(member int, name string) error) func(name string) (time.Time, error) {
		return func(name string) (time.Time, error) {
			start := time.Now()
			return start, parallel(m, m, func(i int) error { return verb(i, name) })
		}
	}
	patch := []byte(mustJSON(b.kind.template(pacedVersion)))
	latencies, err := b.pacedWrites(ctx, "direct paced updates", watches, names, everyMember(func(i int, name string) error {
		_, err := b.members[i].Resource(b.kind.target).Namespace(directNamespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}), holdsPacedVersion)
	if err != nil {
		return err
	}
	r.DirectPacedUpdateP50Ms, r.DirectPacedUpdateP99Ms = percentile(latencies, 50), percentile(latencies, 99)
	latencies, err = b.pacedWrites(ctx, "direct paced deletes", watches, names, everyMember(func(i int, name string) error {
		return b.members[i].Resource(b.kind.target).Namespace(directNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	}), gone)
	if err != nil {
		return err
	}
	r.DirectPacedDeleteP50Ms, r.DirectPacedDeleteP99Ms = percentile(latencies, 50), percentile(latencies, 99)
	logf("  direct paced updates: p50 %.0f ms, p99 %.0f ms; deletes: p50 %.0f ms, p99 %.0f ms", r.DirectPacedUpdateP50Ms, r.DirectPacedUpdateP99Ms,
		r.DirectPacedDeleteP50Ms, r.DirectPacedDeleteP99Ms)
	return nil
}

// ignoreNotFound is err unless it says the object is already gone.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
