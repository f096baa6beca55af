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

// Package validation checks agent.fedhub.io objects before they are stored.
package validation

import (
	"encoding/json"
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/fedhub/fedhub/apis/agent"
	corevalidation "github.com/fedhub/fedhub/apis/core/validation"
)

const (
	// MinTokenExpirationSeconds is the shortest agent token lifetime, the host's TokenRequest minimum.
	MinTokenExpirationSeconds = 600
	// MaxTokenExpirationSeconds is the longest agent token lifetime: two days.
	MaxTokenExpirationSeconds = 2 * 24 * 60 * 60
	// DefaultTokenExpirationSeconds is the lifetime of a token asked for without one.
	DefaultTokenExpirationSeconds = 3600
)

// ValidateClusterRegistration validates a ClusterRegistration on create.
func ValidateClusterRegistration(obj *agent.ClusterRegistration) field.ErrorList {
	allErrs := validateObjectMeta(&obj.ObjectMeta)
	return append(allErrs, validateClusterRegistrationSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateClusterRegistrationUpdate validates a ClusterRegistration on update.
func ValidateClusterRegistrationUpdate(newObj, oldObj *agent.ClusterRegistration) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	return append(allErrs, validateClusterRegistrationSpec(&newObj.Spec, field.NewPath("spec"))...)
}

// ValidateClusterRegistrationStatusUpdate validates a write to a ClusterRegistration's status.
func ValidateClusterRegistrationStatusUpdate(newObj, oldObj *agent.ClusterRegistration) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	statusPath := field.NewPath("status")
	if newObj.Status.LeaseDurationSeconds < 0 {
		allErrs = append(allErrs, field.Invalid(statusPath.Child("leaseDurationSeconds"), newObj.Status.LeaseDurationSeconds, apivalidation.IsNegativeErrorMsg))
	}
	return allErrs
}

// ValidateAgentToken validates the body of a token request.
func ValidateAgentToken(obj *agent.AgentToken) field.ErrorList {
	var allErrs field.ErrorList
	if seconds := obj.Spec.ExpirationSeconds; seconds != nil {
		if *seconds < MinTokenExpirationSeconds || *seconds > MaxTokenExpirationSeconds {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "expirationSeconds"), *seconds,
				fmt.Sprintf("must be from %d (10 minutes) to %d (2 days)", MinTokenExpirationSeconds, MaxTokenExpirationSeconds)))
		}
	}
	return allErrs
}

// ValidateWork validates a Work on create.
func ValidateWork(obj *agent.Work) field.ErrorList {
	allErrs := validateObjectMeta(&obj.ObjectMeta)
	return append(allErrs, validateWorkSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateWorkUpdate validates a Work on update; its cluster cannot change.
func ValidateWorkUpdate(newObj, oldObj *agent.Work) field.ErrorList {
	specPath := field.NewPath("spec")
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	allErrs = append(allErrs, validateWorkSpec(&newObj.Spec, specPath)...)
	return append(allErrs, apivalidation.ValidateImmutableField(newObj.Spec.ClusterName, oldObj.Spec.ClusterName, specPath.Child("clusterName"))...)
}

// ValidateWorkStatusUpdate validates a write to a Work's status.
func ValidateWorkStatusUpdate(newObj, oldObj *agent.Work) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	return append(allErrs, validateWorkStatus(&newObj.Status, field.NewPath("status"))...)
}

// The namespace is the server's choice (the federation namespace); the name is
// the cluster's for a registration.
func validateObjectMeta(meta *metav1.ObjectMeta) field.ErrorList {
	return apivalidation.ValidateObjectMeta(meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta) field.ErrorList {
	return apivalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, field.NewPath("metadata"))
}

// The endpoint is informational (fedhub never dials a pull member), but it is
// copied to the KubeFedCluster, so it must read as a KubeFedCluster's does.
func validateClusterRegistrationSpec(spec *agent.ClusterRegistrationSpec, fldPath *field.Path) field.ErrorList {
	if spec.APIEndpoint == "" {
		return nil
	}
	if _, problem := corevalidation.ParseAPIEndpoint(spec.APIEndpoint); problem != "" {
		return field.ErrorList{field.Invalid(fldPath.Child("apiEndpoint"), spec.APIEndpoint, corevalidation.APIEndpointFormat+": "+problem)}
	}
	return nil
}

func validateWorkSpec(spec *agent.WorkSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateName(spec.ClusterName, utilvalidation.IsDNS1123Subdomain, fldPath.Child("clusterName"))
	sourcePath := fldPath.Child("source")
	allErrs = append(allErrs, validateRequired(spec.Source.APIVersion, sourcePath.Child("apiVersion"))...)
	allErrs = append(allErrs, validateRequired(spec.Source.Kind, sourcePath.Child("kind"))...)
	allErrs = append(allErrs, validateRequired(spec.Source.Resource, sourcePath.Child("resource"))...)
	allErrs = append(allErrs, validateRequired(spec.Source.Name, sourcePath.Child("name"))...)
	hasManifest := !isEmptyJSON(spec.Manifest)
	switch {
	case spec.HelmRelease != nil && hasManifest:
		return append(allErrs, field.Forbidden(fldPath.Child("helmRelease"), "exactly one of manifest and helmRelease may be set"))
	case spec.HelmRelease != nil:
		// The release's objects are named by its chart, not by the Work.
		return append(allErrs, validateWorkHelmRelease(spec.HelmRelease, fldPath.Child("helmRelease"))...)
	}
	resourcePath := fldPath.Child("resource")
	allErrs = append(allErrs, validateRequired(spec.Resource.Version, resourcePath.Child("version"))...)
	allErrs = append(allErrs, validateRequired(spec.Resource.Resource, resourcePath.Child("resource"))...)
	return append(allErrs, validateManifest(spec.Manifest, fldPath.Child("manifest"))...)
}

// maxReleaseName is Helm's limit on release names.
const maxReleaseName = 53

// validateWorkHelmRelease accepts a release the agent can install: a chart
// named exactly, Helm's release name rules, a namespace, values that are a
// JSON object and allowed kinds that name a kind.
func validateWorkHelmRelease(release *agent.WorkHelmRelease, fldPath *field.Path) field.ErrorList {
	chartPath := fldPath.Child("chart")
	allErrs := validateRequired(release.Chart.Repository, chartPath.Child("repository"))
	allErrs = append(allErrs, validateRequired(release.Chart.Name, chartPath.Child("name"))...)
	allErrs = append(allErrs, validateRequired(release.Chart.Version, chartPath.Child("version"))...)
	allErrs = append(allErrs, validateName(release.ReleaseName, utilvalidation.IsDNS1123Label, fldPath.Child("releaseName"))...)
	if len(release.ReleaseName) > maxReleaseName {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("releaseName"), "", maxReleaseName))
	}
	allErrs = append(allErrs, validateName(release.Namespace, utilvalidation.IsDNS1123Label, fldPath.Child("namespace"))...)
	if release.Values != nil {
		if _, err := jsonObject(*release.Values); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("values"), field.OmitValueType{}, "must be a JSON object: "+err.Error()))
		}
	}
	for i, kind := range release.Allowed {
		allErrs = append(allErrs, validateRequired(kind.Kind, fldPath.Child("allowed").Index(i).Child("kind"))...)
	}
	return allErrs
}

