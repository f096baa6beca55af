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

// Package dependencies finds what a workload's pod template needs from its
// namespace (ConfigMaps, Secrets, ServiceAccounts, PersistentVolumeClaims)
// and keeps track of which workloads want which of them where, so that
// propagation can send those objects wherever their workloads run.
package dependencies

import (
	"slices"
	"strings"
)

// Kind is the kind of object a pod can depend on, in the core group.
type Kind string

// The kinds a pod template can name.
const (
	ConfigMap             Kind = "ConfigMap"
	Secret                Kind = "Secret"
	ServiceAccount        Kind = "ServiceAccount"
	PersistentVolumeClaim Kind = "PersistentVolumeClaim"
)

// Kinds are the dependency kinds, in the order messages list them.
var Kinds = []Kind{ConfigMap, Secret, ServiceAccount, PersistentVolumeClaim}

// IsDependencyKind says whether objects of the target kind (group, kind)
// follow the workloads that name them.
func IsDependencyKind(group, kind string) bool {
	return group == "" && slices.Contains(Kinds, Kind(kind))
}

// podSpecPaths is where each workload kind keeps its pod spec, inside the
// object (a member object, or a federated object's spec.template).
var podSpecPaths = map[string][]string{
	"apps/Deployment":        {"spec", "template", "spec"},
	"apps/ReplicaSet":        {"spec", "template", "spec"},
	"apps/StatefulSet":       {"spec", "template", "spec"},
	"apps/DaemonSet":         {"spec", "template", "spec"},
	"batch/Job":              {"spec", "template", "spec"},
	"batch/CronJob":          {"spec", "jobTemplate", "spec", "template", "spec"},
	"/ReplicationController": {"spec", "template", "spec"},
	"/Pod":                   {"spec"},
}

// IsWorkloadKind says whether objects of the target kind (group, kind) run
// pods from a template whose dependencies can follow them.
func IsWorkloadKind(group, kind string) bool {
	_, ok := podSpecPaths[group+"/"+kind]
	return ok
}

// Ref names one object a pod template needs, in the workload's namespace.
type Ref struct {
	Kind Kind
	Name string
	// Optional is true when every mention of the object marks it optional
	// (configMapKeyRef.optional and the like): the pod starts without it,
	// so its absence is not reported.
	Optional bool
}

// String is how messages name the object: "ConfigMap app-config".
func (r Ref) String() string {
	return string(r.Kind) + " " + r.Name
}

// defaultServiceAccount exists in every namespace of every cluster, made by
// the cluster itself: it never needs to follow.
const defaultServiceAccount = "default"

// Extract returns what the pod template of obj, an object of the target
// kind (group, kind), names: sorted by kind and name, each once. It reads
// the object with checked accessors: a field of the wrong shape names
// nothing, whatever a stored object holds.
func Extract(obj map[string]any, group, kind string) []Ref {
	path, ok := podSpecPaths[group+"/"+kind]
	if !ok {
		return nil
	}
	spec, ok := nested(obj, path...).(map[string]any)
	if !ok {
		return nil
	}
	found := refSet{}
	found.podSpec(spec)
	return found.sorted()
}

// Merge returns refs sorted by kind and name, each once, optional only
// when every mention of it is.
func Merge(refs []Ref) []Ref {
	found := refSet{}
	for _, ref := range refs {
		found.add(ref.Kind, ref.Name, ref.Optional)
	}
	return found.sorted()
}

// refSet collects refs by kind and name; the value is whether every mention
// so far was optional.
type refSet map[Ref]bool

func (s refSet) add(kind Kind, name any, optional any) {
	n, ok := name.(string)
	if !ok || n == "" {
		return
	}
	isOptional, _ := optional.(bool)
	key := Ref{Kind: kind, Name: n}
	if previous, seen := s[key]; seen {
		isOptional = previous && isOptional
	}
	s[key] = isOptional
}

