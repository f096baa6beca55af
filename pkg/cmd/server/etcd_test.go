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

package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// Any local user can reach the embedded etcd's ports; only fedhub may use them.
func TestEmbeddedEtcdAdmitsOnlyItsClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	etcd, err := StartEmbeddedEtcd(dir)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			etcd.Stop()
		}
	}()
	if !strings.HasPrefix(etcd.ClientURL, "https://127.0.0.1:") {
		t.Fatalf("ClientURL = %s, want https on loopback", etcd.ClientURL)
	}
	noClientCert := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: etcd.ClientTLS.RootCAs}
	plainURL := "http://" + strings.TrimPrefix(etcd.ClientURL, "https://")

	cases := []struct {
		name     string
		endpoint string
		tls      *tls.Config
		wantOK   bool
	}{
		{name: "fedhub's client certificate", endpoint: etcd.ClientURL, tls: etcd.ClientTLS, wantOK: true},
		{name: "plain http", endpoint: plainURL},
		{name: "TLS without a client certificate", endpoint: etcd.ClientURL, tls: noClientCert},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, err := clientv3.New(clientv3.Config{Endpoints: []string{tc.endpoint}, TLS: tc.tls,
				DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
			if err != nil {
				t.Fatal(err) // dialling does not wait for the connection, so nothing fails here
			}
			defer func() { _ = client.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, putErr := client.Put(ctx, "/probe", tc.name)
			_, getErr := client.Get(ctx, "/registry", clientv3.WithPrefix())
			if tc.wantOK && (putErr != nil || getErr != nil) {
				t.Fatalf("put: %v, get: %v; want both to work", putErr, getErr)
			}
			if !tc.wantOK && (putErr == nil || getErr == nil) {
				t.Fatalf("put: %v, get: %v; want both refused", putErr, getErr)
			}
		})
	}

	// etcd's HTTP gateway and its peer port answer no one without the
	// certificate either; with it, the same request is answered.
	peer := etcd.etcd.Config().ListenPeerUrls[0]
	post := func(url string, config *tls.Config) (*http.Response, error) {
		client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
		return client.Post(url, "application/json", strings.NewReader(`{"key":"Lw==","range_end":"MA=="}`))
	}
	response, err := post(etcd.ClientURL+"/v3/kv/range", etcd.ClientTLS)
	if err != nil || response.StatusCode != http.StatusOK {
		t.Fatalf("the gateway with the client certificate: %v, %v; want 200 OK", response, err)
	}
	_ = response.Body.Close()
	for name, url := range map[string]string{
		"gateway over http":                      plainURL + "/v3/kv/range",
		"gateway without a client certificate":   etcd.ClientURL + "/v3/kv/range",
		"peer port over http":                    "http://" + peer.Host + "/members",
		"peer port without a client certificate": peer.String() + "/members",
	} {
		if response, err := post(url, noClientCert); err == nil {
			_ = response.Body.Close()
			t.Errorf("%s: %s answered %s, want the connection refused", name, url, response.Status)
		}
	}

	// The storage reads the client certificate from files only fedhub's user can read.
	var storage storagebackend.TransportConfig
	etcd.ApplyTo(&storage)
	if storage.ServerList[0] != etcd.ClientURL || storage.CertFile == "" || storage.KeyFile == "" || storage.TrustedCAFile == "" {
		t.Fatalf("storage transport %+v lacks the URL or the TLS files", storage)
	}
	modes := map[string]os.FileMode{filepath.Join(dir, embeddedEtcdTLSDir): 0o700 | os.ModeDir,
		storage.CertFile: 0o600, storage.KeyFile: 0o600, storage.TrustedCAFile: 0o600}
	for path, want := range modes {
		if info, err := os.Stat(path); err != nil || info.Mode() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, info, err, want)
		}
	}

	etcd.Stop()
	stopped = true
	if _, err := os.Stat(filepath.Join(dir, embeddedEtcdTLSDir)); !os.IsNotExist(err) {
		t.Errorf("the certificates outlive etcd: %v", err)
	}
}
