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
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// delayChunkSize is the most one read takes from a connection; a chunk is
// released whole when its delay is over.
const delayChunkSize = 32 << 10

// delayQueueChunks is how many chunks a direction holds in flight before
// its reader waits: at 32 KiB each, a few hundred MB/s at a 25 ms delay.
const delayQueueChunks = 256

// DelayProxy is a TCP proxy on loopback that forwards every connection to a
// target and delays each direction by a one-way latency, as a link between
// datacenters would: bytes keep their order, and a chunk is released when
// it is due, so the delay adds latency without limiting throughput.
type DelayProxy struct {
	// Addr is the host:port the proxy listens on.
	Addr string

	target   string
	delay    atomic.Int64 // one-way, in nanoseconds
	listener net.Listener
	done     chan struct{}
	wg       sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// StartDelayProxy listens on a free loopback port and forwards each
// connection to target (host:port), delaying both directions by oneWay.
func StartDelayProxy(target string, oneWay time.Duration) (*DelayProxy, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{Addr: listener.Addr().String(), target: target, listener: listener,
		done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.SetDelay(oneWay)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// SetDelay changes the one-way delay of data read from now on; data already
// in flight keeps its time, and order is kept when the delay shrinks.
func (p *DelayProxy) SetDelay(oneWay time.Duration) { p.delay.Store(int64(oneWay)) }

// Delay is the current one-way delay.
func (p *DelayProxy) Delay() time.Duration { return time.Duration(p.delay.Load()) }

// Close stops listening, closes every connection and waits until every
// goroutine of the proxy has returned.
func (p *DelayProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	err := p.listener.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track registers c to be closed by Close; false when the proxy is closed.
func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *DelayProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

func (p *DelayProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			var temporary interface{ Temporary() bool }
			if errors.As(err, &temporary) && temporary.Temporary() {
				continue
			}
			return
		}
		if !p.track(client) {
			_ = client.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve connects client to the target and pipes both directions until
// both have ended, or either failed, or the proxy closes.
func (p *DelayProxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		_ = client.Close()
		p.untrack(client)
		return
	}
	if !p.track(server) {
		_ = server.Close()
		_ = client.Close()
		p.untrack(client)
		return
	}
	var pipes sync.WaitGroup
	var failOnce sync.Once
	fail := func() {
		failOnce.Do(func() {
			_ = client.Close()
			_ = server.Close()
		})
	}
	pipes.Go(func() { p.pipe(client, server, fail) })
	pipes.Go(func() { p.pipe(server, client, fail) })
	pipes.Wait()
	fail()
	p.untrack(client, server)
}

// chunk is data read at one moment, due for writing at another.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies from src to dst, each chunk delayed by the delay at the time
// it was read. At src's end it half-closes dst once the data in flight is
// written; on any error it calls fail, which closes both connections.
func (p *DelayProxy) pipe(src, dst net.Conn, fail func()) {
	queue := make(chan chunk, delayQueueChunks)
	writerDone := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		defer close(writerDone)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for c := range queue {
			if wait := time.Until(c.due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-p.done:
					fail()
					return
				}
			}
			if _, err := dst.Write(c.data); err != nil {
				fail()
				return
			}
		}
		// The source ended cleanly and everything it sent is written.
		if tcp, ok := dst.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
	})
	defer writer.Wait()
	defer close(queue)
	var last time.Time
	for {
		buf := make([]byte, delayChunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			// Never earlier than the chunk before: the order holds when the delay shrinks.
			due := time.Now().Add(p.Delay())
			if due.Before(last) {
				due = last
			}
			last = due
			select {
			case queue <- chunk{data: buf[:n], due: due}:
			case <-writerDone: // dst failed; fail closed src too
				return
			case <-p.done:
				fail()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fail()
			}
			return
		}
	}
}
