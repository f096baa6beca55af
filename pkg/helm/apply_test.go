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

package helm

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/fedhub/fedhub/test/framework"
)

// startMember starts a real kube-apiserver (no controllers: nothing needs
// to run, Helm does not wait) with the namespaces apps and other.
func startMember(t *testing.T) *framework.Cluster {
	t.Helper()
	binaries, err := framework.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	etcd, err := framework.StartEtcd(ctx, binaries.Etcd, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Stop)
	member, err := framework.StartCluster(ctx, binaries, framework.ClusterOptions{Name: "member", Dir: dir + "/member", EtcdURL: etcd.ClientURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Stop)
	for _, ns := range []string{"apps", "other"} {
		if _, err := member.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return member
}

const deploymentTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
`

// snoopTemplate writes what lookup returns into a ConfigMap: the Secrets of
// kube-system, one Secret of another namespace, the release namespace's ConfigMaps.
const snoopTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-snoop
data:
  kubeSystem: {{ lookup "v1" "Secret" "kube-system" "" | toJson | quote }}
  otherSecret: {{ lookup "v1" "Secret" "other" "token" | toJson | quote }}
  ownConfigMaps: {{ lookup "v1" "ConfigMap" .Release.Namespace "" | toJson | quote }}
  namespaces: {{ lookup "v1" "Namespace" "" "" | toJson | quote }}
`

// helmSecrets are the release records Helm's default storage keeps in namespace.
func helmSecrets(t *testing.T, client kubernetes.Interface, namespace, releaseName string) map[string]string {
	t.Helper()
	list, err := client.CoreV1().Secrets(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + releaseName})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, s := range list.Items {
		versions[s.Name] = s.ResourceVersion
	}
	return versions
}

// helmList lists releases as `helm list -n namespace` does: the CLI's
// configuration (kubeconfig flags, default Secret storage) and the List action.
func helmList(t *testing.T, member *framework.Cluster, namespace string) []*release.Release {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &member.AdminKubeconfig
	flags.Namespace = &namespace
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, namespace, ""); err != nil {
		t.Fatal(err)
	}
	releasers, err := action.NewList(cfg).Run()
	if err != nil {
		t.Fatal(err)
	}
	var releases []*release.Release
	for _, r := range releasers {
		rel, ok := r.(*release.Release)
		if !ok {
			t.Fatalf("unexpected release type %T", r)
		}
		releases = append(releases, rel)
	}
	return releases
}

func configMapData(t *testing.T, client kubernetes.Interface, namespace, name string) (map[string]string, string) {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ConfigMap %s/%s: %v", namespace, name, err)
	}
	return cm.Data, cm.ResourceVersion
}

