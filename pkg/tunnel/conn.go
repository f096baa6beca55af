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
	"bufio"
	"net"
	"net/http"
)

// Exchange writes req on conn, a connection no HTTP client manages (an
// upgrade, a CONNECT to a proxy), and reads the answer's status and
// headers. The connection it returns reads first what was read past them,
// which belongs to whatever the connection carries next.
func Exchange(conn net.Conn, req *http.Request) (*http.Response, net.Conn, error) {
	if err := req.Write(conn); err != nil {
		return nil, nil, err
	}
	reader := bufio.NewReader(conn)
	resp, err := http.ReadResponse(reader, req)
	if err != nil {
		return nil, nil, err
	}
	return resp, Buffered(conn, reader), nil
}

// Buffered returns conn reading first what reader, a reader of conn, holds.
func Buffered(conn net.Conn, reader *bufio.Reader) net.Conn {
	if reader.Buffered() == 0 {
		return conn
	}
	return &bufferedConn{Conn: conn, reader: reader}
}

type bufferedConn struct {
	net.Conn
	reader *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.reader.Read(p) }
