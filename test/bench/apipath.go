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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

const (
	// apiPathNamespace holds the API path scenario's objects, fedhub's and the CRD's.
	apiPathNamespace = "bench-apipath"
	// crdGroup serves the reference CRD: a group of its own, so that it
	// cannot clash with the host's APIService for types.kubefed.io.
	crdGroup = "types.bench.fedhub.io"
	// burstClients is how many creates the burst keeps in flight; the API
	// path scenario keeps as many, so that it measures the burst's creates.
	burstClients = 64
)

// apiPath measures the API path alone: the N burst objects created through
// the host (its aggregator proxying to fedhub) with the kind's propagation
// disabled, against the same N objects created on the same host as custom
// resources of a CRD with the schema fedhub serves for the kind, which is
// what KubeFed's users had. Both are timed from the first create to the
// last response, with the burst's concurrency, in the same run.
func (b *bench) apiPath(ctx context.Context, r *Results) error {
	host := b.f.Host
	if _, err := host.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: apiPathNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Every create goes to the host, as a user's kubectl would.
	throughHost := unthrottled(host.AdminConfig)

	// The CRD side runs first, while the host is as quiet as the ceiling
	// left it, and the fedhub side only once the CRD and its objects are
	// gone: whatever either side leaves behind can slow fedhub's side, never
	// the reference's, so the ratio errs against fedhub.
	elapsed, cpu, err := b.crdCreates(ctx, throughHost)
	if err != nil {
		return fmt.Errorf("CRD: %w", err)
	}
	r.APIPathCRDSeconds, r.APIPathCRDCPU = elapsed.Seconds(), cpu
	r.APIPathCRDObjectsPerSecond = float64(len(b.names)) / elapsed.Seconds()
	logf("  %d custom resources of a CRD created through the host in %s", len(b.names), elapsed.Round(time.Millisecond))

	if err := b.setPropagation(ctx, corev1beta1.PropagationDisabled, corev1beta1.ControllerStatusNotRunning); err != nil {
		return err
	}
	elapsed, cpu, err = b.timedCreates(ctx, throughHost.Resource(b.kind.federated).Namespace(apiPathNamespace), b.kind.federated.GroupVersion())
	if err != nil {
		return fmt.Errorf("fedhub: %w", err)
	}
	r.APIPathFedhubSeconds, r.APIPathFedhubCPU = elapsed.Seconds(), cpu
	r.APIPathFedhubObjectsPerSecond = float64(len(b.names)) / elapsed.Seconds()
	logf("  %d federated objects created through the host in %s", len(b.names), elapsed.Round(time.Millisecond))
	// Clean up, untimed: no finalizer was given while propagation was off,
	// so the objects go at once and nothing was propagated to remove.
	if err := b.deleteAll(ctx, b.fedhub.Resource(b.kind.federated).Namespace(apiPathNamespace)); err != nil {
		return err
	}
	return b.setPropagation(ctx, corev1beta1.PropagationEnabled, corev1beta1.ControllerStatusRunning)
}

