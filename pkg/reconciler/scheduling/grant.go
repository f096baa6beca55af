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

package scheduling

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// withinAuthorGrant keeps the candidates that the workload's last author may
// propagate to, as admission recorded in AuthorClustersAnnotation, and
// returns the others as withheld. The plan is written with fedhub's
// identity; without this, a preference written by someone allowed on every
// cluster would carry a workload where its own author may not send it. The
// preference's own clusters were checked against its author at admission.
// A workload without the annotation was not written through admission
// (standalone fedhub, whose only users are administrators, or a workload
// stored before fedhub recorded it) and is not narrowed.
func withinAuthorGrant(candidates []string, workload *unstructured.Unstructured) (kept, withheld []string) {
	grant, recorded := workload.GetAnnotations()[typesv1beta1.AuthorClustersAnnotation]
	if !recorded || grant == "*" {
		return candidates, nil
	}
	granted := strings.Split(grant, ",")
	for _, cluster := range candidates {
		if slices.Contains(granted, cluster) {
			kept = append(kept, cluster)
		} else {
			withheld = append(withheld, cluster)
		}
	}
	return kept, withheld
}

// withheldMessage says which ready clusters the plan left out for the workload author's grant.
func withheldMessage(withheld []string) string {
	if len(withheld) == 0 {
		return ""
	}
	return fmt.Sprintf("; not planned on %s: the workload's last author may not propagate there", strings.Join(withheld, ", "))
}
