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

package types

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	"k8s.io/apiserver/pkg/registry/rest"
)

// federatedColumns are what "kubectl get" prints for every federated kind:
// its age, the Propagation condition and, with -o wide, the placed clusters.
var federatedColumns = []apiextensionsv1.CustomResourceColumnDefinition{
	{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	{Name: "Propagation", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].status`,
		Description: "True when every placed cluster has the rendered object."},
	{Name: "Reason", Type: "string", JSONPath: `.status.conditions[?(@.type=="Propagation")].reason`,
		Description: "Why propagation is not complete, e.g. CheckClusters or NamespaceNotFederated."},
	{Name: "Clusters", Type: "string", JSONPath: ".spec.placement.clusters[*].name", Priority: 1,
		Description: "The clusters named by the placement."},
}

func newTableConvertor() (rest.TableConvertor, error) {
	return tableconvertor.New(federatedColumns)
}
