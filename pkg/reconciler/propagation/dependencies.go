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

package propagation

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler/dependencies"
	"github.com/fedhub/fedhub/pkg/render"
)

// The DependenciesResolved condition of a workload whose dependencies follow it.
const (
	DependenciesCondition = "DependenciesResolved"
	// DependenciesFound: every object the pod template names is federated
	// and goes wherever the workload does.
	DependenciesFound = "DependenciesFound"
	// DependencyNotFound: an object the pod template names (not optional)
	// has no federated object; the workload is propagated anyway.
	DependencyNotFound = "DependencyNotFound"
	// DependencyNotPropagated: a dependency does not follow the workload to
	// some cluster, because an author may not propagate there.
	DependencyNotPropagated = "DependencyNotPropagated"
	// DependenciesNotKnown: fedhub does not know the dependencies yet (it
	// has just started); the condition is set again once it does.
	DependenciesNotKnown = "DependenciesNotKnown"
)

// dependencyHoldRetry is how soon a dependency is reconciled again when
// fedhub did not yet know every workload that may need it.
const dependencyHoldRetry = 2 * time.Second

// workloadSyncGrace is how long a workload type that has started may keep
// dependencies held until its cache fills; past it, the type is taken as
// broken and its workloads as needing nothing, so that one FederatedTypeConfig
// fedhub cannot serve does not hold every dependency forever.
var workloadSyncGrace = memberSyncGrace

// dependencyHub lets the workload and dependency controllers of one Manager
// find each other and tell each other of changes.
type dependencyHub struct {
	index *dependencies.Index
	// controllers returns the running controllers that propagate.
	controllers func() []*TypeController
	// unadmitted is set when fedhub runs without a host (standalone): no
	// admission records any author's grant there, and its only users are
	// administrators, so an object without one is not narrowed.
	unadmitted bool

	mu sync.Mutex
	// started is when each running workload controller started.
	started map[*TypeController]time.Time
}

func newDependencyHub(controllers func() []*TypeController, unadmitted bool) *dependencyHub {
	return &dependencyHub{index: dependencies.NewIndex(), controllers: controllers, unadmitted: unadmitted,
		started: map[*TypeController]time.Time{}}
}

// starting notes that a controller starts now.
func (h *dependencyHub) starting(c *TypeController) {
	if h == nil || !c.runsPods() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started[c] = time.Now()
}

// syncing says whether a workload controller whose cache has not filled yet
// is still within its grace.
func (h *dependencyHub) syncing(c *TypeController) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	started, ok := h.started[c]
	return !ok || time.Since(started) < workloadSyncGrace
}

// grantOf is the grant admission recorded on obj. With a host, an object
// without one (stored before fedhub recorded it for its kind) allows
// nothing: it was never checked, and following is new, so nothing relies
// on it; writing the object again records it.
func (h *dependencyHub) grantOf(obj *unstructured.Unstructured) dependencies.Grant {
	grant := dependencies.GrantOf(obj)
	if !grant.Recorded && h.unadmitted {
		return dependencies.Everywhere
	}
	return grant
}

// dependencyKind is the dependency kind the controller propagates, if any.
func (c *TypeController) dependencyKind() (dependencies.Kind, bool) {
	if !c.namespaced || !dependencies.IsDependencyKind(c.targetKind.Group, c.targetKind.Kind) {
		return "", false
	}
	return dependencies.Kind(c.targetKind.Kind), true
}

// runsPods says whether the controller propagates a kind with a pod template.
func (c *TypeController) runsPods() bool {
	return c.namespaced && dependencies.IsWorkloadKind(c.targetKind.Group, c.targetKind.Kind)
}

// controllerOf is the running controller of a dependency kind, nil when none.
func (h *dependencyHub) controllerOf(kind dependencies.Kind) *TypeController {
	for _, c := range h.controllers() {
		if k, ok := c.dependencyKind(); ok && k == kind {
			return c
		}
	}
	return nil
}

