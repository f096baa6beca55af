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

package framework

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fedhub/fedhub/pkg/certs"
	"github.com/fedhub/fedhub/pkg/join"
)

const (
	// fedhubServiceDNS is the name the host's aggregator verifies fedhub's serving certificate for.
	fedhubServiceDNS = "fedhub-apiserver." + join.DefaultFederationNamespace + ".svc"
	// fedhubAvailableTimeout bounds how long the APIServices may take to turn Available.
	fedhubAvailableTimeout = 3 * time.Minute
)

var apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Fedhub is a fedhub-apiserver process registered with a host cluster.
type Fedhub struct {
	*Process
	// URL is fedhub's own address; users reach it through the host.
	URL string
	// APIServices are the names of the APIService objects that register fedhub.
	APIServices []string
	// CA signed fedhub's serving certificate.
	CA *certs.CA

	name, binary, dir string
	args              []string
	restarts          int
}

// Restart stops fedhub-apiserver and starts it again with the same flags and
// data, and waits until it serves through the host again.
func (f *Fedhub) Restart(ctx context.Context, host *Cluster) error {
	f.Stop()
	f.restarts++
	process, err := StartProcess(fmt.Sprintf("%s-restart-%d", f.name, f.restarts), f.dir, f.binary, f.args...)
	if err != nil {
		return err
	}
	f.Process = process
	// The aggregator still reports the APIServices Available from before
	// the restart: wait for fedhub itself first.
	if err := f.waitReady(ctx, host); err != nil {
		return err
	}
	return f.waitAvailable(ctx, host)
}

// waitReady waits until fedhub's own /readyz answers ok (every post-start
// hook has run), asked directly with the host administrator's credentials
// (fedhub trusts the host's client CA).
func (f *Fedhub) waitReady(ctx context.Context, host *Cluster) error {
	client, err := kubernetes.NewForConfig(f.AdminConfig(host))
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, fedhubAvailableTimeout, true, func(ctx context.Context) (bool, error) {
		if exited, _ := f.Exited(); exited {
			return false, fmt.Errorf("exited")
		}
		var status int
		client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		return status == 200, nil
	})
	if err != nil {
		return f.Failure(fmt.Sprintf("/readyz did not answer ok: %v", err))
	}
	return nil
}

// AdminConfig reaches fedhub directly, not through the host's aggregator,
// with the host administrator's credentials (fedhub trusts the host's client CA).
func (f *Fedhub) AdminConfig(host *Cluster) *rest.Config {
	config := rest.CopyConfig(host.AdminConfig)
	config.Host, config.CAData = f.URL, f.CA.CertPEM
	return config
}

// Metric reads one series, named with its labels as /metrics prints them,
// from fedhub's /metrics; found is false when fedhub has no such series.
func (f *Fedhub) Metric(ctx context.Context, host *Cluster, series string) (value float64, found bool, err error) {
	client, err := kubernetes.NewForConfig(f.AdminConfig(host))
	if err != nil {
		return 0, false, err
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if text, ok := strings.CutPrefix(line, series+" "); ok {
			value, err := strconv.ParseFloat(text, 64)
			return value, err == nil, err
		}
	}
	return 0, false, nil
}

// StartFedhub runs fedhub-apiserver in aggregated mode against host, as the
// ServiceAccount the artifacts create, and registers it with the artifacts'
// APIService and RBAC objects. It returns once every APIService is Available
// and the host's discovery lists fedhub's groups and federated kinds.
func StartFedhub(ctx context.Context, binaries Binaries, host *Cluster, dir string, extraArgs ...string) (*Fedhub, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	ca, err := certs.NewCA("fedhub-serving-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.IssueServing(fedhubServiceDNS)
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "fedhub-serving.crt"), filepath.Join(dir, "fedhub-serving.key")
	if err := serving.WriteFiles(certFile, keyFile); err != nil {
		return nil, err
	}
	apiServices, err := registerFedhub(ctx, host, ca, port)
	if err != nil {
		return nil, fmt.Errorf("registering fedhub with the host: %w", err)
	}
	kubeconfig, err := fedhubIdentity(ctx, host, dir)
	if err != nil {
		return nil, err
	}
	args := flagArgs(map[string]string{
		"secure-port":               strconv.Itoa(port),
		"bind-address":              "127.0.0.1",
		"tls-cert-file":             certFile,
		"tls-private-key-file":      keyFile,
		"kubeconfig":                kubeconfig,
		"authentication-kubeconfig": kubeconfig,
		"authorization-kubeconfig":  kubeconfig,
		"embedded-etcd-dir":         filepath.Join(dir, "fedhub-etcd"),
		"cert-dir":                  filepath.Join(dir, "fedhub-certs"),
		// Everything the harness runs, chart repositories included, is on 127.0.0.1.
		"helm-allow-loopback-repositories": "true",
	})
	args = append(args, extraArgs...)
	process, err := StartProcess("fedhub-apiserver", dir, binaries.FedhubAPIServer, args...)
	if err != nil {
		return nil, err
	}
	fedhub := &Fedhub{Process: process, URL: "https://127.0.0.1:" + strconv.Itoa(port), APIServices: apiServices,
		CA: ca, name: "fedhub-apiserver", binary: binaries.FedhubAPIServer, args: args, dir: dir}
	// Ready means every post-start hook ran, among them the one that creates
	// the default FederatedTypeConfigs: join grants the member rights for the
	// types that exist when it runs, so it must not run before them.
	if err := fedhub.waitReady(ctx, host); err != nil {
		process.Stop()
		return nil, err
	}
	if err := fedhub.waitAvailable(ctx, host); err != nil {
		process.Stop()
		return nil, err
	}
	return fedhub, nil
}

