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

// Package validation checks core.kubefed.io objects before they are stored, so
// that the controllers only ever see settings KubeFed would have accepted.
package validation

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"

	"github.com/fedhub/fedhub/apis/core"
	"github.com/fedhub/fedhub/apis/core/v1beta1"
)

// leaderElectionJitterFactor mirrors client-go's leaderelection.JitterFactor:
// the elector refuses a renew deadline that a single jittered retry could overrun.
const leaderElectionJitterFactor = 1.2

// APIEndpointFormat is shown with every endpoint error so the user sees what is accepted.
const APIEndpointFormat = "must be an http:// or https:// URL, or a host, host:port, IP or IP:port (which means https)"

// PlainHTTPDetail says why an http:// endpoint is refused and how to opt out.
// KubeFed's own switch is the opt-out, so a KubeFed manifest that already
// gave up on TLS keeps meaning what it meant.
const PlainHTTPDetail = "http:// would send the member's bearer token unencrypted; use https://, " +
	`or set spec.disabledTLSValidations to ["*"] to give up TLS explicitly`

var (
	tlsValidations     = []core.TLSValidation{core.TLSAll, core.TLSSubjectName, core.TLSValidityPeriod}
	clusterModes       = []core.ClusterMode{core.ClusterModePush, core.ClusterModePull}
	conditionTypes     = []core.ClusterConditionType{core.ClusterReady, core.ClusterOffline, core.ClusterConfigMalformed}
	conditionStatuses  = []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}
	resourceScopes     = []core.ResourceScope{core.ClusterScoped, core.NamespaceScoped}
	resourceLocks      = []core.ResourceLockType{core.ConfigMapsResourceLock, core.EndpointsResourceLock}
	configurationModes = []core.ConfigurationMode{core.ConfigurationEnabled, core.ConfigurationDisabled}
	adoptionModes      = []core.ResourceAdoption{core.AdoptResourcesEnabled, core.AdoptResourcesDisabled}
	propagationModes   = []core.PropagationMode{core.PropagationEnabled, core.PropagationDisabled}
	statusCollections  = []core.StatusCollectionMode{core.StatusCollectionEnabled, core.StatusCollectionDisabled}
	controllerStatuses = []core.ControllerStatus{core.ControllerStatusRunning, core.ControllerStatusNotRunning}
	proxySchemes       = []string{"http", "https", "socks5"}
	// featureGateNames follows the defaults so a new gate is accepted as soon as it has a default.
	featureGateNames = slices.Sorted(maps.Keys(v1beta1.DefaultFeatureGates))
)

// ValidateKubeFedCluster validates a KubeFedCluster on create.
func ValidateKubeFedCluster(obj *core.KubeFedCluster) field.ErrorList {
	allErrs := validateObjectMeta(&obj.ObjectMeta)
	return append(allErrs, validateKubeFedClusterSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateKubeFedClusterUpdate validates a KubeFedCluster on update.
func ValidateKubeFedClusterUpdate(newObj, oldObj *core.KubeFedCluster) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	return append(allErrs, validateKubeFedClusterSpec(&newObj.Spec, field.NewPath("spec"))...)
}

// ValidateKubeFedClusterStatusUpdate validates a write to a KubeFedCluster's status.
func ValidateKubeFedClusterStatusUpdate(newObj, oldObj *core.KubeFedCluster) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	return append(allErrs, validateKubeFedClusterStatus(&newObj.Status, field.NewPath("status"))...)
}

