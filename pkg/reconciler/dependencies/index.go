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

package dependencies

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Workload names a federated workload: its federated resource (such as
// "federateddeployments"), namespace and name.
type Workload struct {
	Resource, Namespace, Name string
}

// Dependency names a dependency in the index: a kind, a namespace and a name.
type Dependency struct {
	Namespace string
	Kind      Kind
	Name      string
}

// Wants is what a workload wants of its dependencies: for each one, the
// clusters it should be in, sorted.
type Wants map[Dependency][]string

// Index remembers what each workload last asked of its dependencies, and
// what each dependency last looked like to the workloads naming it. It is
// how the controllers of workloads and of dependencies tell each other that
// the other has work to do: a workload whose wants changed has its
// dependencies reconciled, a dependency that appeared, went or changed its
// author has its workloads reconciled (their DependenciesResolved
// condition). It is never the only record of what a dependency is placed
// on: that is computed from the workloads themselves, so an Index that has
// not heard from every workload yet (right after fedhub starts) never takes
// a dependency away from a cluster.
type Index struct {
	mu sync.Mutex
	// wants is each workload's last wants.
	wants map[Workload]Wants
	// wanters are the workloads naming each dependency.
	wanters map[Dependency]map[Workload]bool
	// observed is each named dependency's last state, as Observe was told it.
	observed map[Dependency]string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{wants: map[Workload]Wants{}, wanters: map[Dependency]map[Workload]bool{}, observed: map[Dependency]string{}}
}

// Set records what a workload wants now and returns the dependencies whose
// wanted clusters changed: named before or now, with other clusters.
func (i *Index) Set(w Workload, wants Wants) []Dependency {
	i.mu.Lock()
	defer i.mu.Unlock()
	before := i.wants[w]
	var changed []Dependency
	for d, clusters := range before {
		if now, ok := wants[d]; !ok || !slices.Equal(now, clusters) {
			changed = append(changed, d)
		}
		if _, ok := wants[d]; !ok {
			i.unname(w, d)
		}
	}
	for d := range wants {
		if _, ok := before[d]; !ok {
			changed = append(changed, d)
		}
		if i.wanters[d] == nil {
			i.wanters[d] = map[Workload]bool{}
		}
		i.wanters[d][w] = true
	}
	if len(wants) == 0 {
		delete(i.wants, w)
	} else {
		i.wants[w] = maps.Clone(wants)
	}
	return sortDependencies(changed)
}

// Delete forgets a workload and returns the dependencies it named.
func (i *Index) Delete(w Workload) []Dependency {
	return i.Set(w, nil)
}

// DeleteResource forgets every workload of a federated resource (whose
// controller stopped) and returns the dependencies they named.
func (i *Index) DeleteResource(resource string) []Dependency {
	i.mu.Lock()
	var workloads []Workload
	for w := range i.wants {
		if w.Resource == resource {
			workloads = append(workloads, w)
		}
	}
	i.mu.Unlock()
	var changed []Dependency
	for _, w := range workloads {
		changed = append(changed, i.Delete(w)...)
	}
	return sortDependencies(slices.Compact(sortDependencies(changed)))
}

// unname drops w from d's wanters; i.mu is held.
func (i *Index) unname(w Workload, d Dependency) {
	delete(i.wanters[d], w)
	if len(i.wanters[d]) == 0 {
		delete(i.wanters, d)
		delete(i.observed, d)
	}
}

// Observe records the state of a dependency as its controller last saw it
// (any string that changes when workloads should look again, "" for an
// object that does not exist) and returns the workloads naming it when it
// changed. Only named dependencies are remembered.
func (i *Index) Observe(d Dependency, state string) []Workload {
	i.mu.Lock()
	defer i.mu.Unlock()
	wanters := i.wanters[d]
	if len(wanters) == 0 {
		return nil
	}
	if previous, seen := i.observed[d]; seen && previous == state {
		return nil
	}
	i.observed[d] = state
	return sortWorkloads(slices.Collect(maps.Keys(wanters)))
}

// ForgetKind drops what Observe was told about the dependencies of a kind
// (whose controller stopped) and returns the workloads naming any of them.
func (i *Index) ForgetKind(kind Kind) []Workload {
	i.mu.Lock()
	defer i.mu.Unlock()
	set := map[Workload]bool{}
	for d, wanters := range i.wanters {
		if d.Kind != kind {
			continue
		}
		delete(i.observed, d)
		for w := range wanters {
			set[w] = true
		}
	}
	return sortWorkloads(slices.Collect(maps.Keys(set)))
}

func sortDependencies(ds []Dependency) []Dependency {
	slices.SortFunc(ds, func(a, b Dependency) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Name, b.Name))
	})
	return ds
}

func sortWorkloads(ws []Workload) []Workload {
	slices.SortFunc(ws, func(a, b Workload) int {
		return cmp.Or(strings.Compare(a.Resource, b.Resource), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return ws
}
