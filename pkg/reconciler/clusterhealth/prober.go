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

package clusterhealth

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/reconciler"
)

var everything = labels.Everything()

// prober probes one member on its own goroutine, once per period and at once
// when its configuration changes.
type prober struct {
	name   string
	poke   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the prober's goroutine.
	threshold threshold
	// backoff spaces the probes after probes that panicked.
	backoff workqueue.TypedRateLimiter[string]
	clients *memberClients
	// written is the object the last status write returned, and replaced the
	// version the informer may still show for a moment.
	written  *corev1beta1.KubeFedCluster
	replaced string
}

func (c *Controller) startProber(ctx context.Context, name string) *prober {
	ctx, cancel := context.WithCancel(ctx)
	p := &prober{name: name, poke: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		backoff: workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute)}
	go func() {
		defer close(p.done)
		for {
			wait := c.healthCheck().Period
			if caught := reconciler.Catch(func() { c.probeOnce(ctx, p) }); caught != nil {
				// The prober is this cluster's worker: it reports and backs
				// off as RunWorkers does, and goes on probing.
				reconciler.HandlePanic(ctx, ControllerName, name, caught, func(ctx context.Context, message string) error {
					return c.reportPanic(ctx, name, message)
				})
				wait = max(wait, p.backoff.When(name))
			} else {
				p.backoff.Forget(name)
			}
			select {
			case <-ctx.Done():
				return
			case <-p.poke:
				select {
				case <-ctx.Done():
					return
				case <-time.After(pokeDelay):
				}
			case <-time.After(wait):
			}
		}
	}()
	return p
}

// probeNow has the prober probe without waiting for the period to end.
func (p *prober) probeNow() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

func (p *prober) stop() {
	p.cancel()
	<-p.done
}

// probeOnce probes the member and reports the result if the thresholds admit
// it and it changes the status.
func (c *Controller) probeOnce(ctx context.Context, p *prober) {
	logger := klog.FromContext(ctx).WithValues("cluster", p.name)
	cluster, err := c.clusters.KubeFedClusters(c.namespace).Get(p.name)
	if err != nil {
		return // deleted: sync stops this prober
	}
	if p.written != nil && cluster.ResourceVersion == p.replaced {
		cluster = p.written
	}
	check := c.healthCheck()
	o := c.observe(ctx, p, cluster, check)
	reported := reportedHealth(cluster.Status)
	// A pull member's lease has its own grace (its duration): a lapse is
	// reported when it happens, not after more periods.
	if !cluster.IsPull() && !p.threshold.admit(reported, o.health, check) {
		logger.V(4).Info("Holding back a health change until the threshold is reached", "reported", reported, "observed", o.health, "message", o.message)
		return
	}
	written, err := c.writeStatus(ctx, cluster, o)
	if err != nil {
		logger.Error(err, "Writing the cluster status")
		return
	}
	if written.ResourceVersion == cluster.ResourceVersion {
		logger.V(4).Info("Status unchanged", "health", o.health)
		return
	}
	p.written, p.replaced = written, cluster.ResourceVersion
	logger.V(2).Info("Wrote the cluster status", "health", o.health, "kubernetesVersion", written.Status.KubernetesVersion)
	c.recordTransition(written, reported, o)
}

// observe builds (or reuses) the member's clients and probes it; a
// configuration that yields no client is an observation too.
func (c *Controller) observe(ctx context.Context, p *prober, cluster *corev1beta1.KubeFedCluster, check HealthCheck) observation {
	if cluster.IsPull() {
		p.clients = nil
		return c.observeLease(cluster, time.Now())
	}
	secret, err := c.secretFor(cluster)
	if err != nil {
		return observation{health: healthMalformed, message: err.Error()}
	}
	clients, err := clientsFor(p.clients, cluster, secret, check.Timeout)
	if err != nil {
		p.clients = nil
		return observation{health: healthMalformed, message: err.Error()}
	}
	p.clients = clients
	ctx, cancel := context.WithTimeout(ctx, check.Timeout)
	defer cancel()
	return probe(ctx, clients, c.secretName(cluster))
}
