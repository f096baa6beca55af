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

package fedhubctl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

// fakeMember answers as a member cluster's kube-apiserver would behind the
// proxy: discovery of core/v1 pods and namespaces, and their lists as Tables.
type fakeMember struct {
	// pods are "namespace/name" pairs; namespaces are names.
	pods, namespaces []string
	// status, when set, is the answer to every request (e.g. 403 from the member's RBAC).
	status *metav1.Status
}

func (m *fakeMember) serveHTTP(w http.ResponseWriter, r *http.Request, path string) {
	if m.status != nil {
		writeJSON(w, int(m.status.Code), m.status)
		return
	}
	switch path {
	case "/api":
		writeJSON(w, 200, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	case "/apis":
		writeJSON(w, 200, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}})
	case "/api/v1":
		writeJSON(w, 200, &metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "v1",
			APIResources: []metav1.APIResource{
				{Name: "pods", SingularName: "pod", Namespaced: true, Kind: "Pod", ShortNames: []string{"po"}, Verbs: []string{"get", "list"}},
				{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}, Verbs: []string{"get", "list"}},
			},
		})
	case "/api/v1/namespaces":
		var rows []metav1.TableRow
		for _, name := range m.namespaces {
			rows = append(rows, tableRow("", name, name, "Active", "5m"))
		}
		writeTable(w, r, []string{"Name", "Status", "Age"}, rows)
	default:
		// /api/v1/pods or /api/v1/namespaces/NS/pods
		namespace := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v1/namespaces/"), "/pods")
		if path == "/api/v1/pods" {
			namespace = ""
		} else if !strings.HasSuffix(path, "/pods") || strings.Contains(namespace, "/") {
			writeJSON(w, 404, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404, Message: "the server could not find the requested resource"})
			return
		}
		var rows []metav1.TableRow
		for _, pod := range m.pods {
			ns, name, _ := strings.Cut(pod, "/")
			if namespace == "" || ns == namespace {
				rows = append(rows, tableRow(ns, name, name, "1/1", "Running", 0, "5m", "10.0.0.1"))
			}
		}
		writeTable(w, r, []string{"Name", "Ready", "Status", "Restarts", "Age", "IP"}, rows)
	}
}

// tableRow is a row with the object's metadata, as a server includes it.
func tableRow(namespace, name string, cells ...any) metav1.TableRow {
	object, _ := json.Marshal(&metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
	})
	return metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Raw: object}}
}

// writeTable answers a request for a Table; the last column is priority 1
// (shown by -o wide only). A request that did not ask for a Table is refused.
func writeTable(w http.ResponseWriter, r *http.Request, columns []string, rows []metav1.TableRow) {
	if !strings.Contains(r.Header.Get("Accept"), "as=Table") {
		writeJSON(w, 406, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: 406, Message: "not a table request"})
		return
	}
	table := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, Rows: rows}
	for i, column := range columns {
		definition := metav1.TableColumnDefinition{Name: column, Type: "string"}
		if i == len(columns)-1 && len(columns) > 3 {
			definition.Priority = 1
		}
		table.ColumnDefinitions = append(table.ColumnDefinitions, definition)
	}
	writeJSON(w, 200, table)
}

func writeJSON(w http.ResponseWriter, code int, object any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(object)
}

// fakeHost stands in for the host: it lists KubeFedClusters and serves each
// member's proxy URL from a fakeMember, and records every request it gets.
type fakeHost struct {
	members map[string]*fakeMember
	mu      sync.Mutex
	// requests are "Authorization header|path?query" of each request.
	requests []string
}

func (h *fakeHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.Header.Get("Authorization")+"|"+r.URL.Path+"?"+r.URL.RawQuery)
	h.mu.Unlock()
	clusters := "/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters"
	if r.URL.Path == clusters {
		list := &corev1beta1.KubeFedClusterList{TypeMeta: metav1.TypeMeta{Kind: "KubeFedClusterList", APIVersion: "core.kubefed.io/v1beta1"}}
		for name := range h.members {
			list.Items = append(list.Items, corev1beta1.KubeFedCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-federation-system"}})
		}
		writeJSON(w, 200, list)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, clusters+"/")
	name, path, _ := strings.Cut(rest, "/proxy")
	member := h.members[name]
	if !ok || member == nil {
		status := errors.NewNotFound(schema.GroupResource{Group: "core.kubefed.io", Resource: "kubefedclusters"}, name).ErrStatus
		status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		writeJSON(w, 404, &status)
		return
	}
	member.serveHTTP(w, r, path)
}

// runGet runs "fedhubctl get ARGS" against a fake host holding members, as
// the user of a token, and returns stdout, stderr, the error and the requests.
func runGet(t *testing.T, members map[string]*fakeMember, args ...string) (string, string, error, []string) {
	t.Helper()
	host := &fakeHost{members: members}
	server := httptest.NewTLSServer(host)
	defer server.Close()

	config := clientcmdapi.NewConfig()
	config.Clusters["host"] = &clientcmdapi.Cluster{Server: server.URL, InsecureSkipTLSVerify: true}
	config.AuthInfos["alice"] = &clientcmdapi.AuthInfo{Token: "alice-token"}
	config.Contexts["host"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "alice"}
	config.CurrentContext = "host"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := NewCommand("fedhubctl", &out, &errOut)
	cmd.SetArgs(append([]string{"--kubeconfig", path, "get"}, args...))
	err := cmd.ExecuteContext(context.Background())
	host.mu.Lock()
	defer host.mu.Unlock()
	return out.String(), errOut.String(), err, host.requests
}

