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
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	discoveryaggregated "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	"k8s.io/apiserver/pkg/endpoints/handlers"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// Config is what the handler needs from the server.
type Config struct {
	Scheme            *runtime.Scheme
	Codecs            runtime.NegotiatedSerializer
	RESTOptionsGetter generic.RESTOptionsGetter
	Authorizer        authorizer.Authorizer
	Admission         admission.Interface
	MaxRequestBody    int64
	MinRequestTimeout time.Duration
	// TargetSchemas knows the schemas of built-in target types.
	TargetSchemas *TargetSchemas
	// Discovery is the server's aggregated discovery, updated as types come and go.
	Discovery discoveryaggregated.ResourceManager
	// SyncFinalizer, when set, is added to every federated object created
	// while its type's propagation is enabled: the propagation controller
	// needs it anyway, and adding it with the create spares a write and a
	// round trip per object. Empty when no propagation controller runs.
	SyncFinalizer string
}

// Handler serves /apis/types.kubefed.io: discovery, and every federated kind
// an FTC enables. It is safe for concurrent use; SetTypeConfigs swaps the
// served kinds at once.
type Handler struct {
	config Config
	deps   dependencies
	// served maps a resource name to what serves it.
	served atomic.Pointer[map[string]*servingInfo]
	// built remembers, per FTC, the generation its serving info was built from.
	mu    sync.Mutex
	built map[types.UID]builtFrom
	// published is set once SetTypeConfigs has published a set of kinds.
	published bool

	admission admission.Interface
	// openAPI is set once the server serves OpenAPI; guarded by mu.
	openAPI        *OpenAPIServices
	groupHandler   http.Handler
	versionHandler http.Handler
}

type builtFrom struct {
	generation int64
	info       *servingInfo
}

// NewHandler returns a handler that serves no kind until SetTypeConfigs is called.
func NewHandler(config Config) *Handler {
	h := &Handler{
		config: config,
		deps: dependencies{scheme: config.Scheme, optsGetter: config.RESTOptionsGetter,
			authorizer: config.Authorizer, maxBody: config.MaxRequestBody, targets: config.TargetSchemas},
		built: map[types.UID]builtFrom{},
	}
	empty := map[string]*servingInfo{}
	h.served.Store(&empty)
	// Federated specs are checked after any configured admission, as the
	// strategy of a built-in kind validates after admission plugins.
	validators := []admission.Interface{specValidation{}}
	if config.Admission != nil {
		validators = append([]admission.Interface{config.Admission}, validators...)
	}
	h.admission = admission.NewChainHandler(validators...)
	h.groupHandler = discovery.NewAPIGroupHandler(config.Codecs, APIGroup())
	h.versionHandler = discovery.NewAPIVersionHandler(config.Codecs, GroupVersion, discovery.APIResourceListerFunc(h.apiResources))
	return h
}

// APIGroup is the discovery entry of types.kubefed.io.
func APIGroup() metav1.APIGroup {
	version := metav1.GroupVersionForDiscovery{GroupVersion: GroupVersion.String(), Version: GroupVersion.Version}
	return metav1.APIGroup{Name: GroupVersion.Group, Versions: []metav1.GroupVersionForDiscovery{version}, PreferredVersion: version}
}

// SetTypeConfigs makes the handler serve exactly the federated kinds the
// given FTCs name. Kinds whose FTC did not change keep their storage.
func (h *Handler) SetTypeConfigs(ftcs []*corev1beta1.FederatedTypeConfig) {
	h.mu.Lock()
	defer h.mu.Unlock()
	served := map[string]*servingInfo{}
	kept := map[types.UID]builtFrom{}
	for _, ftc := range ftcs {
		if ftc.Spec.FederatedType.Group != GroupVersion.Group {
			continue
		}
		previous, ok := h.built[ftc.UID]
		if !ok || previous.generation != ftc.Generation {
			info, err := newServingInfo(h.deps, ftc)
			if err != nil {
				klog.ErrorS(err, "Cannot serve federated type", "federatedTypeConfig", klog.KObj(ftc))
				continue
			}
			previous = builtFrom{generation: ftc.Generation, info: info}
		}
		if other, clash := served[previous.info.resource.Name]; clash {
			klog.ErrorS(fmt.Errorf("resource %s is already served for kind %s", other.resource.Name, other.resource.Kind),
				"Cannot serve federated type", "federatedTypeConfig", klog.KObj(ftc))
			continue
		}
		kept[ftc.UID] = previous
		served[previous.info.resource.Name] = previous.info
	}
	if h.published && sameServing(kept, h.built) {
		return // e.g. only a status changed: nothing to publish again
	}
	h.published = true
	// OpenAPI first: once discovery lists a kind, kubectl explain knows it.
	if h.openAPI != nil {
		if err := h.openAPI.publish(served); err != nil {
			klog.ErrorS(err, "Cannot publish the OpenAPI of the federated types")
		}
	}
	h.served.Store(&served)
	for uid, old := range h.built {
		if current, ok := kept[uid]; !ok || current.info != old.info {
			go tearDown(old.info)
		}
	}
	h.built = kept
	h.updateAggregatedDiscovery(served)
	klog.V(2).InfoS("Federated types served", "resources", len(served))
}

