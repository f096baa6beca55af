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
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedhub/fedhub/pkg/render"
)

// decision is what one cluster must hold of a federated object. It is made
// without looking at the cluster, the same for push and pull members; a
// deliverer then makes the cluster hold it.
type decision struct {
	// placed says whether the cluster must hold the object at all.
	placed bool
	// desired is the member object: the template with the cluster's
	// overrides, named and labelled as managed. Set when placed and rendered.
	desired *unstructured.Unstructured
	// failure is the cluster's status when the object cannot be rendered
	// (ApplyOverridesFailed), and err says why.
	failure string
	err     error
}

// decide renders the member object of fed for cluster, if it is placed there.
// Fields the member owns (retention) and what exists there are the
// deliverer's concern.
func decide(fed *unstructured.Unstructured, targetKind schema.GroupVersionKind, namespaced bool, cluster string, placed bool) decision {
	if !placed {
		return decision{}
	}
	desired, err := render.Render(fed, targetKind, namespaced, cluster)
	if err != nil {
		return decision{placed: true, failure: ApplyOverridesFailed, err: err}
	}
	return decision{placed: true, desired: desired}
}