// enqueueDependencies queues the dependencies with their controllers.
func (h *dependencyHub) enqueueDependencies(ds []dependencies.Dependency) {
	if len(ds) == 0 {
		return
	}
	for _, c := range h.controllers() {
		kind, ok := c.dependencyKind()
		for _, d := range ds {
			if ok && d.Kind == kind {
				c.queue.Add(d.Namespace + "/" + d.Name)
			}
		}
	}
}

// enqueueWorkloads queues the workloads with their controllers.
func (h *dependencyHub) enqueueWorkloads(ws []dependencies.Workload) {
	if len(ws) == 0 {
		return
	}
	for _, c := range h.controllers() {
		for _, w := range ws {
			if w.Resource == c.federated.Resource {
				c.queue.Add(w.Namespace + "/" + w.Name)
			}
		}
	}
}

// stopped forgets what the index knows through a controller that stopped,
// and has the other side look again.
func (h *dependencyHub) stopped(c *TypeController) {
	if h == nil {
		return
	}
	h.mu.Lock()
	delete(h.started, c)
	h.mu.Unlock()
	if c.runsPods() {
		h.enqueueDependencies(h.index.DeleteResource(c.federated.Resource))
	}
	if kind, ok := c.dependencyKind(); ok {
		h.enqueueWorkloads(h.index.ForgetKind(kind))
	}
}

// seen tells the index about the federated object at key as the reconcile
// found it (nil when gone): a workload gone or being deleted no longer
// needs anything, and the workloads naming a dependency that appeared,
// went, or was written by another author look at it again.
func (c *TypeController) seen(key string, fed *unstructured.Unstructured) {
	if c.deps == nil {
		return
	}
	namespace, name, _ := strings.Cut(key, "/")
	gone := fed == nil || fed.GetDeletionTimestamp() != nil
	if c.runsPods() && gone {
		c.deps.enqueueDependencies(c.deps.index.Delete(dependencies.Workload{Resource: c.federated.Resource, Namespace: namespace, Name: name}))
	}
	if kind, ok := c.dependencyKind(); ok {
		state := ""
		if !gone {
			grant, recorded := fed.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
			state = fmt.Sprintf("exists, grant %t %q", recorded, grant)
		}
		c.deps.enqueueWorkloads(c.deps.index.Observe(dependencies.Dependency{Namespace: namespace, Kind: kind, Name: name}, state))
	}
}

// wanted is what a workload wants of its dependencies.
type wanted struct {
	wants dependencies.Wants
	// refs is everything its pod template names, in any cluster's rendering.
	refs []dependencies.Ref
	// withheld are the clusters it is placed on that its last author may
	// not propagate to: nothing follows it there.
	withheld []string
}

// wantsOf works out where the dependencies of a federated workload must be,
// given its placement: each cluster it is placed on and its last author
// may propagate to, by what the workload rendered for that cluster names
// (overrides may name other objects in different clusters).
func (c *TypeController) wantsOf(fed *unstructured.Unstructured, clusters []Cluster, placed map[string]bool, aggregate string) wanted {
	group, kind := c.targetKind.Group, c.targetKind.Kind
	template, _ := nestedMap(fed.Object, "spec", "template")
	templateRefs := dependencies.Extract(template, group, kind)
	overrides, _ := nestedSlice(fed.Object, "spec", "overrides")
	w := wanted{wants: dependencies.Wants{}, refs: templateRefs}
	if aggregate != "" {
		return w
	}
	grant := c.deps.grantOf(fed)
	for _, cluster := range clusters {
		if !placed[cluster.Name] {
			continue
		}
		if !grant.Allows(cluster.Name) {
			w.withheld = append(w.withheld, cluster.Name)
			continue
		}
		refs := templateRefs
		if len(overrides) > 0 {
			member, err := render.Render(fed, c.targetKind, c.namespaced, cluster.Name)
			if err != nil {
				continue // not propagated there either (ApplyOverridesFailed)
			}
			refs = dependencies.Extract(member.Object, group, kind)
			w.refs = append(w.refs, refs...)
		}
		for _, ref := range refs {
			d := dependencies.Dependency{Namespace: fed.GetNamespace(), Kind: ref.Kind, Name: ref.Name}
			w.wants[d] = append(w.wants[d], cluster.Name)
		}
	}
	w.refs = dependencies.Merge(w.refs)
	return w
}

