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

package v1beta1

import corev1 "k8s.io/api/core/v1"

// IsReady tells whether the cluster's Ready condition is True: the health
// check reaches it. A cluster never checked is not ready.
func (c *KubeFedCluster) IsReady() bool {
	for _, condition := range c.Status.Conditions {
		if condition.Type == ClusterReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}

// IsPull tells whether the cluster is a pull-mode member, reached only
// through its agent.
func (c *KubeFedCluster) IsPull() bool {
	return c.Spec.Mode == ClusterModePull
}
