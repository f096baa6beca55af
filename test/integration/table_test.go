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

package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	typesv1beta1 "github.com/fedhub/fedhub/apis/types/v1beta1"
)

// TestWorkloadTableColumnsAreStable asks for the table of a workload kind 20
// times, as kubectl get does: every answer has the same columns and one cell
// per column (issue 19: each call added another READY column).
func TestWorkloadTableColumnsAreStable(t *testing.T) {
	server := startFedhub(t, t.TempDir())
	defer server.stop()
	waitForDiscovery(t, server, "federateddeployments", true)

	manifest, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "kubefed", "federateddeployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var deployment typesv1beta1.FederatedDeployment
	if err := yaml.UnmarshalStrict(manifest, &deployment); err != nil {
		t.Fatal(err)
	}
	if _, err := server.client.TypesV1beta1().FederatedDeployments("default").Create(context.Background(), &deployment, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	client, err := rest.HTTPClientFor(server.config)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"/apis/types.kubefed.io/v1beta1/namespaces/default/federateddeployments",
		"/apis/types.kubefed.io/v1beta1/namespaces/default/federateddeployments/" + deployment.Name,
	}
	want := []string{"Name", "Ready", "Age", "Propagation", "Reason", "Clusters"}
	for call := 1; call <= 20; call++ {
		for _, path := range paths {
			request, err := http.NewRequest(http.MethodGet, server.config.Host+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			request.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
			response, err := client.Do(request)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(response.Body)
			_ = response.Body.Close()
			if response.StatusCode != http.StatusOK {
				t.Fatalf("call %d, GET %s: %d: %s", call, path, response.StatusCode, body)
			}
			var table metav1.Table
			if err := json.Unmarshal(body, &table); err != nil {
				t.Fatalf("call %d, GET %s: %v: %s", call, path, err, body)
			}
			var columns []string
			for _, c := range table.ColumnDefinitions {
				columns = append(columns, c.Name)
			}
			if !slices.Equal(columns, want) {
				t.Fatalf("call %d, GET %s: columns %q, want %q", call, path, columns, want)
			}
			if len(table.Rows) != 1 {
				t.Fatalf("call %d, GET %s: %d rows, want 1", call, path, len(table.Rows))
			}
			cells := table.Rows[0].Cells
			if len(cells) != len(want) || cells[0] != deployment.Name || cells[1] != "0/0" {
				t.Fatalf("call %d, GET %s: cells %v, want %d beginning with %s, 0/0", call, path, cells, len(want), deployment.Name)
			}
		}
	}
}
