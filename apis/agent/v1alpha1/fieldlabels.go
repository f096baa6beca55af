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

package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// WorkClusterNameField is the field selector that picks the Works of one cluster.
const WorkClusterNameField = "spec.clusterName"

func init() {
	localSchemeBuilder.Register(addFieldLabelConversions)
}

// addFieldLabelConversions lets list and watch requests select Works by cluster.
func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("Work"), func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "metadata.namespace", WorkClusterNameField:
			return label, value, nil
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	})
}
