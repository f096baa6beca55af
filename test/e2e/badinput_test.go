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

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// badInputNamespace holds this test's federated objects and nothing else, so
// that listing it shows exactly what the bad requests left behind.
const badInputNamespace = "badinput-e2e"

const (
	federatedConfigMapsPath = "/apis/types.kubefed.io/v1beta1/namespaces/" + badInputNamespace + "/federatedconfigmaps"
	kubeFedClustersPath     = "/apis/core.kubefed.io/v1beta1/namespaces/" + federationNamespace + "/kubefedclusters"
	// requestBodyLimit is k8s.io/apiserver's default --max-request-bytes,
	// which fedhub keeps: 3 MiB.
	requestBodyLimit = 3 * 1024 * 1024
)

// statusWant is the Status a bad request must be answered with.
type statusWant struct {
	code   int
	reason metav1.StatusReason
	// field is the path of the offending field: the field of one of the
	// details' causes when the reason is Invalid, in the message otherwise.
	field string
	// message is more text the message must hold.
	message []string
}

// badInputCase is one bad request, POSTed through the host's aggregated path.
type badInputCase struct {
	name string
	// path is the collection the body is POSTed to, on the host.
	path string
	// strict asks for strict field validation, as kubectl --validate=strict does.
	strict      bool
	contentType string
	body        []byte
	want        statusWant
	// manifest, when set, names the file under testdata/badinput the body
	// was read from; it is also applied with kubectl apply --validate=strict
	// into namespace, and kubectl must fail printing every kubectlWant.
	manifest    string
	namespace   string
	kubectlWant []string
}

