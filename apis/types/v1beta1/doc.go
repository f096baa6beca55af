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

// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +groupName=types.kubefed.io
// +k8s:openapi-model-package=io.fedhub.types.v1beta1

// Package v1beta1 holds Go types for the standard federated kinds of
// types.kubefed.io, so that programs get a typed clientset. The server itself
// serves every federated kind from its FederatedTypeConfig, as unstructured
// objects checked against the target type's schema; these types follow the
// same wire form.
package v1beta1