// teardownTimeout bounds how long a replaced storage waits for the requests
// it is serving; twice the server's default request timeout, as
// apiextensions-apiserver waits for a changed CRD's.
const teardownTimeout = 2 * time.Minute

// tearDown destroys a storage no longer served once the requests that were
// already using it are done: destroying it at once failed them with "the
// client connection is closing" (an FTC's propagation being switched was
// enough). Watches on it end, and their clients watch again.
func tearDown(old *servingInfo) {
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		old.inflight.Wait()
	}()
	select {
	case <-drained:
	case <-time.After(teardownTimeout):
		klog.InfoS("Requests still use a replaced storage; destroying it anyway", "resource", old.resource.Name)
	}
	old.storage.CustomResource.DestroyFunc()
}

// PublishOpenAPI makes every later change of the served kinds update the
// server's OpenAPI, starting with the kinds served now.
func (h *Handler) PublishOpenAPI(services *OpenAPIServices) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.openAPI = services
	return services.publish(*h.served.Load())
}

// Destroy releases every store; the server calls it after it stopped serving.
func (h *Handler) Destroy() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, built := range h.built {
		built.info.storage.CustomResource.DestroyFunc()
	}
	h.built = map[types.UID]builtFrom{}
	empty := map[string]*servingInfo{}
	h.served.Store(&empty)
}

// ObjectsOf lists up to limit objects of the federated kind the FTC with the
// given UID enables, as [namespace/]name; none when the kind is not served.
func (h *Handler) ObjectsOf(ctx context.Context, typeConfig types.UID, limit int64) ([]string, error) {
	h.mu.Lock()
	built, ok := h.built[typeConfig]
	h.mu.Unlock()
	if !ok {
		return nil, nil
	}
	// Across all namespaces, whatever namespace the asking request is in.
	listed, err := built.info.storage.CustomResource.List(apirequest.WithNamespace(ctx, ""), &metainternalversion.ListOptions{Limit: limit})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, item := range listed.(*unstructured.UnstructuredList).Items {
		name := item.GetName()
		if item.GetNamespace() != "" {
			name = item.GetNamespace() + "/" + name
		}
		names = append(names, name)
	}
	return names, nil
}

// apiResources lists the served kinds and their status subresources for discovery.
func (h *Handler) apiResources() []metav1.APIResource {
	served := *h.served.Load()
	var resources []metav1.APIResource
	for _, info := range served {
		status := info.resource
		status.Name += "/status"
		status.Verbs = metav1.Verbs{"get", "patch", "update"}
		status.Categories = nil
		resources = append(resources, info.resource, status)
	}
	sort.Slice(resources, func(i, j int) bool { return resources[i].Name < resources[j].Name })
	return resources
}

func (h *Handler) updateAggregatedDiscovery(served map[string]*servingInfo) {
	if h.config.Discovery == nil {
		return
	}
	if len(served) == 0 {
		h.config.Discovery.RemoveGroupVersion(metav1.GroupVersion{Group: GroupVersion.Group, Version: GroupVersion.Version})
		return
	}
	var resources []apidiscoveryv2.APIResourceDiscovery
	for _, info := range served {
		scope := apidiscoveryv2.ScopeCluster
		if info.resource.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		kind := &metav1.GroupVersionKind{Group: GroupVersion.Group, Version: GroupVersion.Version, Kind: info.resource.Kind}
		resources = append(resources, apidiscoveryv2.APIResourceDiscovery{
			Resource: info.resource.Name, SingularResource: info.resource.SingularName, ResponseKind: kind,
			Scope: scope, Verbs: info.resource.Verbs, Categories: info.resource.Categories,
			Subresources: []apidiscoveryv2.APISubresourceDiscovery{{
				Subresource: "status", ResponseKind: kind, Verbs: []string{"get", "patch", "update"},
			}},
		})
	}
	sort.Slice(resources, func(i, j int) bool { return resources[i].Resource < resources[j].Resource })
	h.config.Discovery.AddGroupVersion(GroupVersion.Group, apidiscoveryv2.APIVersionDiscovery{
		Version: GroupVersion.Version, Resources: resources, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
	})
}