func (s refSet) sorted() []Ref {
	refs := make([]Ref, 0, len(s))
	for ref, optional := range s {
		ref.Optional = optional
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b Ref) int {
		if c := slices.Index(Kinds, a.Kind) - slices.Index(Kinds, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return refs
}

// podSpec collects what a core/v1 PodSpec names.
func (s refSet) podSpec(spec map[string]any) {
	for _, field := range []string{"serviceAccountName", "serviceAccount"} {
		if name, _ := spec[field].(string); name != defaultServiceAccount {
			s.add(ServiceAccount, spec[field], false)
		}
	}
	for _, secret := range items(spec["imagePullSecrets"]) {
		s.add(Secret, secret["name"], false)
	}
	for _, volume := range items(spec["volumes"]) {
		s.volume(volume)
	}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, container := range items(spec[field]) {
			s.container(container)
		}
	}
}

// volume collects what one volume names: its ConfigMap, Secret or claim,
// the sources of a projected volume, and the Secrets volume plugins log in with.
func (s refSet) volume(volume map[string]any) {
	if v, ok := volume["configMap"].(map[string]any); ok {
		s.add(ConfigMap, v["name"], v["optional"])
	}
	if v, ok := volume["secret"].(map[string]any); ok {
		s.add(Secret, v["secretName"], v["optional"])
	}
	if v, ok := volume["persistentVolumeClaim"].(map[string]any); ok {
		s.add(PersistentVolumeClaim, v["claimName"], false)
	}
	if v, ok := volume["projected"].(map[string]any); ok {
		for _, source := range items(v["sources"]) {
			if c, ok := source["configMap"].(map[string]any); ok {
				s.add(ConfigMap, c["name"], c["optional"])
			}
			if c, ok := source["secret"].(map[string]any); ok {
				s.add(Secret, c["name"], c["optional"])
			}
		}
	}
	if v, ok := volume["azureFile"].(map[string]any); ok {
		s.add(Secret, v["secretName"], false)
	}
	// Plugins that name their login Secret as secretRef (a LocalObjectReference).
	for _, plugin := range []string{"cephfs", "rbd", "iscsi", "flexVolume", "scaleIO", "storageos"} {
		if v, ok := volume[plugin].(map[string]any); ok {
			if ref, ok := v["secretRef"].(map[string]any); ok {
				s.add(Secret, ref["name"], false)
			}
		}
	}
	if v, ok := volume["csi"].(map[string]any); ok {
		if ref, ok := v["nodePublishSecretRef"].(map[string]any); ok {
			s.add(Secret, ref["name"], false)
		}
	}
}

// container collects what a container's environment names.
func (s refSet) container(container map[string]any) {
	for _, env := range items(container["env"]) {
		from, ok := env["valueFrom"].(map[string]any)
		if !ok {
			continue
		}
		if ref, ok := from["configMapKeyRef"].(map[string]any); ok {
			s.add(ConfigMap, ref["name"], ref["optional"])
		}
		if ref, ok := from["secretKeyRef"].(map[string]any); ok {
			s.add(Secret, ref["name"], ref["optional"])
		}
	}
	for _, from := range items(container["envFrom"]) {
		if ref, ok := from["configMapRef"].(map[string]any); ok {
			s.add(ConfigMap, ref["name"], ref["optional"])
		}
		if ref, ok := from["secretRef"].(map[string]any); ok {
			s.add(Secret, ref["name"], ref["optional"])
		}
	}
}

// items is the objects in a list, skipping anything else.
func items(list any) []map[string]any {
	values, _ := list.([]any)
	out := make([]map[string]any, 0, len(values))
	for _, value := range values {
		if m, ok := value.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// nested is the value at path, nil when any step is missing or not an object.
func nested(obj map[string]any, path ...string) any {
	var current any = obj
	for _, field := range path {
		m, ok := current.(map[string]any)
		if !ok {
			return nil
		}
		current = m[field]
	}
	return current
}

// RecordsAuthorGrant says whether admission records the grant of the last
// author (AuthorClustersAnnotation) on a federated kind: those of the
// workload and dependency kinds, named as fedhub and KubeFed name them
// (Federated<Kind>). A federated type named otherwise has no grant recorded,
// and so nothing follows to or from it.
func RecordsAuthorGrant(federatedKind string) bool {
	kind, ok := strings.CutPrefix(federatedKind, "Federated")
	if !ok {
		return false
	}
	if slices.Contains(Kinds, Kind(kind)) {
		return true
	}
	for target := range podSpecPaths {
		if _, k, _ := strings.Cut(target, "/"); k == kind {
			return true
		}
	}
	return false
}
