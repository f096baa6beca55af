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

// Package leaderelection lets one fedhub-apiserver replica at a time run the
// reconcilers. Every replica serves the API from the shared etcd; the
// reconcilers write to member clusters, and two replicas doing so at once
// would fight. The replicas campaign for a key in that same etcd, held by an
// etcd lease, so that no other system is needed and a single replica with the
// embedded etcd works the same way.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// Config says where and how a replica campaigns.
type Config struct {
	// Client reaches the etcd the replicas share.
	Client *clientv3.Client
	// Key is the election's prefix in etcd.
	Key string
	// Identity names this replica to the others (the value of its candidacy).
	Identity string
	// LeaseDuration is the etcd lease's TTL: how long a leader that stops
	// renewing (killed, cut off) keeps the others waiting. Whole seconds.
	LeaseDuration time.Duration
}

// MinLeaseDuration is the shortest lease etcd grants with its default
// election timeout (1.5 s, rounded up to whole seconds).
const MinLeaseDuration = 2 * time.Second

// DefaultIdentity is the host name and process id, unique per replica both
// for pods (each has its own host name) and for processes on one machine.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s_%d", host, os.Getpid())
}

// Run campaigns until ctx ends. While this replica leads, lead runs with a
// context that ends as soon as leadership may be lost: the etcd session
// ended, or the lease could not be confirmed alive for longer than it has
// left. lead must return once its context is done; Run then waits for it and
// campaigns again. A lead that fails gives leadership up, and Run campaigns
// again after a backoff. When ctx ends, Run resigns, so that another replica
// takes over at once, and returns.
func Run(ctx context.Context, cfg Config, lead func(context.Context) error) {
	logger := klog.FromContext(ctx).WithValues("election", cfg.Key, "identity", cfg.Identity)
	ctx = klog.NewContext(ctx, logger)
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: math.MaxInt32, Cap: cfg.LeaseDuration}
	for ctx.Err() == nil {
		if err := term(ctx, cfg, lead); err != nil && ctx.Err() == nil {
			logger.Error(err, "Campaigning for the reconcilers failed; trying again")
			select {
			case <-ctx.Done():
			case <-time.After(backoff.Step()):
			}
			continue
		}
		backoff.Duration = 200 * time.Millisecond
	}
}

// term is one candidacy: it waits to be elected, leads until leadership may
// be lost or ctx ends, and gives the lease up.
func term(ctx context.Context, cfg Config, lead func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	ttl := int(math.Ceil(cfg.LeaseDuration.Seconds()))
	// The session lives on the client's context, not ctx: closing it after
	// ctx ended must still revoke the lease.
	session, err := concurrency.NewSession(cfg.Client, concurrency.WithTTL(ttl))
	if err != nil {
		return fmt.Errorf("opening an etcd session: %w", err)
	}
	defer func() {
		// Revoking the lease deletes the candidacy: a standby is elected now
		// rather than when the lease would have expired.
		if err := session.Close(); err != nil {
			logger.V(2).Info("Revoking the election lease failed; it expires by itself", "err", err.Error())
		}
	}()
	election := concurrency.NewElection(session, cfg.Key)
	logger.V(2).Info("Campaigning for the reconcilers")
	if err := election.Campaign(ctx, cfg.Identity); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaigning: %w", err)
	}
	// The session may have ended while the campaign waited; make sure the
	// lease is alive before writing anything.
	validUntil, err := confirm(ctx, cfg.Client, session.Lease(), cfg.LeaseDuration/2)
	if err != nil {
		return fmt.Errorf("confirming the election lease: %w", err)
	}
	elected := time.Now()
	logger.Info("Elected to run the reconcilers")
	isLeader.Set(1)
	leaderCtx, stop := context.WithCancel(ctx)
	var leading sync.WaitGroup
	var leadErr error
	leading.Go(func() {
		defer stop() // a lead that gives up gives leadership up
		leadErr = lead(leaderCtx)
	})
	reason := hold(leaderCtx, cfg, session, validUntil)
	stop()
	leading.Wait()
	isLeader.Set(0)
	if leadErr != nil {
		reason = leadErr.Error()
	}
	logger.Info("Stopped running the reconcilers", "reason", reason, "led", time.Since(elected).Round(time.Millisecond).String())
	return leadErr
}

// hold returns when leadership may be lost or ctx ends, and says why. The
// session's keepalive notices a lost lease only once the lease has expired
// in the client's view, which is after etcd may already have elected another
// replica; so hold also asks etcd for the lease's time to live and gives up
// before the last confirmed time runs out.
func hold(ctx context.Context, cfg Config, session *concurrency.Session, validUntil time.Time) string {
	check := max(cfg.LeaseDuration/5, 100*time.Millisecond)
	next := time.NewTimer(check)
	defer next.Stop()
	for {
		expiry := time.NewTimer(time.Until(validUntil))
		select {
		case <-ctx.Done():
			expiry.Stop()
			return "shutting down"
		case <-session.Done():
			expiry.Stop()
			return "the etcd session ended"
		case <-expiry.C:
			return "the lease could not be confirmed in time"
		case <-next.C:
			expiry.Stop()
			// A question etcd is slow to answer must not outlast the time
			// already confirmed.
			timeout := min(check, time.Until(validUntil))
			if timeout <= 0 {
				return "the lease could not be confirmed in time"
			}
			until, err := confirm(ctx, cfg.Client, session.Lease(), timeout)
			switch {
			case errors.Is(err, errLeaseExpired):
				return "the lease expired"
			case err != nil && !time.Now().Before(validUntil):
				return "the lease could not be confirmed in time"
			case err != nil:
				klog.FromContext(ctx).V(2).Info("Confirming the election lease failed", "err", err.Error())
			case until.After(validUntil):
				validUntil = until
			}
			next.Reset(check)
		}
	}
}

var errLeaseExpired = errors.New("the lease expired")

// confirm asks etcd how long the lease has left and returns until when it is
// certainly alive: the time the question was sent plus the answer, which etcd
// rounds down to whole seconds.
func confirm(ctx context.Context, client *clientv3.Client, lease clientv3.LeaseID, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sent := time.Now()
	response, err := client.TimeToLive(ctx, lease)
	if err != nil {
		return time.Time{}, err
	}
	if response.TTL < 0 { // etcd's answer for a lease it no longer has
		return time.Time{}, errLeaseExpired
	}
	return sent.Add(time.Duration(response.TTL) * time.Second), nil
}