// ServeHTTP serves discovery and the federated kinds' REST endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	requestInfo, ok := apirequest.RequestInfoFrom(req.Context())
	if !ok {
		h.fail(w, req, apierrors.NewInternalError(fmt.Errorf("no RequestInfo in the request context")))
		return
	}
	if !requestInfo.IsResourceRequest {
		switch len(strings.Split(strings.Trim(requestInfo.Path, "/"), "/")) {
		case 2:
			h.groupHandler.ServeHTTP(w, req)
		case 3:
			h.versionHandler.ServeHTTP(w, req)
		default:
			http.NotFound(w, req)
		}
		return
	}
	info, ok := (*h.served.Load())[requestInfo.Resource]
	notFound := apierrors.NewNotFound(GroupVersion.WithResource(requestInfo.Resource).GroupResource(), requestInfo.Name)
	if !ok || requestInfo.APIVersion != GroupVersion.Version {
		h.fail(w, req, notFound)
		return
	}
	if requestInfo.Verb != "watch" {
		if err := info.inflight.Add(1); err != nil {
			// The storage was replaced after it was looked up and is being
			// torn down: serve the request with the one that replaced it.
			h.ServeHTTP(w, req)
			return
		}
		defer info.inflight.Done()
	}
	// A cluster-scoped kind has no namespaced paths; a namespaced kind is
	// reached across namespaces only to list and watch.
	namespacedRequest := requestInfo.Namespace != ""
	if namespacedRequest && !info.resource.Namespaced ||
		info.resource.Namespaced && !namespacedRequest && requestInfo.Verb != "list" && requestInfo.Verb != "watch" && requestInfo.Verb != "deletecollection" {
		h.fail(w, req, notFound)
		return
	}
	if !info.templateKnown && (requestInfo.Verb == "create" || requestInfo.Verb == "update" || requestInfo.Verb == "patch") {
		warning.AddWarning(req.Context(), "", fmt.Sprintf("the schema of %s templates is unknown: the template is stored without validation", info.resource.Kind))
	}
	var handler http.HandlerFunc
	switch requestInfo.Subresource {
	case "":
		handler = h.resourceHandler(info, requestInfo.Verb)
	case "status":
		handler = h.statusHandler(info, requestInfo.Verb)
	}
	if handler == nil {
		h.fail(w, req, apierrors.NewMethodNotSupported(info.scope.Resource.GroupResource(), requestInfo.Verb))
		return
	}
	handler(w, req)
}

var patchTypes = []string{string(types.JSONPatchType), string(types.MergePatchType), string(types.ApplyYAMLPatchType)}

func (h *Handler) resourceHandler(info *servingInfo, verb string) http.HandlerFunc {
	storage, scope, admit := info.storage.CustomResource, info.scope, h.admission
	if verb == "create" || verb == "update" || verb == "patch" {
		admit = admission.NewChainHandler(admit, info.memberAccess)
	}
	switch verb {
	case "get":
		return handlers.GetResource(storage, scope)
	case "list":
		return handlers.ListResource(storage, storage, scope, false, h.config.MinRequestTimeout)
	case "watch":
		return handlers.ListResource(storage, storage, scope, true, h.config.MinRequestTimeout)
	case "create":
		if info.propagationOn && h.config.SyncFinalizer != "" {
			admit = admission.NewChainHandler(admit, addFinalizer{finalizer: h.config.SyncFinalizer})
		}
		return handlers.CreateResource(storage, scope, admit)
	case "update":
		return handlers.UpdateResource(storage, scope, admit)
	case "patch":
		return handlers.PatchResource(storage, scope, admit, patchTypes)
	case "delete":
		return handlers.DeleteResource(storage, true, scope, admit)
	case "deletecollection":
		return handlers.DeleteCollection(storage, true, scope, admit)
	}
	return nil
}

func (h *Handler) statusHandler(info *servingInfo, verb string) http.HandlerFunc {
	storage, scope, admit := info.storage.Status, info.status, h.admission
	switch verb {
	case "get":
		return handlers.GetResource(storage, scope)
	case "update":
		return handlers.UpdateResource(storage, scope, admit)
	case "patch":
		return handlers.PatchResource(storage, scope, admit, patchTypes)
	}
	return nil
}

func (h *Handler) fail(w http.ResponseWriter, req *http.Request, err error) {
	responsewriters.ErrorNegotiated(err, h.config.Codecs, GroupVersion, w, req)
}

// sameServing tells whether two sets of built kinds are the same, entry by entry.
func sameServing(a, b map[types.UID]builtFrom) bool {
	if len(a) != len(b) {
		return false
	}
	for uid, built := range a {
		if other, ok := b[uid]; !ok || other.info != built.info {
			return false
		}
	}
	return true
}

// addFinalizer is the admission step that gives a new federated object the
// propagation controller's finalizer.
type addFinalizer struct {
	finalizer string
}

var _ admission.MutationInterface = addFinalizer{}

func (addFinalizer) Handles(operation admission.Operation) bool { return operation == admission.Create }

func (f addFinalizer) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	obj, ok := a.GetObject().(*unstructured.Unstructured)
	if !ok || a.GetSubresource() != "" || slices.Contains(obj.GetFinalizers(), f.finalizer) {
		return nil
	}
	obj.SetFinalizers(append(obj.GetFinalizers(), f.finalizer))
	return nil
}