// ValidateKubeFedConfig validates a defaulted KubeFedConfig on create.
func ValidateKubeFedConfig(obj *core.KubeFedConfig) field.ErrorList {
	allErrs := validateObjectMeta(&obj.ObjectMeta)
	return append(allErrs, validateKubeFedConfigSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateKubeFedConfigUpdate validates a defaulted KubeFedConfig on update.
func ValidateKubeFedConfigUpdate(newObj, oldObj *core.KubeFedConfig) field.ErrorList {
	specPath := field.NewPath("spec")
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	allErrs = append(allErrs, validateKubeFedConfigSpec(&newObj.Spec, specPath)...)
	// Controllers already watching every namespace, or just one, cannot switch at runtime.
	return append(allErrs, apivalidation.ValidateImmutableField(newObj.Spec.Scope, oldObj.Spec.Scope, specPath.Child("scope"))...)
}

// ValidateFederatedTypeConfig validates a defaulted FederatedTypeConfig on create.
func ValidateFederatedTypeConfig(obj *core.FederatedTypeConfig) field.ErrorList {
	allErrs := validateObjectMeta(&obj.ObjectMeta)
	allErrs = append(allErrs, validateFederatedTypeConfigName(obj)...)
	return append(allErrs, validateFederatedTypeConfigSpec(&obj.Spec, field.NewPath("spec"))...)
}

// ValidateFederatedTypeConfigUpdate validates a FederatedTypeConfig on update.
func ValidateFederatedTypeConfigUpdate(newObj, oldObj *core.FederatedTypeConfig) field.ErrorList {
	specPath := field.NewPath("spec")
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	allErrs = append(allErrs, validateFederatedTypeConfigSpec(&newObj.Spec, specPath)...)
	// Retargeting would orphan the objects already propagated for the old target,
	// and the federated objects stored under the old federated type.
	allErrs = append(allErrs, apivalidation.ValidateImmutableField(newObj.Spec.TargetType, oldObj.Spec.TargetType, specPath.Child("targetType"))...)
	return append(allErrs, apivalidation.ValidateImmutableField(newObj.Spec.FederatedType, oldObj.Spec.FederatedType, specPath.Child("federatedType"))...)
}

// ValidateFederatedTypeConfigStatusUpdate validates a write to a FederatedTypeConfig's status.
func ValidateFederatedTypeConfigStatusUpdate(newObj, oldObj *core.FederatedTypeConfig) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newObj.ObjectMeta, &oldObj.ObjectMeta)
	return append(allErrs, validateFederatedTypeConfigStatus(&newObj.Status, field.NewPath("status"))...)
}

// Every kind in this group is namespaced, as in KubeFed.
func validateObjectMeta(meta *metav1.ObjectMeta) field.ErrorList {
	return apivalidation.ValidateObjectMeta(meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta) field.ErrorList {
	return apivalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, field.NewPath("metadata"))
}

// PullClusterCredentialsDetail says why a pull-mode cluster names no Secret.
const PullClusterCredentialsDetail = "a pull-mode cluster holds no credentials: its agent connects to fedhub with an identity of its own"

func validateKubeFedClusterSpec(spec *core.KubeFedClusterSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Mode != "" {
		allErrs = append(allErrs, validateEnum(spec.Mode, clusterModes, fldPath.Child("mode"))...)
	}
	if spec.Mode == core.ClusterModePull {
		// fedhub never dials a pull member: the endpoint is information, and
		// the TLS settings are kept but unused.
		if spec.APIEndpoint != "" {
			if _, problem := ParseAPIEndpoint(spec.APIEndpoint); problem != "" {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("apiEndpoint"), spec.APIEndpoint, APIEndpointFormat+": "+problem))
			}
		}
		if spec.SecretRef.Name != "" {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("secretRef", "name"), PullClusterCredentialsDetail))
		}
	} else {
		allErrs = append(allErrs, validateAPIEndpoint(spec.APIEndpoint, slices.Contains(spec.DisabledTLSValidations, core.TLSAll), fldPath.Child("apiEndpoint"))...)
		allErrs = append(allErrs, validateName(spec.SecretRef.Name, utilvalidation.IsDNS1123Subdomain, fldPath.Child("secretRef", "name"))...)
	}
	allErrs = append(allErrs, validateDisabledTLSValidations(spec.DisabledTLSValidations, fldPath.Child("disabledTLSValidations"))...)
	allErrs = append(allErrs, validateProxyURL(spec.ProxyURL, fldPath.Child("proxyURL"))...)
	return append(allErrs, validateCABundle(spec.CABundle, fldPath.Child("caBundle"))...)
}

// validateAPIEndpoint accepts exactly what the member's rest client will be
// able to dial, and plain http only when TLS is given up explicitly.
func validateAPIEndpoint(endpoint string, tlsDisabled bool, fldPath *field.Path) field.ErrorList {
	if endpoint == "" {
		return field.ErrorList{field.Required(fldPath, APIEndpointFormat)}
	}
	u, problem := ParseAPIEndpoint(endpoint)
	if problem != "" {
		return field.ErrorList{field.Invalid(fldPath, endpoint, APIEndpointFormat+": "+problem)}
	}
	if u.Scheme == "http" && !tlsDisabled {
		return field.ErrorList{field.Invalid(fldPath, endpoint, PlainHTTPDetail)}
	}
	return nil
}

// ParseAPIEndpoint reads a KubeFedCluster's apiEndpoint as the member's rest
// client will dial it (a bare host means https); problem says why it cannot
// be dialled. Admission and the member clients share it, so an admitted
// cluster never fails later for another reason.
func ParseAPIEndpoint(endpoint string) (u *url.URL, problem string) {
	u, _, err := rest.DefaultServerURL(endpoint, "", schema.GroupVersion{}, true)
	switch {
	case err != nil:
		return nil, err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Sprintf("scheme %q is not supported", u.Scheme)
	case u.Hostname() == "":
		return nil, "host is empty"
	}
	if problem := portProblem(u.Host); problem != "" {
		return nil, problem
	}
	return u, ""
}

