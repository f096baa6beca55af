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
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
	"k8s.io/klog/v2"
)

// IsTunnelRequest tells whether req asks to upgrade to Protocol.
func IsTunnelRequest(req *http.Request) bool {
	return isUpgradeTo(req, Protocol)
}

// Accept answers the agent's upgrade request with 101, takes the
// connection over and returns the yamux session on it (fedhub is the yamux
// server; either end may open streams, only fedhub does). The caller
// registers it. A request that is not an upgrade to Protocol gets 400 and
// an error.
func Accept(w http.ResponseWriter, req *http.Request) (*yamux.Session, error) {
	if !IsTunnelRequest(req) {
		err := fmt.Errorf("the %s subresource needs an HTTP/1.1 request with Connection: Upgrade and Upgrade: %s", Subresource, Protocol)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	conn, err := hijack(w, req, Protocol)
	if err != nil {
		return nil, err
	}
	session, err := yamux.Server(conn, Config(yamuxLog{logger: klog.FromContext(req.Context())}))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return session, nil
}

// hijack takes req's connection over and answers 101 with protocol. The
// connection has no deadline left from the server's settings: what runs on
// it may last as long as it needs.
func hijack(w http.ResponseWriter, req *http.Request, protocol string) (net.Conn, error) {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		err := fmt.Errorf("the connection cannot be taken over (%T): HTTP/2 carries no upgrade", w)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	conn, buffered, err := hijacker.Hijack()
	if err != nil {
		return nil, fmt.Errorf("taking over the connection: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := buffered.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + protocol + "\r\n\r\n"); err == nil {
		err = buffered.Flush()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("answering the upgrade: %w", err)
	}
	return Buffered(conn, buffered.Reader), nil
}

// yamuxLog sends yamux's log lines to klog at -v=4.
type yamuxLog struct{ logger klog.Logger }

func (l yamuxLog) Write(p []byte) (int, error) {
	l.logger.V(4).Info("yamux", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