// followDependencies records, for a workload that asks for it, where its
// dependencies must go and has their controllers act on it; it returns the
// workload's DependenciesResolved report, nil when it does not ask.
func (c *TypeController) followDependencies(fed *unstructured.Unstructured, clusters []Cluster, placed map[string]bool, aggregate string) *dependencyReport {
	if c.deps == nil || !c.runsPods() {
		return nil
	}
	workload := dependencies.Workload{Resource: c.federated.Resource, Namespace: fed.GetNamespace(), Name: fed.GetName()}
	if !dependencies.Follows(fed) {
		c.deps.enqueueDependencies(c.deps.index.Delete(workload))
		return nil
	}
	w := c.wantsOf(fed, clusters, placed, aggregate)
	c.deps.enqueueDependencies(c.deps.index.Set(workload, w.wants))
	return c.deps.report(fed, clusters, w)
}

// followers adds to a dependency's placement every cluster a workload
// naming it needs it in, within what the dependency's last author may
// propagate to. Those clusters come from the workloads as they are now, not
// from the index. held is set while some workload type is not known yet: a
// cluster not placed must then keep what it has, since a workload nobody
// has read yet may need it there.
func (c *TypeController) followers(fed *unstructured.Unstructured, clusters []Cluster, placed map[string]bool, aggregate string) (map[string]bool, bool) {
	kind, ok := c.dependencyKind()
	if c.deps == nil || !ok || aggregate == NamespaceNotFederated {
		return placed, false
	}
	grant := c.deps.grantOf(fed)
	if !grant.Recorded {
		return placed, false
	}
	d := dependencies.Dependency{Namespace: fed.GetNamespace(), Kind: kind, Name: fed.GetName()}
	all := make(map[string]bool, len(clusters))
	for name, isPlaced := range placed {
		all[name] = isPlaced
	}
	held := false
	for _, workloads := range c.deps.controllers() {
		if !workloads.runsPods() {
			continue
		}
		lister := workloads.lister()
		if lister == nil || !workloads.hasSynced() {
			held = held || c.deps.syncing(workloads)
			continue
		}
		objects, _ := lister.ByNamespace(d.Namespace).List(everything)
		for _, obj := range objects {
			workload, ok := obj.(*unstructured.Unstructured)
			if !ok || !dependencies.Follows(workload) || workload.GetDeletionTimestamp() != nil {
				continue
			}
			workloadPlaced, workloadAggregate, err := workloads.placement(workload, clusters)
			if err != nil {
				held = true
				continue
			}
			for _, cluster := range workloads.wantsOf(workload, clusters, workloadPlaced, workloadAggregate).wants[d] {
				if grant.Allows(cluster) {
					all[cluster] = true
				}
			}
		}
	}
	return all, held
}

// dependencyReport is what a workload's DependenciesResolved condition says.
type dependencyReport struct {
	// reason is "" when every dependency is found and follows.
	reason  string
	message string
}