// TestMalformedInputThroughHost sends bad input through the host's
// aggregated path, as programs and kubectl users do, and checks that each
// request is refused with a Kubernetes Status that says what is wrong, with
// the status code a client can act on, and that none of it is stored.
func TestMalformedInputThroughHost(t *testing.T) {
	f := sharedFederation(t)
	host := hostKubeconfig()
	waitHostDiscovers(t, "federatedconfigmaps")
	mustKubectlAs(t, host, "create", "namespace", badInputNamespace)
	t.Cleanup(func() { _, _, _ = kubectlAs(host, "delete", "namespace", badInputNamespace, "--wait=false") })
	// A good object the same way the bad ones come: the refusals below are
	// about their badness, not about the path.
	mustKubectlAs(t, host, "apply", "--validate=strict", "-n", badInputNamespace, "-f", "testdata/badinput/baseline.yaml")

	config, err := clientcmd.BuildConfigFromFlags("", host)
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	// A raw client sends what kubectl would refuse to send.
	raw := clientset.CoreV1().RESTClient()
	ctx := context.Background()

	for _, c := range badInputCases(t) {
		t.Run(c.name, func(t *testing.T) {
			fail := t.Errorf
			code, body, err := postRaw(ctx, raw, c.path, c.contentType, c.body, c.strict)
			if code == 0 {
				fail("no HTTP answer, the connection failed: %v", err)
				return
			}
			checkStatus(t, fail, code, body, c.want)
			if c.manifest == "" {
				return
			}
			_, errOut, err := kubectlAs(host, "apply", "--validate=strict", "-n", c.namespace, "-f", filepath.Join("testdata", "badinput", c.manifest))
			if err == nil {
				fail("kubectl apply of %s succeeded", c.manifest)
				return
			}
			for _, want := range c.kubectlWant {
				if !strings.Contains(errOut, want) {
					fail("kubectl's refusal of %s does not say %q:\n%s", c.manifest, want, errOut)
				}
			}
		})
	}

	t.Run("an object of about 1 MiB is stored whole and deleted", func(t *testing.T) {
		const size = 1000 * 1000 // under a ConfigMap's own 1 MiB limit on data
		code, body, err := postRaw(ctx, raw, federatedConfigMapsPath, "application/json", federatedConfigMapOfSize("one-mebibyte", size), false)
		if code != 201 {
			t.Fatalf("creating it answered %d: %v", code, err)
		}
		if len(body) < size {
			t.Errorf("the create answered %d bytes, less than the object", len(body))
		}
		configMaps := f.Client.TypesV1beta1().FederatedConfigMaps(badInputNamespace)
		stored, err := configMaps.Get(ctx, "one-mebibyte", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(stored.Spec.Template.Data["blob"]); got != size {
			t.Errorf("read back a blob of %d bytes, want %d", got, size)
		}
		if err := configMaps.Delete(ctx, "one-mebibyte", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The propagation controller's finalizer goes first.
		eventually(t, "the big object is gone", func() (string, bool) {
			_, err := configMaps.Get(ctx, "one-mebibyte", metav1.GetOptions{})
			return fmt.Sprint(err), apierrors.IsNotFound(err)
		}, "")
	})

	t.Run("nothing bad was stored", func(t *testing.T) {
		listed, err := f.Client.TypesV1beta1().FederatedConfigMaps(badInputNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, item := range listed.Items {
			names = append(names, item.Name)
		}
		if want := []string{"baseline"}; !slices.Equal(names, want) {
			t.Errorf("the namespace holds the FederatedConfigMaps %v, want only %v", names, want)
		}
		secrets, err := f.Client.TypesV1beta1().FederatedSecrets(badInputNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(secrets.Items) != 0 {
			t.Errorf("the FederatedSecret sent to the FederatedConfigMap path was stored as %s", secrets.Items[0].Name)
		}
		_, err = f.Client.CoreV1beta1().KubeFedClusters(federationNamespace).Get(ctx, "endpoint-number", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("the KubeFedCluster with a numeric apiEndpoint: %v, want NotFound", err)
		}
	})
}

func badInputCases(t *testing.T) []badInputCase {
	t.Helper()
	manifest := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "badinput", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	const jsonType, yamlType = "application/json", "application/yaml"
	return []badInputCase{
		{
			name: "truncated JSON", path: federatedConfigMapsPath, contentType: jsonType, body: []byte(`{"apiVersion":`),
			want: statusWant{code: 400, reason: metav1.StatusReasonBadRequest, message: []string{"json parse error", "unexpected end of JSON input"}},
		},
		{
			name: "malformed YAML", path: federatedConfigMapsPath, contentType: yamlType,
			body: []byte("apiVersion: types.kubefed.io/v1beta1\nkind: FederatedConfigMap\nmetadata:\n  name: malformed-yaml\n   namespace: [oops\n"),
			want: statusWant{code: 400, reason: metav1.StatusReasonBadRequest, message: []string{"yaml: line 5", "mapping values are not allowed"}},
		},
		{
			name: "placement clusters as a string", path: federatedConfigMapsPath, contentType: yamlType,
			manifest: "placement-clusters-string.yaml", body: manifest("placement-clusters-string.yaml"), namespace: badInputNamespace,
			want:        statusWant{code: 422, reason: metav1.StatusReasonInvalid, field: "spec.placement.clusters", message: []string{"must be of type array"}},
			kubectlWant: []string{`The FederatedConfigMap "clusters-string" is invalid`, "spec.placement.clusters", "must be of type array"},
		},
		{
			name: "template data as a number", path: federatedConfigMapsPath, contentType: yamlType,
			manifest: "template-data-number.yaml", body: manifest("template-data-number.yaml"), namespace: badInputNamespace,
			want:        statusWant{code: 422, reason: metav1.StatusReasonInvalid, field: "spec.template.data", message: []string{"must be of type object"}},
			kubectlWant: []string{`The FederatedConfigMap "data-number" is invalid`, "spec.template.data", "must be of type object"},
		},
		{
			// Strict field validation prunes the operation's fields first, as
			// for a custom resource, so kubectl reports them as unknown.
			name: "clusterOverrides as an object", path: federatedConfigMapsPath, contentType: yamlType,
			manifest: "cluster-overrides-object.yaml", body: manifest("cluster-overrides-object.yaml"), namespace: badInputNamespace,
			want:        statusWant{code: 422, reason: metav1.StatusReasonInvalid, field: "spec.overrides[0].clusterOverrides", message: []string{"must be of type array"}},
			kubectlWant: []string{"BadRequest", `unknown field "spec.overrides[0].clusterOverrides.path"`},
		},
		{
			name: "an override path that is not a JSON pointer", path: federatedConfigMapsPath, contentType: yamlType,
			manifest: "override-path-relative.yaml", body: manifest("override-path-relative.yaml"), namespace: badInputNamespace,
			want: statusWant{code: 422, reason: metav1.StatusReasonInvalid, field: "spec.overrides[0].clusterOverrides[0].path",
				message: []string{"no-leading-slash", "must be a JSON pointer"}},
			kubectlWant: []string{`The FederatedConfigMap "relative-path" is invalid`, "spec.overrides[0].clusterOverrides[0].path"},
		},
		{
			// KubeFedClusters are typed: a wrong type fails decoding, before validation.
			name: "a KubeFedCluster with a numeric apiEndpoint", path: kubeFedClustersPath, contentType: yamlType,
			manifest: "kubefedcluster-endpoint-number.yaml", body: manifest("kubefedcluster-endpoint-number.yaml"), namespace: federationNamespace,
			want:        statusWant{code: 400, reason: metav1.StatusReasonBadRequest, field: "spec.apiEndpoint", message: []string{"cannot unmarshal number"}},
			kubectlWant: []string{"BadRequest", "spec.apiEndpoint"},
		},
		{
			name: "an unknown field with strict field validation", path: federatedConfigMapsPath, strict: true, contentType: yamlType,
			manifest: "unknown-field.yaml", body: manifest("unknown-field.yaml"), namespace: badInputNamespace,
			want:        statusWant{code: 400, reason: metav1.StatusReasonBadRequest, field: "spec.placement.clusterz", message: []string{"strict decoding error", "unknown field"}},
			kubectlWant: []string{"BadRequest", `unknown field "spec.placement.clusterz"`},
		},
		{
			name: "another group's apiVersion in the body", path: federatedConfigMapsPath, contentType: jsonType,
			body: objectJSON("core.kubefed.io/v1beta1", "FederatedConfigMap", "other-group"),
			want: statusWant{code: 400, reason: metav1.StatusReasonBadRequest,
				message: []string{"the API version in the data (core.kubefed.io/v1beta1) does not match the expected API version (types.kubefed.io/v1beta1)"}},
		},
		{
			name: "a ConfigMap sent to the FederatedConfigMap path", path: federatedConfigMapsPath, contentType: jsonType,
			body: objectJSON("v1", "ConfigMap", "plain-configmap"),
			want: statusWant{code: 400, reason: metav1.StatusReasonBadRequest, message: []string{"the API version in the data (v1) does not match"}},
		},
		{
			// Another kind of the same group version decodes; it is refused as
			// kube-apiserver refuses the wrong kind of a custom resource.
			name: "another federated kind in the body", path: federatedConfigMapsPath, contentType: jsonType,
			body: objectJSON("types.kubefed.io/v1beta1", "FederatedSecret", "other-kind"),
			want: statusWant{code: 422, reason: metav1.StatusReasonInvalid, field: "kind", message: []string{"must be FederatedConfigMap"}},
		},
		{
			name: "an object of 3.5 MiB, over the request body limit", path: federatedConfigMapsPath, contentType: jsonType,
			body: federatedConfigMapOfSize("over-body-limit", 3584*1024),
			want: statusWant{code: 413, reason: metav1.StatusReasonRequestEntityTooLarge, message: []string{fmt.Sprintf("limit is %d", requestBodyLimit)}},
		},
		{
			// An object under the body limit but over what storage takes is
			// the client's error, not the server's: etcd's default
			// --max-request-bytes is 1.5 MiB (generic storage answered 500).
			name: "an object of 1.75 MiB, over etcd's request limit", path: federatedConfigMapsPath, contentType: jsonType,
			body: federatedConfigMapOfSize("over-etcd-limit", 1792*1024),
			want: statusWant{code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		},
		{
			// As above: the etcd client's gRPC send limit is 2 MiB.
			name: "an object of 2.5 MiB, over the etcd client's message limit", path: federatedConfigMapsPath, contentType: jsonType,
			body: federatedConfigMapOfSize("over-grpc-limit", 2560*1024),
			want: statusWant{code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		},
	}
}

// postRaw POSTs body to path as is; code is 0 when no HTTP answer came.
func postRaw(ctx context.Context, client rest.Interface, path, contentType string, body []byte, strict bool) (code int, answer []byte, err error) {
	request := client.Post().AbsPath(path).SetHeader("Content-Type", contentType).Body(body)
	if strict {
		request = request.Param("fieldValidation", "Strict")
	}
	result := request.Do(ctx)
	result.StatusCode(&code)
	answer, err = result.Raw()
	return code, answer, err
}

// checkStatus checks that an answer is a failure Status as wanted.
func checkStatus(t *testing.T, fail func(string, ...any), code int, body []byte, want statusWant) {
	t.Helper()
	var status metav1.Status
	if err := json.Unmarshal(body, &status); err != nil || status.Kind != "Status" {
		fail("answered %d with no Status (%v): %.300q", code, err, body)
		return
	}
	t.Logf("answered %d, reason %q: %s", code, status.Reason, status.Message)
	if code != want.code || status.Code != int32(want.code) || status.Reason != want.reason {
		fail("answered %d, Status code %d reason %q; want %d %q", code, status.Code, status.Reason, want.code, want.reason)
	}
	if status.Status != metav1.StatusFailure || status.Message == "" {
		fail("the Status is %q with message %q, want a Failure that says why", status.Status, status.Message)
	}
	if want.field != "" {
		if want.reason == metav1.StatusReasonInvalid {
			if !slices.ContainsFunc(causesOf(status), func(c metav1.StatusCause) bool { return c.Field == want.field }) {
				fail("no cause names the field %s: %+v", want.field, status.Details)
			}
		} else if !strings.Contains(status.Message, want.field) {
			fail("the message does not name the field %s: %s", want.field, status.Message)
		}
	}
	for _, text := range want.message {
		if !strings.Contains(status.Message, text) {
			fail("the message does not say %q: %s", text, status.Message)
		}
	}
}

func causesOf(status metav1.Status) []metav1.StatusCause {
	if status.Details == nil {
		return nil
	}
	return status.Details.Causes
}

// objectJSON is a small federated object's JSON with the given apiVersion and kind.
func objectJSON(apiVersion, kind, name string) []byte {
	return mustJSON(map[string]any{
		"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name},
		"spec": map[string]any{"template": map[string]any{"data": map[string]any{"color": "blue"}}},
	})
}

// federatedConfigMapOfSize is a FederatedConfigMap, placed nowhere, whose
// template holds one value of size bytes.
func federatedConfigMapOfSize(name string, size int) []byte {
	return mustJSON(federatedConfigMapObject(name, map[string]any{"blob": strings.Repeat("x", size)},
		map[string]any{"clusters": []any{}}).Object)
}

func mustJSON(value any) []byte {
	data, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	return data
}
