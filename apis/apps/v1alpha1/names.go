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
	"encoding/json"

	authenticationv1 "k8s.io/api/authentication/v1"
)

const (
	// HelmReleaseCleanupFinalizer is on every FederatedHelmRelease from its
	// creation, while the helm release controller runs, until the controller
	// has uninstalled the release from the member clusters.
	HelmReleaseCleanupFinalizer = "apps.fedhub.io/helm-release-cleanup"

	// AuthorAnnotation holds, as JSON of an authentication/v1 UserInfo, the
	// user whose write last changed a FederatedHelmRelease: fedhub's
	// admission writes it on every user's write (a value the user sends is
	// replaced) and keeps it on fedhub's own writes. Every object the chart
	// renders is checked against the host's RBAC for this user.
	AuthorAnnotation = "fedhub.io/author"

	// ReleaseStatusDeployed is Helm's status of a release installed or
	// upgraded successfully.
	ReleaseStatusDeployed = "deployed"
)

// AuthorFromAnnotations decodes AuthorAnnotation. It reports false when the
// annotation is missing, is not a UserInfo, or names no user: such a release
// has no author whose rights its objects could be checked against.
func AuthorFromAnnotations(annotations map[string]string) (authenticationv1.UserInfo, bool) {
	value, found := annotations[AuthorAnnotation]
	if !found {
		return authenticationv1.UserInfo{}, false
	}
	var author authenticationv1.UserInfo
	if err := json.Unmarshal([]byte(value), &author); err != nil || author.Username == "" {
		return authenticationv1.UserInfo{}, false
	}
	return author, true
}

// AuthorAnnotationValue is the AuthorAnnotation value that records author.
func AuthorAnnotationValue(author authenticationv1.UserInfo) string {
	// A UserInfo of strings, string slices and maps of them always marshals.
	value, _ := json.Marshal(author)
	return string(value)
}