func testMembers() map[string]*fakeMember {
	return map[string]*fakeMember{
		"member-2": {pods: []string{"default/web-b", "team-a/api"}, namespaces: []string{"default", "team-a"}},
		"member-1": {pods: []string{"default/web-a"}, namespaces: []string{"default"}},
	}
}

// fields splits the output into lines of whitespace-separated fields.
func fields(out string) [][]string {
	var lines [][]string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		lines = append(lines, strings.Fields(line))
	}
	return lines
}

func checkLines(t *testing.T, out string, want [][]string) {
	t.Helper()
	got := fields(out)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if strings.Join(got[i], " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d: got %q, want %q\n%s", i, got[i], want[i], out)
		}
	}
}

func TestGetAllClusters(t *testing.T) {
	out, errOut, err, requests := runGet(t, testMembers(), "ns", "--clusters", "all")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	checkLines(t, out, [][]string{
		{"CLUSTER", "NAME", "STATUS", "AGE"},
		{"member-1", "default", "Active", "5m"},
		{"member-2", "default", "Active", "5m"},
		{"member-2", "team-a", "Active", "5m"},
	})
	for _, request := range requests {
		if !strings.HasPrefix(request, "Bearer alice-token|") {
			t.Errorf("request without the host user's credentials: %s", request)
		}
	}
}

func TestGetNamespacedResource(t *testing.T) {
	// -A adds NAMESPACE; the priority-1 IP column is left out, as kubectl does.
	out, errOut, err, _ := runGet(t, testMembers(), "po", "-A", "--clusters", "member-2,member-1")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	checkLines(t, out, [][]string{
		{"CLUSTER", "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"},
		{"member-1", "default", "web-a", "1/1", "Running", "0", "5m"},
		{"member-2", "default", "web-b", "1/1", "Running", "0", "5m"},
		{"member-2", "team-a", "api", "1/1", "Running", "0", "5m"},
	})

	out, errOut, err, requests := runGet(t, testMembers(), "pods", "-n", "team-a", "--clusters", "member-1,member-2", "-l", "app=web")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	checkLines(t, out, [][]string{
		{"CLUSTER", "NAME", "READY", "STATUS", "RESTARTS", "AGE"},
		{"member-2", "api", "1/1", "Running", "0", "5m"},
	})
	want := "/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters/member-1/proxy/api/v1/namespaces/team-a/pods?"
	found := false
	for _, request := range requests {
		if _, pathAndQuery, _ := strings.Cut(request, "|"); strings.HasPrefix(pathAndQuery, want) {
			found = strings.Contains(pathAndQuery, "labelSelector=app%3Dweb")
		}
	}
	if !found {
		t.Errorf("no request for %s with the label selector: %v", want, requests)
	}

	_, errOut, err, _ = runGet(t, testMembers(), "pods", "-n", "team-b", "--clusters", "member-1")
	if err != nil || !strings.Contains(errOut, "No resources found in team-b namespace.") {
		t.Errorf("empty answer: err %v, stderr %q", err, errOut)
	}
}

func TestGetNamesFailedClusters(t *testing.T) {
	members := testMembers()
	members["member-3"] = &fakeMember{status: &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Reason: metav1.StatusReasonForbidden, Code: 403,
		Message: `namespaces is forbidden: User "fedhub:alice" cannot list resource "namespaces" in API group "" at the cluster scope`,
	}}
	out, errOut, err, _ := runGet(t, members, "namespaces", "--clusters", "all")
	if err == nil || !strings.Contains(err.Error(), "1 of 3 clusters failed: member-3") {
		t.Errorf("got error %v, want one naming member-3", err)
	}
	// The others still print.
	if lines := fields(out); len(lines) != 4 || lines[0][0] != "CLUSTER" {
		t.Errorf("want the table of member-1 and member-2, got:\n%s", out)
	}
	if !strings.Contains(errOut, `cluster member-3: Error from server (Forbidden): namespaces is forbidden: User "fedhub:alice"`) {
		t.Errorf("stderr does not name member-3 with the member's answer:\n%s", errOut)
	}

	// A cluster that is not a KubeFedCluster, and a type a member does not serve.
	_, errOut, err, _ = runGet(t, testMembers(), "ns", "--clusters", "member-1,member-9")
	if err == nil || !strings.Contains(errOut, "cluster member-9: ") || strings.Contains(errOut, "cluster member-1") {
		t.Errorf("member-9: err %v, stderr:\n%s", err, errOut)
	}
	_, errOut, err, _ = runGet(t, testMembers(), "gizmos", "--clusters", "member-1")
	if err == nil || !strings.Contains(errOut, `cluster member-1: the server doesn't have a resource type "gizmos"`) {
		t.Errorf("gizmos: err %v, stderr:\n%s", err, errOut)
	}
}
