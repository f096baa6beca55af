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

package tunnel

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/yamux"
	"k8s.io/client-go/rest"

	fedhubtunnel "github.com/fedhub/fedhub/pkg/tunnel"
)

// TestDial: the upgrade request goes over TLS checked with the hub's CA,
// with the agent's bearer token, to the attach subresource; fedhub's
// Accept answers it and a yamux session works on the connection.
func TestDial(t *testing.T) {
	sessions := make(chan *yamux.Session, 1)
	hub := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer agent-token" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if req.URL.Path != "/apis/agent.fedhub.io/v1alpha1/namespaces/kube-federation-system/clusterregistrations/member-2/attach" {
			http.Error(w, "not found: "+req.URL.Path, http.StatusNotFound)
			return
		}
		session, err := fedhubtunnel.Accept(w, req)
		if err == nil {
			sessions <- session
		}
	}))
	hub.EnableHTTP2 = true // the agent must still speak HTTP/1.1 to upgrade
	hub.StartTLS()
	defer hub.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hub.Certificate().Raw})
	config := &rest.Config{Host: hub.URL, BearerToken: "agent-token", TLSClientConfig: rest.TLSClientConfig{CAData: ca}}

	conn, err := Dial(context.Background(), config, "kube-federation-system", "member-2")
	if err != nil {
		t.Fatal(err)
	}
	client, err := yamux.Client(conn, fedhubtunnel.Config(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-sessions
	defer server.Close()
	go func() {
		stream, err := client.Accept()
		if err == nil {
			io.WriteString(stream, "from the agent")
			stream.Close()
		}
	}()
	stream, err := server.Open()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(stream); string(got) != "from the agent" {
		t.Fatalf("got %q", got)
	}

	// A refusal is a RefusedError with the status and body.
	config.BearerToken = "revoked"
	_, err = Dial(context.Background(), config, "kube-federation-system", "member-2")
	var refused *fedhubtunnel.RefusedError
	if !errors.As(err, &refused) || refused.StatusCode != http.StatusUnauthorized || refused.Body != "Unauthorized" {
		t.Fatalf("a refused upgrade: %v", err)
	}
	// A hub whose CA is not trusted is not talked to.
	config.BearerToken, config.CAData = "agent-token", nil
	if _, err := Dial(context.Background(), config, "kube-federation-system", "member-2"); err == nil {
		t.Fatal("dialled a hub with an unknown certificate")
	}
}
