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
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// Annotation on a federated workload, "true": the objects its pod template
// names follow it to its clusters.
const Annotation = typesv1beta1.PropagateDependenciesAnnotation

// Follows says whether a federated workload asks for its dependencies to follow it.
func Follows(workload *unstructured.Unstructured) bool {
	return workload.GetAnnotations()[Annotation] == "true"
}

// Grant is the clusters the last user who wrote an object may propagate to,
// as admission recorded them in AuthorClustersAnnotation.
type Grant struct {
	// Recorded is false for an object no user's write recorded the grant
	// of (stored before fedhub recorded it for its kind): it allows nothing.
	Recorded bool
	all      bool
	clusters []string
}

// Everywhere is the grant of a user who may propagate to every cluster.
var Everywhere = Grant{Recorded: true, all: true}

// GrantOf reads the grant admission recorded on obj.
func GrantOf(obj *unstructured.Unstructured) Grant {
	value, recorded := obj.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
	if !recorded {
		return Grant{}
	}
	if value == "*" {
		return Grant{Recorded: true, all: true}
	}
	var clusters []string
	for _, name := range strings.Split(value, ",") {
		if name = strings.TrimSpace(name); name != "" {
			clusters = append(clusters, name)
		}
	}
	return Grant{Recorded: true, clusters: clusters}
}

// Allows says whether the grant covers the cluster.
func (g Grant) Allows(cluster string) bool {
	return g.all || slices.Contains(g.clusters, cluster)
}
