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

package member

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Topology is where a member's nodes run.
type Topology struct {
	// Zones are the distinct zones, sorted.
	Zones []string
	// Region is the region most nodes are in (the first by name on a tie).
	Region string
}

// TopologyOf reads a member's zones and region from its nodes' labels (the
// legacy failure-domain labels when the topology ones are missing). Push
// members are read by fedhub's health probe, pull members by their agent.
func TopologyOf(nodeLabels []map[string]string) Topology {
	zones := map[string]bool{}
	regions := map[string]int{}
	for _, labels := range nodeLabels {
		if zone := labelOf(labels, corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone); zone != "" {
			zones[zone] = true
		}
		if region := labelOf(labels, corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaRegion); region != "" {
			regions[region]++
		}
	}
	var t Topology
	for zone := range zones {
		t.Zones = append(t.Zones, zone)
	}
	sort.Strings(t.Zones)
	for region, count := range regions {
		if count > regions[t.Region] || (count == regions[t.Region] && region < t.Region) {
			t.Region = region
		}
	}
	return t
}

func labelOf(labels map[string]string, keys ...string) string {
	for _, key := range keys {
		if value := labels[key]; value != "" {
			return value
		}
	}
	return ""
}
