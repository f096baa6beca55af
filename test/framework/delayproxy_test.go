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
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection by echoing what it reads until EOF,
// then closes its side.
func echoServer(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()
	return listener.Addr().String()
}

func startDelayProxy(t *testing.T, target string, oneWay time.Duration) *DelayProxy {
	t.Helper()
	p, err := StartDelayProxy(target, oneWay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// roundTrip writes one byte and times until it comes back.
func roundTrip(t *testing.T, conn net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := conn.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestDelayProxyDelaysEachDirection(t *testing.T) {
	const oneWay = 25 * time.Millisecond
	p := startDelayProxy(t, echoServer(t), oneWay)
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Every round trip waits for the delay both ways. That it adds no more
	// is judged by the fastest of a few: a busy machine (go test runs the
	// e2e packages beside this one) may hold up any single one.
	fastest := time.Hour
	for range 5 {
		rtt := roundTrip(t, conn)
		if rtt < 2*oneWay {
			t.Errorf("round trip took %s through a proxy delaying each way by %s, want at least %s", rtt, oneWay, 2*oneWay)
		}
		fastest = min(fastest, rtt)
	}
	if fastest > 2*oneWay+200*time.Millisecond {
		t.Errorf("the fastest round trip took %s through a proxy delaying each way by %s, want about %s", fastest, oneWay, 2*oneWay)
	}
	p.SetDelay(0)
	fastest = time.Hour
	for range 5 {
		fastest = min(fastest, roundTrip(t, conn))
	}
	if fastest > 20*time.Millisecond {
		t.Errorf("the fastest round trip took %s with no delay", fastest)
	}
}

func TestDelayProxyKeepsOrderWithoutLimitingThroughput(t *testing.T) {
	const oneWay = 25 * time.Millisecond
	p := startDelayProxy(t, echoServer(t), oneWay)
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 16 MiB in small writes: at one chunk per delay this would take minutes.
	data := make([]byte, 16<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 4096)
			if _, err := conn.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		// EOF travels through the proxy after the data, and the echo server
		// closes once it has echoed everything.
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes through the proxy, not the %d sent in order", len(got), len(data))
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("16 MiB took %s through the proxy", elapsed)
	}
}

func TestDelayProxyCloseEndsConnections(t *testing.T) {
	p, err := StartDelayProxy(echoServer(t), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes from a connection of a closed proxy", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("the proxy's connection stayed open after Close")
	}
	if c, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		c.Close()
		t.Error("a closed proxy still accepts connections")
	}
	if err := p.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}