// isEmptyJSON says raw holds nothing (absent or null).
func isEmptyJSON(raw runtime.RawExtension) bool {
	return raw.Object == nil && (len(raw.Raw) == 0 || string(raw.Raw) == "null")
}

// validateManifest accepts an object the agent can apply: JSON with
// apiVersion, kind and metadata.name.
func validateManifest(manifest runtime.RawExtension, fldPath *field.Path) field.ErrorList {
	object, err := jsonObject(manifest)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must be a JSON object: "+err.Error())}
	case object == nil:
		return field.ErrorList{field.Required(fldPath, "the member object to apply, or else a helmRelease")}
	}
	var allErrs field.ErrorList
	for _, key := range []string{"apiVersion", "kind"} {
		if value, _ := object[key].(string); value == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child(key), "must be a non-empty string"))
		}
	}
	metadata, _ := object["metadata"].(map[string]any)
	if name, _ := metadata["name"].(string); name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("metadata", "name"), "must be a non-empty string"))
	}
	return allErrs
}

func validateWorkStatus(status *agent.WorkStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if status.ObservedGeneration < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("observedGeneration"), status.ObservedGeneration, apivalidation.IsNegativeErrorMsg))
	}
	if status.DriftCorrections < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("driftCorrections"), status.DriftCorrections, apivalidation.IsNegativeErrorMsg))
	}
	if status.Member != nil {
		if _, err := jsonObject(*status.Member); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("member"), field.OmitValueType{}, "must be a JSON object: "+err.Error()))
		}
	}
	if u := status.Unschedulable; u != nil {
		allErrs = append(allErrs, validateUnschedulablePods(u, fldPath.Child("unschedulable"))...)
	}
	if h := status.HelmRelease; h != nil {
		helmPath := fldPath.Child("helmRelease")
		if h.ObservedGeneration < 0 {
			allErrs = append(allErrs, field.Invalid(helmPath.Child("observedGeneration"), h.ObservedGeneration, apivalidation.IsNegativeErrorMsg))
		}
		if h.Revision < 0 {
			allErrs = append(allErrs, field.Invalid(helmPath.Child("revision"), h.Revision, apivalidation.IsNegativeErrorMsg))
		}
	}
	return allErrs
}

// maxSchedulerMessage bounds the scheduler's message an agent reports: it is
// copied into a ReplicaSchedulingPreference's status.
const maxSchedulerMessage = 1024

func validateUnschedulablePods(u *agent.UnschedulablePods, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if u.Pods < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("pods"), u.Pods, apivalidation.IsNegativeErrorMsg))
	}
	if u.Replicas < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("replicas"), u.Replicas, apivalidation.IsNegativeErrorMsg))
	} else if u.Replicas > u.Pods {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("replicas"), u.Replicas, "must not exceed pods"))
	}
	if len(u.Message) > maxSchedulerMessage {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("message"), "", maxSchedulerMessage))
	}
	return allErrs
}

// jsonObject reads raw as a JSON object; nil when it holds nothing.
func jsonObject(raw runtime.RawExtension) (map[string]any, error) {
	data := raw.Raw
	if len(data) == 0 && raw.Object != nil {
		var err error
		if data, err = json.Marshal(raw.Object); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var value any
	if err := json.Unmarshal(data, &value); err != nil {
		return nil, err
	}
	object, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("got %s", jsonKind(value))
	}
	return object, nil
}

func jsonKind(value any) string {
	switch value.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return fmt.Sprintf("%T", value)
	}
}

func validateRequired(value string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

func validateName(value string, check func(string) []string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	for _, msg := range check(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}
