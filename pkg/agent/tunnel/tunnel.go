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

// Package tunnel is fedhub-agent's end of the pull tunnel
// (docs/clusteraccess.md): it keeps one connection open to fedhub through
// the host (an upgrade of clusterregistrations/NAME/attach with the agent's
// identity), multiplexed with yamux, and serves every stream fedhub opens
// with MemberProxy. It reconnects with exponential backoff when the
// connection breaks.
package tunnel

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	fedhubtunnel "github.com/fedhub/fedhub/pkg/tunnel"
)

// Options configure Run.
type Options struct {
	Cluster   string
	Namespace string
	// Hub reaches fedhub through the host with the agent's identity.
	Hub *rest.Config
	// Handler serves the streams; a MemberProxy.
	Handler http.Handler
	// MinBackoff and MaxBackoff bound the wait before reconnecting (1 s and
	// 30 s when zero); it doubles at each failure, with up to 50% jitter
	// added, and starts again from MinBackoff after a tunnel that stayed
	// open for StableAfter (10 s when zero).
	MinBackoff, MaxBackoff, StableAfter time.Duration
	// dial replaces Dial in tests.
	dial func(ctx context.Context) (net.Conn, error)
}

// Run keeps the tunnel open until ctx ends.
func Run(ctx context.Context, o Options) {
	logger := klog.FromContext(ctx).WithName("tunnel")
	ctx = klog.NewContext(ctx, logger)
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.StableAfter == 0 {
		o.StableAfter = 10 * time.Second
	}
	if o.dial == nil {
		o.dial = func(ctx context.Context) (net.Conn, error) { return Dial(ctx, o.Hub, o.Namespace, o.Cluster) }
	}
	backoff := o.MinBackoff
	for {
		opened, err := serveOnce(ctx, o)
		if ctx.Err() != nil {
			return
		}
		if !opened.IsZero() && time.Since(opened) >= o.StableAfter {
			backoff = o.MinBackoff
		}
		wait := backoff + rand.N(backoff/2+1)
		if opened.IsZero() {
			logger.Info("Opening the tunnel to fedhub failed; retrying", "err", err, "retryIn", wait.Round(time.Millisecond))
		} else {
			logger.Info("The tunnel to fedhub closed; reconnecting", "err", err, "openFor", time.Since(opened).Round(time.Second),
				"retryIn", wait.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// serveOnce opens the tunnel and serves it until it closes or ctx ends;
// opened is when it opened (zero if it did not).
func serveOnce(ctx context.Context, o Options) (opened time.Time, err error) {
	logger := klog.FromContext(ctx)
	conn, err := o.dial(ctx)
	if err != nil {
		return time.Time{}, err
	}
	session, err := yamux.Client(conn, fedhubtunnel.Config(yamuxLog{logger: logger}))
	if err != nil {
		conn.Close()
		return time.Time{}, err
	}
	opened = time.Now()
	stop := context.AfterFunc(ctx, func() { session.Close() })
	defer stop()
	logger.Info("The tunnel to fedhub is open")
	server := &http.Server{
		Handler:           o.Handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          nil,
	}
	err = server.Serve(session) // returns once the session is closed
	_ = server.Close()
	_ = session.Close()
	if errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, http.ErrServerClosed) {
		err = errors.New("the connection ended")
	}
	return opened, err
}

// yamuxLog sends yamux's log lines to klog at -v=4.
type yamuxLog struct{ logger klog.Logger }

func (l yamuxLog) Write(p []byte) (int, error) {
	l.logger.V(4).Info("yamux", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
