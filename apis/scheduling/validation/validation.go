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

// Package validation checks scheduling.kubefed.io objects before they are
// stored, so that the scheduler never has to plan with impossible bounds.
package validation

import (
	"fmt"
	"maps"
	"slices"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/fedhub/fedhub/apis/scheduling"
)

// allClusters is the cluster key that stands for every cluster not named.
const allClusters = "*"

// ValidateReplicaSchedulingPreference validates a ReplicaSchedulingPreference on create.
func ValidateReplicaSchedulingPreference(obj *scheduling.ReplicaSchedulingPreference) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&obj.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateReplicaSchedulingPreferenceUpdate validates a ReplicaSchedulingPreference on update.
func ValidateReplicaSchedulingPreferenceUpdate(newObj, oldObj *scheduling.ReplicaSchedulingPreference) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateSpec(&newObj.Spec, field.NewPath("spec"))...)
}

// ValidateReplicaSchedulingPreferenceStatusUpdate validates a write to a ReplicaSchedulingPreference's status.
func ValidateReplicaSchedulingPreferenceStatusUpdate(newObj, oldObj *scheduling.ReplicaSchedulingPreference) field.ErrorList {
	// The status has no fields yet, so only the metadata can be wrong.
	return apivalidation.ValidateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta, field.NewPath("metadata"))
}

func validateSpec(spec *scheduling.ReplicaSchedulingPreferenceSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	kindPath := fldPath.Child("targetKind")
	switch {
	case spec.TargetKind == "":
		allErrs = append(allErrs, field.Required(kindPath, ""))
	case !slices.Contains(scheduling.TargetKinds, spec.TargetKind):
		allErrs = append(allErrs, field.NotSupported(kindPath, spec.TargetKind, scheduling.TargetKinds))
	}
	allErrs = append(allErrs, apivalidation.ValidateNonnegativeField(int64(spec.TotalReplicas), fldPath.Child("totalReplicas"))...)
	clustersPath := fldPath.Child("clusters")
	// Sorted so that the same object always yields the same errors in the same order.
	for _, name := range slices.Sorted(maps.Keys(spec.Clusters)) {
		allErrs = append(allErrs, validateClusterPreferences(name, spec.Clusters[name], clustersPath.Key(name))...)
	}
	return allErrs
}

func validateClusterPreferences(name string, prefs scheduling.ClusterPreferences, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if name != allClusters {
		for _, msg := range utilvalidation.IsDNS1123Subdomain(name) {
			allErrs = append(allErrs, field.Invalid(fldPath, name, fmt.Sprintf("must be %q or a cluster name: %s", allClusters, msg)))
		}
	}
	allErrs = append(allErrs, apivalidation.ValidateNonnegativeField(prefs.MinReplicas, fldPath.Child("minReplicas"))...)
	allErrs = append(allErrs, apivalidation.ValidateNonnegativeField(prefs.Weight, fldPath.Child("weight"))...)
	if prefs.MaxReplicas == nil {
		return allErrs
	}
	maxPath := fldPath.Child("maxReplicas")
	maxReplicas := *prefs.MaxReplicas
	if maxReplicas < 0 {
		// A negative cap is wrong whatever the minimum; comparing it too would only repeat the error.
		return append(allErrs, apivalidation.ValidateNonnegativeField(maxReplicas, maxPath)...)
	}
	if maxReplicas < prefs.MinReplicas {
		detail := fmt.Sprintf("must be greater than or equal to minReplicas (%d)", prefs.MinReplicas)
		allErrs = append(allErrs, field.Invalid(maxPath, maxReplicas, detail))
	}
	return allErrs
}
