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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Retain copies into desired what the member's controllers and other clients own in live, so an
// update does not fight them: metadata.resourceVersion, metadata.finalizers, labels and annotations
// that desired does not set (desired's own win), Service clusterIP(s), nodePorts and
// healthCheckNodePort, ServiceAccount secrets, and spec.replicas when retainReplicas is true.
// Only desired is modified.
func Retain(desired, live *unstructured.Unstructured, retainReplicas bool) {
	retainMetadata(desired, live)
	gvk := desired.GroupVersionKind()
	switch {
	case gvk.Group == "" && gvk.Kind == "Service":
		retainService(desired, live)
	case gvk.Group == "" && gvk.Kind == "ServiceAccount":
		retainServiceAccount(desired, live)
	}
	if retainReplicas {
		// An autoscaler in the member owns the replica count once asked to.
		retainField(desired, live, "spec", "replicas")
	}
}

// retainMetadata keeps the resourceVersion for optimistic concurrency, finalizers
// other controllers depend on, and labels and annotations others added.
func retainMetadata(desired, live *unstructured.Unstructured) {
	if rv := live.GetResourceVersion(); rv != "" {
		desired.SetResourceVersion(rv)
	}
	if f := live.GetFinalizers(); len(f) > 0 {
		desired.SetFinalizers(f)
	}
	if m := mergeStringMaps(live.GetLabels(), desired.GetLabels()); len(m) > 0 {
		desired.SetLabels(m)
	}
	if m := mergeStringMaps(live.GetAnnotations(), desired.GetAnnotations()); len(m) > 0 {
		desired.SetAnnotations(m)
	}
}

// mergeStringMaps returns a new map with base's entries overlaid by wins'.
func mergeStringMaps(base, wins map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(wins))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range wins {
		out[k] = v
	}
	return out
}

// retainService keeps what the member's API server allocated: cluster IPs, node
// ports and the health-check node port are immutable or reallocated if dropped.
func retainService(desired, live *unstructured.Unstructured) {
	retainAllocated(desired, live, "spec", "clusterIP")
	retainAllocated(desired, live, "spec", "clusterIPs")
	retainAllocated(desired, live, "spec", "healthCheckNodePort")
	retainNodePorts(desired, live)
}

// retainNodePorts copies each live port's nodePort into the matching desired port
// that does not choose one itself.
func retainNodePorts(desired, live *unstructured.Unstructured) {
	desiredPorts, _, _ := unstructured.NestedFieldNoCopy(desired.Object, "spec", "ports")
	livePorts, _, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "ports")
	dp, _ := desiredPorts.([]interface{})
	lp, _ := livePorts.([]interface{})
	for _, p := range dp {
		port, ok := p.(map[string]interface{})
		if !ok || !unallocated(port["nodePort"]) {
			continue
		}
		if match := matchingPort(port, lp); match != nil && !unallocated(match["nodePort"]) {
			port["nodePort"] = runtime.DeepCopyJSONValue(match["nodePort"])
		}
	}
}

// matchingPort finds the live port for port: by name when it has one, else the unnamed
// live port with the same port number and protocol.
func matchingPort(port map[string]interface{}, live []interface{}) map[string]interface{} {
	name, _ := port["name"].(string)
	for _, l := range live {
		lport, ok := l.(map[string]interface{})
		if !ok {
			continue
		}
		lname, _ := lport["name"].(string)
		if name != lname {
			continue
		}
		if name != "" || (scalarEqual(port["port"], lport["port"]) && portProtocol(port) == portProtocol(lport)) {
			return lport
		}
	}
	return nil
}

// portProtocol returns a port's protocol, defaulted as the API server defaults it.
func portProtocol(port map[string]interface{}) string {
	if p, ok := port["protocol"].(string); ok && p != "" {
		return p
	}
	return "TCP"
}

// retainServiceAccount keeps the token secrets the member's controllers list when
// desired lists none, so updates do not race the service account controller.
func retainServiceAccount(desired, live *unstructured.Unstructured) {
	if s, _, _ := unstructured.NestedFieldNoCopy(desired.Object, "secrets"); unallocated(s) {
		retainAllocated(desired, live, "secrets")
	}
}

// retainField sets fields in desired to a deep copy of live's value when live has one.
func retainField(desired, live *unstructured.Unstructured, fields ...string) {
	if v, found, err := unstructured.NestedFieldNoCopy(live.Object, fields...); found && err == nil && v != nil {
		_ = unstructured.SetNestedField(desired.Object, v, fields...)
	}
}

// retainAllocated is retainField for fields whose zero value means "not allocated yet".
func retainAllocated(desired, live *unstructured.Unstructured, fields ...string) {
	if v, _, _ := unstructured.NestedFieldNoCopy(live.Object, fields...); !unallocated(v) {
		retainField(desired, live, fields...)
	}
}

// unallocated reports whether v is absent, empty or zero as JSON sees it.
func unallocated(v interface{}) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []interface{}:
		return len(t) == 0
	case map[string]interface{}:
		return len(t) == 0
	}
	if f, ok := asFloat(v); ok {
		return f == 0
	}
	return false
}
