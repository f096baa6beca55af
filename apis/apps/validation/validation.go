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

// Package validation checks apps.fedhub.io objects before they are stored,
// so that a FederatedHelmRelease fails at admission, with field paths, rather
// than later in every member cluster.
package validation

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/fedhub/fedhub/apis/apps"
	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// MaxReleaseNameLength is the longest release name Helm accepts: it becomes
// part of the names of the objects charts render.
const MaxReleaseNameLength = 53

// chartName is what Helm accepts as a chart's name; ".." is refused apart.
var chartName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateFederatedHelmRelease validates a FederatedHelmRelease on create.
func ValidateFederatedHelmRelease(obj *apps.FederatedHelmRelease) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&obj.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateFederatedHelmReleaseUpdate validates a FederatedHelmRelease on update.
func ValidateFederatedHelmReleaseUpdate(newObj, oldObj *apps.FederatedHelmRelease) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateSpec(&newObj.Spec, field.NewPath("spec"))...)
	// The members' releases are found by this name: renaming would leave them behind.
	return append(allErrs, apivalidation.ValidateImmutableField(newObj.Spec.ReleaseName, ReleaseNameOf(oldObj), field.NewPath("spec", "releaseName"))...)
}

// ReleaseNameOf is the release's name in the members: spec.releaseName, or
// metadata.name for an object stored without one.
func ReleaseNameOf(obj *apps.FederatedHelmRelease) string {
	if obj.Spec.ReleaseName != "" {
		return obj.Spec.ReleaseName
	}
	return obj.Name
}

// ValidateFederatedHelmReleaseStatusUpdate validates a write to a FederatedHelmRelease's status.
func ValidateFederatedHelmReleaseStatusUpdate(newObj, oldObj *apps.FederatedHelmRelease) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta, field.NewPath("metadata"))
	statusPath := field.NewPath("status")
	allErrs = append(allErrs, metav1validation.ValidateConditions(newObj.Status.Conditions, statusPath.Child("conditions"))...)
	seen := map[string]bool{}
	for i, cluster := range newObj.Status.Clusters {
		namePath := statusPath.Child("clusters").Index(i).Child("name")
		if cluster.Name == "" {
			allErrs = append(allErrs, field.Required(namePath, "a KubeFedCluster name"))
		} else if seen[cluster.Name] {
			allErrs = append(allErrs, field.Duplicate(namePath, cluster.Name))
		}
		seen[cluster.Name] = true
	}
	return allErrs
}

func validateSpec(spec *apps.FederatedHelmReleaseSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateChart(&spec.Chart, fldPath.Child("chart"))
	allErrs = append(allErrs, validateReleaseName(spec.ReleaseName, fldPath.Child("releaseName"))...)
	allErrs = append(allErrs, validateValues(spec.Values, fldPath.Child("values"))...)
	allErrs = append(allErrs, validatePlacement(&spec.Placement, fldPath.Child("placement"))...)
	overridesPath := fldPath.Child("overrides")
	seen := map[string]bool{}
	for i, override := range spec.Overrides {
		path := overridesPath.Index(i)
		namePath := path.Child("clusterName")
		switch {
		case override.ClusterName == "":
			allErrs = append(allErrs, field.Required(namePath, "a KubeFedCluster name"))
		case seen[override.ClusterName]:
			allErrs = append(allErrs, field.Duplicate(namePath, override.ClusterName))
		}
		seen[override.ClusterName] = true
		allErrs = append(allErrs, validateValues(override.Values, path.Child("values"))...)
	}
	return allErrs
}

func validateChart(chart *apps.HelmChartSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	repoPath := fldPath.Child("repository")
	if chart.Repository == "" {
		allErrs = append(allErrs, field.Required(repoPath, "an http(s):// chart repository URL or an oci:// reference"))
	} else if msg := repositoryError(chart.Repository); msg != "" {
		allErrs = append(allErrs, field.Invalid(repoPath, chart.Repository, msg))
	}
	namePath := fldPath.Child("name")
	switch {
	case chart.Name == "":
		allErrs = append(allErrs, field.Required(namePath, "the chart's name in the repository"))
	case strings.Contains(chart.Name, ".."):
		allErrs = append(allErrs, field.Invalid(namePath, chart.Name, `must not contain ".."`))
	case !chartName.MatchString(chart.Name):
		allErrs = append(allErrs, field.Invalid(namePath, chart.Name,
			"must consist of letters, digits, '.', '_' and '-', and begin with a letter or digit"))
	}
	if chart.Version != "" && !isVersionOrConstraint(chart.Version) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("version"), chart.Version,
			`must be a semantic version (e.g. "1.2.3") or a version constraint (e.g. "~1.2.0", ">=1.0.0 <2.0.0")`))
	}
	return allErrs
}

// repositoryError says what is wrong with a chart repository's URL, or "".
func repositoryError(repository string) string {
	u, err := url.Parse(repository)
	if err != nil {
		return "must be a URL: " + err.Error()
	}
	// file:// and the like are refused: fedhub must never read its own
	// filesystem, or anything but the network, on a user's behalf.
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "oci":
	default:
		return fmt.Sprintf("must be an http://, https:// or oci:// URL, not %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return "must name a host"
	}
	return ""
}

func isVersionOrConstraint(version string) bool {
	if _, err := semver.NewVersion(version); err == nil {
		return true
	}
	_, err := semver.NewConstraint(version)
	return err == nil
}

// validateReleaseName checks the release name, defaulted from
// metadata.name before validation.
func validateReleaseName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "defaults to metadata.name")}
	}
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(name) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg+" (when unset, metadata.name is the release name)"))
	}
	if len(name) > MaxReleaseNameLength {
		allErrs = append(allErrs, field.TooLong(fldPath, name, MaxReleaseNameLength))
	}
	return allErrs
}

// validateValues accepts no values or a JSON object, as a values file is.
func validateValues(values *typesv1beta1.JSON, fldPath *field.Path) field.ErrorList {
	if values == nil || len(values.Raw) == 0 {
		return nil
	}
	var object map[string]any
	if err := json.Unmarshal(values.Raw, &object); err != nil || object == nil {
		return field.ErrorList{field.Invalid(fldPath, string(values.Raw), "must be a JSON object of chart values")}
	}
	return nil
}

func validatePlacement(placement *typesv1beta1.Placement, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := map[string]bool{}
	for i, cluster := range placement.Clusters {
		namePath := fldPath.Child("clusters").Index(i).Child("name")
		switch {
		case cluster.Name == "":
			allErrs = append(allErrs, field.Required(namePath, "a KubeFedCluster name"))
		case seen[cluster.Name]:
			allErrs = append(allErrs, field.Duplicate(namePath, cluster.Name))
		default:
			for _, msg := range utilvalidation.IsDNS1123Subdomain(cluster.Name) {
				allErrs = append(allErrs, field.Invalid(namePath, cluster.Name, msg))
			}
		}
		seen[cluster.Name] = true
	}
	if placement.ClusterSelector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(placement.ClusterSelector,
			metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("clusterSelector"))...)
	}
	return allErrs
}