// report checks each object the workload names against its federated object.
func (h *dependencyHub) report(fed *unstructured.Unstructured, clusters []Cluster, w wanted) *dependencyReport {
	var missing, unknown, parts []string
	for _, ref := range w.refs {
		dc := h.controllerOf(ref.Kind)
		if dc == nil {
			if !ref.Optional {
				missing = append(missing, ref.String()+" (no Federated"+string(ref.Kind)+" type propagates)")
			}
			continue
		}
		if !dc.hasSynced() {
			unknown = append(unknown, ref.String())
			continue
		}
		dep, err := dc.federatedObject(fed.GetNamespace() + "/" + ref.Name)
		if err != nil {
			unknown = append(unknown, ref.String())
			continue
		}
		if dep == nil || dep.GetDeletionTimestamp() != nil {
			if !ref.Optional {
				missing = append(missing, ref.String())
			}
			continue
		}
		grant := h.grantOf(dep)
		own, _, err := dc.placement(dep, clusters)
		if err != nil {
			unknown = append(unknown, ref.String())
			continue
		}
		var withheld []string
		for _, cluster := range w.wants[dependencies.Dependency{Namespace: fed.GetNamespace(), Kind: ref.Kind, Name: ref.Name}] {
			if !own[cluster] && !grant.Allows(cluster) {
				withheld = append(withheld, cluster)
			}
		}
		if len(withheld) > 0 {
			parts = append(parts, fmt.Sprintf("%s is not propagated to %s: %s", ref, strings.Join(withheld, ", "), whyWithheld(grant, "its")))
		}
	}
	if len(w.withheld) > 0 {
		parts = append([]string{fmt.Sprintf("no dependency follows the workload to %s: %s", strings.Join(w.withheld, ", "),
			whyWithheld(h.grantOf(fed), "the workload's"))}, parts...)
	}
	report := &dependencyReport{}
	switch {
	case len(missing) > 0:
		report.reason = DependencyNotFound
	case len(parts) > 0:
		report.reason = DependencyNotPropagated
	case len(unknown) > 0:
		report.reason = DependenciesNotKnown
	}
	if len(missing) > 0 {
		parts = append([]string{"not federated in namespace " + fed.GetNamespace() + ": " + strings.Join(missing, ", ")}, parts...)
	}
	if len(unknown) > 0 {
		parts = append(parts, "not known yet: "+strings.Join(unknown, ", "))
	}
	report.message = strings.Join(parts, "; ")
	return report
}

// whyWithheld says why an author's grant leaves a cluster out.
func whyWithheld(grant dependencies.Grant, whose string) string {
	if !grant.Recorded {
		return whose + " last author's clusters are not recorded (fedhub records them on every write by a user: write it again)"
	}
	return whose + " last author may not propagate there"
}

// condition is the DependenciesResolved condition the report makes.
func (r *dependencyReport) condition(current typesv1beta1.FederatedStatus, now time.Time) typesv1beta1.FederatedCondition {
	reason := r.reason
	if reason == "" {
		reason = DependenciesFound
	}
	return condition(current, DependenciesCondition, r.reason == "", reason, now)
}

// conditionMessages are the messages of a status's conditions by type.
// FederatedCondition has no message field (KubeFed's had none); the stored
// status keeps one, so fedhub writes it beside the typed fields.
type conditionMessages map[string]string

// messagesOf reads the messages of fed's current status conditions.
func messagesOf(fed *unstructured.Unstructured) conditionMessages {
	messages := conditionMessages{}
	conditions, _ := nestedSlice(fed.Object, "status", "conditions")
	for _, raw := range conditions {
		c, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		conditionType, _ := c["type"].(string)
		if message, ok := c["message"].(string); ok && message != "" {
			messages[conditionType] = message
		}
	}
	return messages
}

// setIn writes the messages into a status as stored.
func (m conditionMessages) setIn(status map[string]any) {
	conditions, _ := status["conditions"].([]any)
	for _, raw := range conditions {
		c, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		conditionType, _ := c["type"].(string)
		if message := m[conditionType]; message != "" {
			c["message"] = message
		}
	}
}

func nestedMap(obj map[string]any, fields ...string) (map[string]any, bool) {
	value, ok, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	m, isMap := value.(map[string]any)
	return m, ok && isMap
}

func nestedSlice(obj map[string]any, fields ...string) ([]any, bool) {
	value, ok, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	s, isSlice := value.([]any)
	return s, ok && isSlice
}
