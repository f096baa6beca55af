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
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fedhub/fedhub/test/framework"
)

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		address       string
		allowLoopback bool
		want          string // "" when allowed
	}{
		{"169.254.169.254:80", true, "link-local"},
		{"[fe80::1]:443", true, "link-local"},
		{"[::ffff:169.254.169.254]:80", true, "link-local"},
		{"0.0.0.0:80", true, "not a host's address"},
		{"[::]:80", true, "not a host's address"},
		{"224.0.0.1:80", true, "not a host's address"},
		{"127.0.0.1:8080", false, "loopback"},
		{"[::1]:8080", false, "loopback"},
		{"127.0.0.1:8080", true, ""},
		{"10.0.0.5:443", false, ""},
		{"203.0.113.7:443", false, ""},
		{"charts.example.com:443", false, ""}, // judged once it resolves
		{"169.254.169.254", true, "link-local"},
	}
	for _, tt := range tests {
		err := checkAddress(tt.address, tt.allowLoopback)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s (loopback allowed %v): %v, want it allowed", tt.address, tt.allowLoopback, err)
		case tt.want != "" && (!errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s (loopback allowed %v): %v, want ErrForbiddenAddress saying %q", tt.address, tt.allowLoopback, err, tt.want)
		}
	}
}

// TestFetchRefusesForbiddenAddresses: a tenant's repository URL cannot make
// the fetcher connect to a loopback address (unless allowed) or a link-local
// one, whether it names the address, a name that resolves to it, or
// redirects there; an OCI registry likewise.
func TestFetchRefusesForbiddenAddresses(t *testing.T) {
	repository, err := framework.StartChartRepository(t, webChart("1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.NotFound(w, r)
	}))
	defer counting.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redirecting.Close()
	port := func(u string) string {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return parsed.Port()
	}

	strict, loopback := NewFetcher(FetcherOptions{}), NewFetcher(FetcherOptions{AllowLoopback: true})
	tests := []struct {
		name       string
		fetcher    *Fetcher
		repository string
		want       string
	}{
		{"a loopback repository", strict, counting.URL, "127.0.0.1 is loopback"},
		{"a name that resolves to loopback", strict, "http://localhost:" + port(counting.URL), "is loopback"},
		{"a link-local repository", loopback, "http://169.254.169.254/charts", "169.254.169.254 is link-local"},
		{"a redirect to a link-local address", loopback, redirecting.URL, "169.254.169.254 is link-local"},
		{"an OCI registry on a link-local address", loopback, "oci://169.254.169.254/charts", "169.254.169.254 is link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fetcher.Fetch(context.Background(), ChartSource{Repository: tt.repository, Name: "web", Version: "1.0.0"})
			if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrForbiddenAddress saying %q", err, tt.want)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests from a fetcher that may not reach it", n)
	}

	// Allowed, the same repository serves its chart.
	chart, err := loopback.Fetch(context.Background(), ChartSource{Repository: repository.URL, Name: "web", Version: "1.0.0"})
	if err != nil || chart.Source.Version != "1.0.0" {
		t.Errorf("with loopback allowed: %v, %v", chart, err)
	}
}