// StartReplica starts another fedhub-apiserver named name with f's flags on a
// port of its own, sharing f's etcd (which must then not be the embedded
// one), and waits until it is ready. The host reaches fedhub through f only;
// tests reach the replica directly (AdminConfig).
func (f *Fedhub) StartReplica(ctx context.Context, host *Cluster, name string) (*Fedhub, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := make([]string, 0, len(f.args))
	for _, arg := range f.args {
		switch {
		case strings.HasPrefix(arg, "--secure-port="):
			arg = "--secure-port=" + strconv.Itoa(port)
		case strings.HasPrefix(arg, "--cert-dir="):
			arg = "--cert-dir=" + filepath.Join(f.dir, name+"-certs")
		}
		args = append(args, arg)
	}
	process, err := StartProcess(name, f.dir, f.binary, args...)
	if err != nil {
		return nil, err
	}
	replica := &Fedhub{Process: process, URL: "https://127.0.0.1:" + strconv.Itoa(port), APIServices: f.APIServices,
		CA: f.CA, name: name, binary: f.binary, args: args, dir: f.dir}
	if err := replica.waitReady(ctx, host); err != nil {
		process.Stop()
		return nil, err
	}
	return replica, nil
}

// registerFedhub applies every artifact but the workload that runs fedhub, with the Service
// turned into an ExternalName for localhost so that the aggregator reaches the
// local process, and returns the names of the APIServices.
func registerFedhub(ctx context.Context, host *Cluster, ca *certs.CA, port int) ([]string, error) {
	objects, err := RenderArtifacts(map[string]string{
		"FEDHUB_CA_BUNDLE": base64.StdEncoding.EncodeToString(ca.CertPEM),
		"FEDHUB_IMAGE":     "not-used-by-the-harness",
	})
	if err != nil {
		return nil, err
	}
	var apply []*unstructured.Unstructured
	var apiServices []string
	for _, object := range objects {
		switch object.GetKind() {
		case "Deployment", "StatefulSet":
			continue
		case "Service":
			if err := unstructured.SetNestedMap(object.Object, map[string]any{
				"type": "ExternalName", "externalName": "localhost",
			}, "spec"); err != nil {
				return nil, err
			}
		case "APIService":
			if err := unstructured.SetNestedField(object.Object, int64(port), "spec", "service", "port"); err != nil {
				return nil, err
			}
			apiServices = append(apiServices, object.GetName())
		}
		apply = append(apply, object)
	}
	return apiServices, ApplyObjects(ctx, host.AdminConfig, apply)
}

// fedhubIdentity writes a kubeconfig for the host with a token of the
// ServiceAccount the artifacts create, so fedhub runs with exactly the RBAC
// they grant.
func fedhubIdentity(ctx context.Context, host *Cluster, dir string) (string, error) {
	lifetime := int64(24 * 60 * 60)
	token, err := host.Client.CoreV1().ServiceAccounts(join.DefaultFederationNamespace).CreateToken(ctx, "fedhub-apiserver",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &lifetime}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for fedhub's ServiceAccount: %w", err)
	}
	path := filepath.Join(dir, "fedhub-apiserver.kubeconfig")
	config := &rest.Config{Host: host.URL, BearerToken: token.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: host.CA.CertPEM}}
	return path, WriteKubeconfig(path, "host", config)
}

