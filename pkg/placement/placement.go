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

// Package placement decides which member clusters a federated object is
// placed on, as KubeFed's spec.placement says.
package placement

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// Why says how a placement selects a cluster.
type Why string

const (
	// ByName: the cluster is in spec.placement.clusters.
	ByName Why = "placement.clusters"
	// BySelector: spec.placement.clusterSelector matches the cluster's labels.
	BySelector Why = "placement.clusterSelector"
)

// Placement is spec.placement of a federated object.
type Placement struct {
	fields
	// explicit is set when spec.placement.clusters is present, even empty:
	// then the list alone decides and the selector is ignored, as in KubeFed.
	explicit bool
}

// fields are spec.placement as stored.
type fields struct {
	Clusters []struct {
		Name string `json:"name"`
	} `json:"clusters"`
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector"`
}

// Of reads the placement of a federated object.
func Of(obj *unstructured.Unstructured) (*Placement, error) {
	raw, found, err := unstructured.NestedMap(obj.Object, "spec", "placement")
	if err != nil {
		return nil, fmt.Errorf("spec.placement: %w", err)
	}
	p := &Placement{}
	if !found {
		return p, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &p.fields); err != nil {
		return nil, fmt.Errorf("spec.placement: %w", err)
	}
	_, p.explicit = raw["clusters"]
	p.explicit = p.explicit && raw["clusters"] != nil
	return p, nil
}

// Selects says whether the placement puts the object on cluster, and why.
func (p *Placement) Selects(cluster *corev1beta1.KubeFedCluster) (bool, Why, error) {
	if p.explicit {
		for _, c := range p.Clusters {
			if c.Name == cluster.Name {
				return true, ByName, nil
			}
		}
		return false, "", nil
	}
	if p.ClusterSelector == nil {
		return false, "", nil
	}
	selector, err := metav1.LabelSelectorAsSelector(p.ClusterSelector)
	if err != nil {
		return false, "", fmt.Errorf("spec.placement.clusterSelector: %w", err)
	}
	if selector.Matches(labels.Set(cluster.Labels)) {
		return true, BySelector, nil
	}
	return false, "", nil
}

// Targets names the clusters the placement may ever select, without looking
// at any cluster: the listed names, or every cluster (all) for a selector,
// since labels can change after the object is admitted. No placement, or an
// empty list, targets nothing.
func (p *Placement) Targets() (names []string, all bool) {
	if p.explicit {
		for _, c := range p.Clusters {
			names = append(names, c.Name)
		}
		return names, false
	}
	return nil, p.ClusterSelector != nil
}