// portProblem explains why the port of host cannot be dialled; url.Parse only
// checks that a port is made of digits, so "host:99999" and "host:" get through it.
func portProblem(host string) string {
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		return "" // no port: the scheme's default applies
	}
	if n, err := strconv.Atoi(port); err != nil || len(utilvalidation.IsValidPortNum(n)) > 0 {
		return fmt.Sprintf("port %q must be a number from 1 to 65535", port)
	}
	return ""
}

func validateDisabledTLSValidations(list []core.TLSValidation, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, v := range list {
		allErrs = append(allErrs, validateEnum(v, tlsValidations, fldPath.Index(i))...)
	}
	allErrs = append(allErrs, validateUnique(list, func(v core.TLSValidation) core.TLSValidation { return v }, fldPath.Index)...)
	if len(list) > 1 && slices.Contains(list, core.TLSAll) {
		allErrs = append(allErrs, field.Invalid(fldPath, list, `"*" already disables every check and must be the only entry`))
	}
	return allErrs
}

func validateProxyURL(proxy string, fldPath *field.Path) field.ErrorList {
	if proxy == "" {
		return nil
	}
	const format = "must be an http://, https:// or socks5:// URL with a host"
	u, err := url.Parse(proxy)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(fldPath, proxy, format+": "+err.Error())}
	case !slices.Contains(proxySchemes, u.Scheme):
		return field.ErrorList{field.Invalid(fldPath, proxy, fmt.Sprintf("%s: scheme %q is not supported", format, u.Scheme))}
	case u.Host == "":
		return field.ErrorList{field.Invalid(fldPath, proxy, format+": host is empty")}
	}
	return nil
}

// validateCABundle catches a bundle that would make every connection to the member fail.
func validateCABundle(bundle []byte, fldPath *field.Path) field.ErrorList {
	if len(bundle) == 0 {
		return nil
	}
	if _, err := cert.ParseCertsPEM(bundle); err != nil {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must contain at least one PEM-encoded certificate: "+err.Error())}
	}
	return nil
}

func validateKubeFedClusterStatus(status *core.KubeFedClusterStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	conditionsPath := fldPath.Child("conditions")
	for i, condition := range status.Conditions {
		allErrs = append(allErrs, validateClusterCondition(condition, conditionsPath.Index(i))...)
	}
	typePath := func(i int) *field.Path { return conditionsPath.Index(i).Child("type") }
	return append(allErrs, validateUnique(status.Conditions, func(c core.ClusterCondition) core.ClusterConditionType { return c.Type }, typePath)...)
}

func validateClusterCondition(condition core.ClusterCondition, fldPath *field.Path) field.ErrorList {
	allErrs := validateRequiredEnum(condition.Type, conditionTypes, fldPath.Child("type"))
	allErrs = append(allErrs, validateRequiredEnum(condition.Status, conditionStatuses, fldPath.Child("status"))...)
	if condition.LastProbeTime.IsZero() {
		allErrs = append(allErrs, field.Required(fldPath.Child("lastProbeTime"), ""))
	}
	return allErrs
}

func validateKubeFedConfigSpec(spec *core.KubeFedConfigSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateRequiredEnum(spec.Scope, resourceScopes, fldPath.Child("scope"))
	allErrs = append(allErrs, validateSet(spec.ControllerDuration, fldPath.Child("controllerDuration"), validateControllerDuration)...)
	allErrs = append(allErrs, validateSet(spec.LeaderElect, fldPath.Child("leaderElect"), validateLeaderElect)...)
	allErrs = append(allErrs, validateFeatureGates(spec.FeatureGates, fldPath.Child("featureGates"))...)
	allErrs = append(allErrs, validateSet(spec.ClusterHealthCheck, fldPath.Child("clusterHealthCheck"), validateClusterHealthCheck)...)
	allErrs = append(allErrs, validateSet(spec.SyncController, fldPath.Child("syncController"), validateSyncController)...)
	return append(allErrs, validateSet(spec.StatusController, fldPath.Child("statusController"), validateStatusController)...)
}

func validateControllerDuration(cfg *core.DurationConfig, fldPath *field.Path) field.ErrorList {
	allErrs := validatePositiveDuration(cfg.AvailableDelay, fldPath.Child("availableDelay"))
	return append(allErrs, validatePositiveDuration(cfg.UnavailableDelay, fldPath.Child("unavailableDelay"))...)
}