func TestEngineAgainstMember(t *testing.T) {
	member := startMember(t)
	client := member.Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	web := webChart("1.0.0")
	web.Templates["deployment.yaml"] = deploymentTemplate
	web.Templates["hook.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
data:
  greeting: {{ .Values.greeting | quote }}
`
	repository, err := framework.StartChartRepository(t, web)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true})
	fetch := func(name, version string) *Chart {
		t.Helper()
		chart, err := fetcher.Fetch(ctx, ChartSource{Repository: repository.URL, Name: name, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return chart
	}
	engine := NewEngine(EngineOptions{OperationTimeout: time.Minute})
	config := member.AdminConfig

	// Install.
	spec := ReleaseSpec{Chart: fetch("web", "1.0.0"), ReleaseName: "web", Namespace: "apps", Values: map[string]any{"greeting": "hello"}}
	info, err := engine.Apply(ctx, config, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != 1 || info.Status != StatusDeployed || info.ChartVersion != "1.0.0" || info.AppVersion != "app-1.0.0" {
		t.Errorf("after install: %+v", info)
	}
	data, configVersion := configMapData(t, client, "apps", "web-config")
	if data["greeting"] != "hello" || data["version"] != "1.0.0" {
		t.Errorf("web-config %v", data)
	}
	if _, err := client.AppsV1().Deployments("apps").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("Deployment: %v", err)
	}
	if hook, _ := configMapData(t, client, "apps", "web-hook"); hook["greeting"] != "hello" {
		t.Errorf("hook ConfigMap %v", hook)
	}
	records := helmSecrets(t, client, "apps", "web")
	if len(records) != 1 {
		t.Errorf("release records %v, want one", records)
	}

	// Unchanged: no write, no revision.
	info, err = engine.Apply(ctx, config, ReleaseSpec{Chart: fetch("web", "1.0.0"), ReleaseName: "web", Namespace: "apps", Values: map[string]any{"greeting": "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != 1 {
		t.Errorf("unchanged apply made revision %d", info.Revision)
	}
	if again := helmSecrets(t, client, "apps", "web"); !equalMaps(again, records) {
		t.Errorf("release records changed from %v to %v", records, again)
	}
	if _, v := configMapData(t, client, "apps", "web-config"); v != configVersion {
		t.Errorf("web-config was written again (%s -> %s)", configVersion, v)
	}

	// New values: revision 2.
	info, err = engine.Apply(ctx, config, ReleaseSpec{Chart: fetch("web", "1.0.0"), ReleaseName: "web", Namespace: "apps", Values: map[string]any{"greeting": "bonjour"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != 2 || info.Status != StatusDeployed {
		t.Errorf("after new values: %+v", info)
	}
	if data, _ := configMapData(t, client, "apps", "web-config"); data["greeting"] != "bonjour" {
		t.Errorf("web-config %v", data)
	}

	// No values: the chart's default, not the last values (Helm reuses them unless reset).
	info, err = engine.Apply(ctx, config, ReleaseSpec{Chart: fetch("web", "1.0.0"), ReleaseName: "web", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := configMapData(t, client, "apps", "web-config"); info.Revision != 3 || data["greeting"] != "hello" {
		t.Errorf("after values removed: %+v, web-config %v", info, data)
	}

	// New chart version: upgrade.
	next := webChart("1.1.0")
	next.Templates["deployment.yaml"] = deploymentTemplate
	next.Templates["extra.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
`
	if err := repository.Add(next); err != nil {
		t.Fatal(err)
	}
	info, err = engine.Apply(ctx, config, ReleaseSpec{Chart: fetch("web", "1.1.0"), ReleaseName: "web", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != 4 || info.ChartVersion != "1.1.0" || info.AppVersion != "app-1.1.0" {
		t.Errorf("after the new chart version: %+v", info)
	}
	if data, _ := configMapData(t, client, "apps", "web-config"); data["version"] != "1.1.0" {
		t.Errorf("web-config %v", data)
	}
	configMapData(t, client, "apps", "web-extra")

	// Get and helm list report it.
	got, found, err := engine.Get(ctx, config, "apps", "web")
	if err != nil || !found || got != info {
		t.Errorf("Get: %+v %v %v, want %+v", got, found, err, info)
	}
	listed := helmList(t, member, "apps")
	if len(listed) != 1 || listed[0].Name != "web" || listed[0].Version != 4 || listed[0].Chart.Metadata.Version != "1.1.0" || string(listed[0].Info.Status) != StatusDeployed {
		t.Errorf("helm list: %v", listed)
	}
	if records := helmSecrets(t, client, "apps", "web"); len(records) != 4 {
		t.Errorf("release records %v, want 4 revisions", records)
	}

	// Uninstall removes objects and records; again is success.
	if err := engine.Uninstall(ctx, config, "apps", "web"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-config", "web-extra"} {
		if _, err := client.CoreV1().ConfigMaps("apps").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s after uninstall: %v", name, err)
		}
	}
	// As with the helm CLI, a hook's objects are not the release's: only
	// their delete policy removes them (this one's keeps the last).
	configMapData(t, client, "apps", "web-hook")
	if _, err := client.AppsV1().Deployments("apps").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after uninstall: %v", err)
	}
	if records := helmSecrets(t, client, "apps", "web"); len(records) != 0 {
		t.Errorf("release records after uninstall: %v", records)
	}
	if _, found, err := engine.Get(ctx, config, "apps", "web"); found || err != nil {
		t.Errorf("Get after uninstall: found %v, %v", found, err)
	}
	if err := engine.Uninstall(ctx, config, "apps", "web"); err != nil {
		t.Errorf("second uninstall: %v", err)
	}
	if listed := helmList(t, member, "apps"); len(listed) != 0 {
		t.Errorf("helm list after uninstall: %v", listed)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// objectsIn lists the names of ConfigMaps, Secrets and Jobs a test did not expect.
func namespaceObjects(t *testing.T, client kubernetes.Interface, namespace string) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	cms, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			names = append(names, "ConfigMap/"+cm.Name)
		}
	}
	secrets, err := client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Name != "token" {
			names = append(names, "Secret/"+s.Name)
		}
	}
	sort.Strings(names)
	return names
}