// waitAvailable waits until the aggregator reports every APIService Available
// and the host's discovery lists fedhub's groups and every federated kind
// fedhub serves (make run prints its ready line only then).
func (f *Fedhub) waitAvailable(ctx context.Context, host *Cluster) error {
	client, err := dynamic.NewForConfig(host.AdminConfig)
	if err != nil {
		return err
	}
	var waitingFor string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, fedhubAvailableTimeout, true, func(ctx context.Context) (bool, error) {
		if exited, _ := f.Exited(); exited {
			return false, fmt.Errorf("exited")
		}
		for _, name := range f.APIServices {
			apiService, err := client.Resource(apiServiceResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil || !apiServiceAvailable(apiService) {
				waitingFor = "APIService " + name + " to be Available"
				return false, nil
			}
		}
		groups, err := host.Client.Discovery().ServerGroups()
		if err != nil {
			waitingFor = "host discovery: " + err.Error()
			return false, nil
		}
		for _, want := range []string{"core.kubefed.io", "scheduling.kubefed.io"} {
			if !hasGroup(groups, want) {
				waitingFor = "host discovery to list " + want
				return false, nil
			}
		}
		// The host answers /apis from its own cache; a group version's
		// resource list is proxied to fedhub, so it shows the proxy works.
		for _, groupVersion := range []string{"core.kubefed.io/v1beta1", "scheduling.kubefed.io/v1alpha1", "types.kubefed.io/v1beta1", "apps.fedhub.io/v1alpha1"} {
			if _, err := host.Client.Discovery().ServerResourcesForGroupVersion(groupVersion); err != nil {
				waitingFor = "the host to proxy " + groupVersion + ": " + err.Error()
				return false, nil
			}
		}
		// The host's aggregated discovery (what kubectl reads and caches for
		// hours) is a copy the aggregator refreshes; ready means it lists
		// every federated kind fedhub serves.
		if missing, err := f.missingFromHostDiscovery(ctx, host); err != nil || len(missing) > 0 {
			waitingFor = fmt.Sprintf("the host's discovery to list the federated kinds %v (%v)", missing, err)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return f.Failure(fmt.Sprintf("not serving through the host (waiting for %s): %v", waitingFor, err))
	}
	return nil
}

// missingFromHostDiscovery returns the federated resources fedhub itself
// lists that the host's discovery lacks, legacy or aggregated.
func (f *Fedhub) missingFromHostDiscovery(ctx context.Context, host *Cluster) ([]string, error) {
	direct, err := kubernetes.NewForConfig(f.AdminConfig(host))
	if err != nil {
		return nil, err
	}
	own, err := direct.Discovery().ServerResourcesForGroupVersion(FederatedTypesGroupVersion)
	if err != nil {
		return nil, err
	}
	legacy, aggregated, err := HostFederatedResources(ctx, host)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, resource := range own.APIResources {
		if !strings.Contains(resource.Name, "/") && (!legacy[resource.Name] || !aggregated[resource.Name]) {
			missing = append(missing, resource.Name)
		}
	}
	return missing, nil
}

// FederatedTypesGroupVersion is where fedhub serves the federated kinds.
const FederatedTypesGroupVersion = "types.kubefed.io/v1beta1"

// aggregatedDiscoveryAccept asks for the aggregated discovery document, as kubectl does.
const aggregatedDiscoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// HostFederatedResources returns the federated resources (no subresources)
// the host lists: legacy is /apis/types.kubefed.io/v1beta1, which the host
// proxies to fedhub; aggregated is the host's own aggregated /apis document.
func HostFederatedResources(ctx context.Context, host *Cluster) (legacy, aggregated map[string]bool, err error) {
	list, err := host.Client.Discovery().ServerResourcesForGroupVersion(FederatedTypesGroupVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("host discovery of %s: %w", FederatedTypesGroupVersion, err)
	}
	legacy = map[string]bool{}
	for _, resource := range list.APIResources {
		if !strings.Contains(resource.Name, "/") {
			legacy[resource.Name] = true
		}
	}
	body, err := host.Client.Discovery().RESTClient().Get().AbsPath("/apis").SetHeader("Accept", aggregatedDiscoveryAccept).DoRaw(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("host aggregated discovery: %w", err)
	}
	var groups apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(body, &groups); err != nil {
		return nil, nil, fmt.Errorf("host aggregated discovery: %w", err)
	}
	if groups.Kind != "APIGroupDiscoveryList" {
		return nil, nil, fmt.Errorf("host aggregated discovery answered with kind %q", groups.Kind)
	}
	aggregated = map[string]bool{}
	group, version, _ := strings.Cut(FederatedTypesGroupVersion, "/")
	for _, g := range groups.Items {
		for _, v := range g.Versions {
			if g.Name != group || v.Version != version {
				continue
			}
			for _, resource := range v.Resources {
				aggregated[resource.Resource] = true
			}
		}
	}
	return legacy, aggregated, nil
}

func apiServiceAvailable(apiService *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(apiService.Object, "status", "conditions")
	for _, c := range conditions {
		condition, _ := c.(map[string]any)
		if condition["type"] == "Available" && condition["status"] == "True" {
			return true
		}
	}
	return false
}

func hasGroup(groups *metav1.APIGroupList, name string) bool {
	for _, group := range groups.Groups {
		if group.Name == name {
			return true
		}
	}
	return false
}