// crdCreates installs the reference CRD on the host, times the creates of
// its N objects and deletes it again, with its objects, before returning.
func (b *bench) crdCreates(ctx context.Context, throughHost dynamic.Interface) (time.Duration, cpuUse, error) {
	props, err := b.servedSchema(ctx)
	if err != nil {
		return 0, cpuUse{}, err
	}
	crds, err := apiextensionsclient.NewForConfig(b.f.Host.AdminConfig)
	if err != nil {
		return 0, cpuUse{}, err
	}
	version := b.kind.federated.Version
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: b.kind.federated.Resource + "." + crdGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: crdGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: b.kind.federated.Resource, Singular: strings.ToLower(b.kind.federatedKind),
				Kind: b.kind.federatedKind, ListKind: b.kind.federatedKind + "List"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: props},
				// fedhub serves its kinds with apiextensions' custom resource
				// strategy and a status subresource: the CRD gets the same.
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
	definitions := crds.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := definitions.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return 0, cpuUse{}, err
	}
	err = waitUntil(ctx, deadline, "CRD "+crd.Name+" established", func() bool {
		current, err := definitions.Get(ctx, crd.Name, metav1.GetOptions{})
		return err == nil && crdCondition(current, apiextensionsv1.Established) && crdCondition(current, apiextensionsv1.NamesAccepted)
	})
	if err != nil {
		return 0, cpuUse{}, err
	}
	gv := schema.GroupVersion{Group: crdGroup, Version: version}
	customResources := throughHost.Resource(gv.WithResource(b.kind.federated.Resource)).Namespace(apiPathNamespace)
	elapsed, cpu, err := b.timedCreates(ctx, customResources, gv)
	if err != nil {
		return 0, cpuUse{}, err
	}
	// The objects go first, as fedhub's do: the CRD's finalizer would
	// delete them one at a time in the host's background. Then the wait
	// until the CRD is gone keeps its removal out of fedhub's side.
	if err := b.deleteAll(ctx, customResources); err != nil {
		return 0, cpuUse{}, err
	}
	if err := definitions.Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil {
		return 0, cpuUse{}, err
	}
	err = waitUntil(ctx, deadline, "CRD "+crd.Name+" deleted", func() bool {
		_, err := definitions.Get(ctx, crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	return elapsed, cpu, err
}

// timedCreates creates the burst's N objects, as federated objects of the
// kind in the group version gv, with the burst's concurrency; it returns
// the time from the first create to the last response and the CPU every
// process used meanwhile.
func (b *bench) timedCreates(ctx context.Context, resources dynamic.ResourceInterface, gv schema.GroupVersion) (time.Duration, cpuUse, error) {
	objects := make([]*unstructured.Unstructured, len(b.names))
	for i, name := range b.names {
		objects[i] = b.kind.federatedObject(apiPathNamespace, name, 1)
		objects[i].SetAPIVersion(gv.String())
	}
	// A list first, untimed, on either side: a CRD is Established before
	// every handler of the host serves it, and the first request sets up
	// the resource's storage and watch cache.
	if err := retry(ctx, func() error {
		_, err := resources.List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}); err != nil {
		return 0, cpuUse{}, err
	}
	cpuBefore := b.cpuNow()
	start := time.Now()
	err := parallel(len(objects), burstClients, func(i int) error {
		_, err := resources.Create(ctx, objects[i], metav1.CreateOptions{})
		return err
	})
	elapsed := time.Since(start)
	return elapsed, b.cpuNow().minus(cpuBefore), err
}

// deleteAll deletes the burst's N objects with the burst's concurrency: a
// delete collection deletes one object at a time, which would make the
// scenario's untimed cleanup longer than its measures.
func (b *bench) deleteAll(ctx context.Context, resources dynamic.ResourceInterface) error {
	return parallel(len(b.names), burstClients, func(i int) error {
		return ignoreNotFound(resources.Delete(ctx, b.names[i], metav1.DeleteOptions{}))
	})
}

// servedSchema is the schema fedhub serves for the federated kind, from its
// OpenAPI v3, as a CRD's openAPIV3Schema: what fedhub validates a create
// against, so that the CRD validates the same. Only the root's metadata
// differs: OpenAPI refers to ObjectMeta there, which a CRD may not (its
// server knows ObjectMeta), and fedhub's own schema says just "object".
func (b *bench) servedSchema(ctx context.Context) (*apiextensionsv1.JSONSchemaProps, error) {
	client, err := kubernetes.NewForConfig(b.f.Fedhub.AdminConfig(b.f.Host))
	if err != nil {
		return nil, err
	}
	gv := b.kind.federated.GroupVersion()
	path := "/openapi/v3/apis/" + gv.Group + "/" + gv.Version
	data, err := client.Discovery().RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	props, err := kindSchema(data, gv.WithKind(b.kind.federatedKind))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return props, nil
}

// kindSchema finds the schema of the kind gvk among an OpenAPI v3
// document's components and turns it into a CRD's openAPIV3Schema.
func kindSchema(document []byte, gvk schema.GroupVersionKind) (*apiextensionsv1.JSONSchemaProps, error) {
	var openAPI struct {
		Components struct {
			Schemas map[string]map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(document, &openAPI); err != nil {
		return nil, err
	}
	for _, model := range openAPI.Components.Schemas {
		var kinds []schema.GroupVersionKind
		if raw, ok := model["x-kubernetes-group-version-kind"]; !ok || json.Unmarshal(raw, &kinds) != nil || len(kinds) != 1 || kinds[0] != gvk {
			continue
		}
		// Says which kind the model is; a CRD says that in its names.
		delete(model, "x-kubernetes-group-version-kind")
		var properties map[string]json.RawMessage
		if err := json.Unmarshal(model["properties"], &properties); err != nil {
			return nil, fmt.Errorf("%s: properties: %w", gvk.Kind, err)
		}
		properties["metadata"] = json.RawMessage(`{"type":"object"}`)
		var err error
		if model["properties"], err = json.Marshal(properties); err != nil {
			return nil, err
		}
		data, err := json.Marshal(model)
		if err != nil {
			return nil, err
		}
		// A reference left would not be the schema fedhub validates with:
		// fedhub's template schemas are inlined.
		if bytes.Contains(data, []byte(`"$ref"`)) {
			return nil, fmt.Errorf("%s: the schema still refers to other models after its metadata", gvk.Kind)
		}
		// Strict, so that nothing of the served schema is silently lost.
		decoder := json.NewDecoder(bytes.NewReader(data))
		decoder.DisallowUnknownFields()
		props := &apiextensionsv1.JSONSchemaProps{}
		if err := decoder.Decode(props); err != nil {
			return nil, fmt.Errorf("%s: as a CRD's schema: %w", gvk.Kind, err)
		}
		return props, nil
	}
	return nil, fmt.Errorf("no schema of %s", gvk)
}

func crdCondition(crd *apiextensionsv1.CustomResourceDefinition, condition apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == condition {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}