func TestEngineRefusesWithoutWriting(t *testing.T) {
	member := startMember(t)
	client := member.Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ok := func(name string) framework.ChartSpec {
		spec := webChart("1.0.0")
		spec.Name = name
		spec.CRDs = map[string]string{"widgets.yaml": crdManifest}
		return spec
	}
	failing := ok("failing")
	failing.Templates["fail.yaml"] = `{{ fail "refusing to render" }}`
	foreign := ok("foreign")
	foreign.Templates["foreign.yaml"] = `apiVersion: v1
kind: Secret
metadata:
  name: planted
  namespace: other
`
	foreignHook := ok("foreign-hook")
	foreignHook.Templates["hook.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: planted-hook
  namespace: kube-system
  annotations:
    helm.sh/hook: pre-install
`
	repository, err := framework.StartChartRepository(t, failing, foreign, foreignHook)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := NewFetcher(FetcherOptions{AllowLoopback: true})
	engine := NewEngine(EngineOptions{OperationTimeout: time.Minute})
	for _, tc := range []struct {
		chart string
		want  error
	}{
		{"failing", ErrRender},
		{"foreign", ErrForeignNamespace},
		{"foreign-hook", ErrForeignNamespace},
	} {
		chart, err := fetcher.Fetch(ctx, ChartSource{Repository: repository.URL, Name: tc.chart, Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = engine.Apply(ctx, member.AdminConfig, ReleaseSpec{Chart: chart, ReleaseName: tc.chart, Namespace: "apps"})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.chart, err, tc.want)
		}
		if _, found, err := engine.Get(ctx, member.AdminConfig, "apps", tc.chart); found || err != nil {
			t.Errorf("%s: a release record exists (%v)", tc.chart, err)
		}
	}
	// Nothing at all was written: no CRD (Helm creates crds/ first), no object, no record.
	if _, err := client.Discovery().ServerResourcesForGroupVersion("example.com/v1"); err == nil {
		t.Error("the charts' CRD was created")
	}
	for _, ns := range []string{"apps", "other", "kube-system"} {
		if names := namespaceObjects(t, client, ns); ns != "kube-system" && len(names) != 0 {
			t.Errorf("namespace %s holds %v", ns, names)
		}
	}
	if _, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "planted-hook", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("planted-hook: %v", err)
	}
}

// A chart that renders another namespace only on upgrade passes the install's
// check; the guarded client refuses the upgrade before anything is written.
func TestEngineRefusesNamespaceChosenAtUpgrade(t *testing.T) {
	member := startMember(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sly := webChart("1.0.0")
	sly.Name = "sly"
	sly.Templates["sly.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: sly
  namespace: {{ if gt .Release.Revision 1 }}other{{ else }}apps{{ end }}
`
	_, charts := fetchSpecs(t, sly)
	engine := NewEngine(EngineOptions{OperationTimeout: time.Minute})
	spec := ReleaseSpec{Chart: charts["sly"], ReleaseName: "sly", Namespace: "apps"}
	if _, err := engine.Apply(ctx, member.AdminConfig, spec); err != nil {
		t.Fatal(err)
	}
	spec.Values = map[string]any{"greeting": "changed"}
	_, err := engine.Apply(ctx, member.AdminConfig, spec)
	if !errors.Is(err, ErrForeignNamespace) {
		t.Errorf("got %v, want ErrForeignNamespace", err)
	}
	if _, err := member.Client.CoreV1().ConfigMaps("other").Get(ctx, "sly", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap other/sly: %v", err)
	}
	info, _, err := engine.Get(ctx, member.AdminConfig, "apps", "sly")
	if err != nil || info.Revision != 1 || info.Status != StatusDeployed {
		t.Errorf("release after the refused upgrade: %+v %v", info, err)
	}
}

// lookup must not read the member with fedhub's credentials: every lookup
// finds nothing although the objects exist and the credentials could read them.
func TestEngineLookupFindsNothing(t *testing.T) {
	member := startMember(t)
	client := member.Client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := client.CoreV1().Secrets("other").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "token"}, StringData: map[string]string{"token": "s3cr3t"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "admin-token"}, StringData: map[string]string{"token": "s3cr3t"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	snoop := webChart("1.0.0")
	snoop.Name = "snoop"
	snoop.Templates["snoop.yaml"] = snoopTemplate
	_, charts := fetchSpecs(t, snoop)
	engine := NewEngine(EngineOptions{OperationTimeout: time.Minute})
	spec := ReleaseSpec{Chart: charts["snoop"], ReleaseName: "snoop", Namespace: "apps"}
	check := func(when string) {
		t.Helper()
		data, _ := configMapData(t, client, "apps", "snoop-snoop")
		for _, key := range []string{"kubeSystem", "otherSecret", "ownConfigMaps", "namespaces"} {
			if data[key] != "{}" {
				t.Errorf("%s: lookup %s found %q", when, key, data[key])
			}
		}
		// The secret's value, plain and as the API returns it (base64).
		if all := strings.Join(mapValues(data), ""); strings.Contains(all, "s3cr3t") || strings.Contains(all, "czNjcjN0") {
			t.Errorf("%s: a secret leaked: %v", when, data)
		}
	}
	if _, err := engine.Apply(ctx, member.AdminConfig, spec); err != nil {
		t.Fatal(err)
	}
	check("install")
	spec.Values = map[string]any{"greeting": "again"}
	if info, err := engine.Apply(ctx, member.AdminConfig, spec); err != nil || info.Revision != 2 {
		t.Fatalf("upgrade: %+v %v", info, err)
	}
	check("upgrade")
}

func mapValues(m map[string]string) []string {
	values := make([]string, 0, len(m))
	for _, v := range m {
		values = append(values, v)
	}
	return values
}

// A failed revision is not retried with the same spec (no new failed
// revision per resync); a changed spec upgrades it.
func TestEngineFailedReleaseWaitsForAChange(t *testing.T) {
	member := startMember(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spec := webChart("1.0.0")
	spec.Name = "fragile"
	spec.Values = map[string]any{"key": "not a valid key!"}
	spec.Templates["fragile.yaml"] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: fragile
data:
  {{ .Values.key | quote }}: "value"
`
	_, charts := fetchSpecs(t, spec)
	engine := NewEngine(EngineOptions{OperationTimeout: time.Minute})
	desired := ReleaseSpec{Chart: charts["fragile"], ReleaseName: "fragile", Namespace: "apps"}
	info, err := engine.Apply(ctx, member.AdminConfig, desired)
	if err == nil || info.Revision != 1 || info.Status != "failed" {
		t.Fatalf("install of an invalid object: %+v %v", info, err)
	}
	info, err = engine.Apply(ctx, member.AdminConfig, desired)
	if err != nil || info.Revision != 1 || info.Status != "failed" {
		t.Errorf("apply of the same failed spec: %+v %v", info, err)
	}
	if records := helmSecrets(t, member.Client, "apps", "fragile"); len(records) != 1 {
		t.Errorf("release records %v, want the failed one only", records)
	}
	desired.Values = map[string]any{"key": "valid"}
	info, err = engine.Apply(ctx, member.AdminConfig, desired)
	if err != nil || info.Revision != 2 || info.Status != StatusDeployed {
		t.Errorf("apply of a fixed spec: %+v %v", info, err)
	}
	if data, _ := configMapData(t, member.Client, "apps", "fragile"); data["valid"] != "value" {
		t.Errorf("fragile %v", data)
	}
}