// validateLeaderElect applies the checks client-go's leader elector makes at
// start-up, so that a bad setting is refused here rather than crash the controllers.
func validateLeaderElect(cfg *core.LeaderElectConfig, fldPath *field.Path) field.ErrorList {
	allErrs := validatePositiveDuration(cfg.LeaseDuration, fldPath.Child("leaseDuration"))
	allErrs = append(allErrs, validatePositiveDuration(cfg.RenewDeadline, fldPath.Child("renewDeadline"))...)
	allErrs = append(allErrs, validatePositiveDuration(cfg.RetryPeriod, fldPath.Child("retryPeriod"))...)
	// The orderings are checked only between valid durations, so one bad value is one error.
	if isPositive(cfg.LeaseDuration) && isPositive(cfg.RenewDeadline) && cfg.LeaseDuration.Duration <= cfg.RenewDeadline.Duration {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseDuration"), *cfg.LeaseDuration, "must be greater than renewDeadline"))
	}
	if isPositive(cfg.RenewDeadline) && isPositive(cfg.RetryPeriod) {
		jittered := time.Duration(leaderElectionJitterFactor * float64(cfg.RetryPeriod.Duration))
		if cfg.RenewDeadline.Duration <= jittered {
			detail := fmt.Sprintf("must be greater than retryPeriod*%v (%v)", leaderElectionJitterFactor, jittered)
			allErrs = append(allErrs, field.Invalid(fldPath.Child("renewDeadline"), *cfg.RenewDeadline, detail))
		}
	}
	return append(allErrs, validateSet(cfg.ResourceLock, fldPath.Child("resourceLock"), validateEnumPointer(resourceLocks))...)
}

func validateFeatureGates(gates []core.FeatureGatesConfig, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, gate := range gates {
		allErrs = append(allErrs, validateRequiredEnum(gate.Name, featureGateNames, fldPath.Index(i).Child("name"))...)
		allErrs = append(allErrs, validateRequiredEnum(gate.Configuration, configurationModes, fldPath.Index(i).Child("configuration"))...)
	}
	namePath := func(i int) *field.Path { return fldPath.Index(i).Child("name") }
	return append(allErrs, validateUnique(gates, func(g core.FeatureGatesConfig) string { return g.Name }, namePath)...)
}

func validateClusterHealthCheck(cfg *core.ClusterHealthCheckConfig, fldPath *field.Path) field.ErrorList {
	allErrs := validatePositiveDuration(cfg.Period, fldPath.Child("period"))
	allErrs = append(allErrs, validatePositiveDuration(cfg.Timeout, fldPath.Child("timeout"))...)
	allErrs = append(allErrs, validatePositiveInt(cfg.FailureThreshold, fldPath.Child("failureThreshold"))...)
	return append(allErrs, validatePositiveInt(cfg.SuccessThreshold, fldPath.Child("successThreshold"))...)
}

func validateSyncController(cfg *core.SyncControllerConfig, fldPath *field.Path) field.ErrorList {
	allErrs := validatePositiveInt(cfg.MaxConcurrentReconciles, fldPath.Child("maxConcurrentReconciles"))
	return append(allErrs, validateSet(cfg.AdoptResources, fldPath.Child("adoptResources"), validateEnumPointer(adoptionModes))...)
}

func validateStatusController(cfg *core.StatusControllerConfig, fldPath *field.Path) field.ErrorList {
	return validatePositiveInt(cfg.MaxConcurrentReconciles, fldPath.Child("maxConcurrentReconciles"))
}

// validateFederatedTypeConfigName holds KubeFed's naming rule, which lets the
// controllers find the config of a target type from its group and resource alone.
func validateFederatedTypeConfigName(obj *core.FederatedTypeConfig) field.ErrorList {
	target := obj.Spec.TargetType
	if target.PluralName == "" {
		return nil // reported as missing in spec; any expected name would be a guess
	}
	expected := target.PluralName
	if target.Group != "" {
		expected += "." + target.Group
	}
	if obj.Name == expected {
		return nil
	}
	detail := fmt.Sprintf("must be %q: <targetType.pluralName>.<targetType.group>, or the plural name alone for the core group", expected)
	return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), obj.Name, detail)}
}

func validateFederatedTypeConfigSpec(spec *core.FederatedTypeConfigSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateAPIResource(spec.TargetType, false, fldPath.Child("targetType"))
	allErrs = append(allErrs, validateAPIResource(spec.FederatedType, true, fldPath.Child("federatedType"))...)
	if spec.StatusType != nil {
		allErrs = append(allErrs, validateAPIResource(*spec.StatusType, true, fldPath.Child("statusType"))...)
	}
	allErrs = append(allErrs, validateRequiredEnum(spec.Propagation, propagationModes, fldPath.Child("propagation"))...)
	if spec.StatusCollection != nil {
		allErrs = append(allErrs, validateEnum(*spec.StatusCollection, statusCollections, fldPath.Child("statusCollection"))...)
	}
	return allErrs
}

// validateAPIResource checks one type reference. Federated and status types are
// served by fedhub under a group of their own, which is always a dotted domain.
func validateAPIResource(resource core.APIResource, federated bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	groupPath := fldPath.Child("group")
	switch {
	case resource.Group != "":
		allErrs = append(allErrs, validateFormat(resource.Group, utilvalidation.IsDNS1123Subdomain, groupPath)...)
		if federated && !strings.Contains(resource.Group, ".") {
			allErrs = append(allErrs, field.Invalid(groupPath, resource.Group, "must contain at least one dot"))
		}
	case federated:
		allErrs = append(allErrs, field.Required(groupPath, ""))
	}
	allErrs = append(allErrs, validateName(resource.Version, utilvalidation.IsDNS1035Label, fldPath.Child("version"))...)
	allErrs = append(allErrs, validateName(resource.Kind, isLowerCasedDNS1035Label, fldPath.Child("kind"))...)
	allErrs = append(allErrs, validateName(resource.PluralName, utilvalidation.IsDNS1035Label, fldPath.Child("pluralName"))...)
	return append(allErrs, validateRequiredEnum(resource.Scope, resourceScopes, fldPath.Child("scope"))...)
}

// isLowerCasedDNS1035Label accepts a CamelCase kind whose resource name can be derived from it.
func isLowerCasedDNS1035Label(kind string) []string {
	return utilvalidation.IsDNS1035Label(strings.ToLower(kind))
}

func validateFederatedTypeConfigStatus(status *core.FederatedTypeConfigStatus, fldPath *field.Path) field.ErrorList {
	allErrs := apivalidation.ValidateNonnegativeField(status.ObservedGeneration, fldPath.Child("observedGeneration"))
	if status.PropagationController != "" {
		allErrs = append(allErrs, validateEnum(status.PropagationController, controllerStatuses, fldPath.Child("propagationController"))...)
	}
	if status.StatusController != nil {
		allErrs = append(allErrs, validateEnum(*status.StatusController, controllerStatuses, fldPath.Child("statusController"))...)
	}
	return allErrs
}

// validateSet reports a nil section as missing and validates it otherwise.
// Defaulting fills every section, so a nil one means defaulting was bypassed.
func validateSet[T any](value *T, fldPath *field.Path, validate func(*T, *field.Path) field.ErrorList) field.ErrorList {
	if value == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return validate(value, fldPath)
}

// validateEnumPointer adapts validateEnum to validateSet.
func validateEnumPointer[T ~string](allowed []T) func(*T, *field.Path) field.ErrorList {
	return func(value *T, fldPath *field.Path) field.ErrorList {
		return validateEnum(*value, allowed, fldPath)
	}
}

func validateRequiredEnum[T ~string](value T, allowed []T, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return validateEnum(value, allowed, fldPath)
}

func validateEnum[T ~string](value T, allowed []T, fldPath *field.Path) field.ErrorList {
	if slices.Contains(allowed, value) {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, value, allowed)}
}

// validateUnique reports every entry whose key an earlier entry already has.
// Empty keys are skipped: they are reported as missing already.
func validateUnique[T any, K comparable](items []T, key func(T) K, keyPath func(int) *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	var zero K
	seen := make(map[K]bool, len(items))
	for i, item := range items {
		k := key(item)
		if k != zero && seen[k] {
			allErrs = append(allErrs, field.Duplicate(keyPath(i), k))
		}
		seen[k] = true
	}
	return allErrs
}

func validateName(value string, check func(string) []string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return validateFormat(value, check, fldPath)
}

func validateFormat(value string, check func(string) []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range check(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validatePositiveDuration(value *metav1.Duration, fldPath *field.Path) field.ErrorList {
	if value == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if value.Duration <= 0 {
		return field.ErrorList{field.Invalid(fldPath, *value, "must be greater than zero")}
	}
	return nil
}

func isPositive(value *metav1.Duration) bool {
	return value != nil && value.Duration > 0
}

func validatePositiveInt(value *int64, fldPath *field.Path) field.ErrorList {
	if value == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if *value <= 0 {
		return field.ErrorList{field.Invalid(fldPath, *value, "must be greater than zero")}
	}
	return nil
}
