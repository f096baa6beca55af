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

package apiserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	discoveryaggregated "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	federatedtypes "github.com/fedhub/fedhub/registry/types"
)

// The host's aggregator caches each aggregated server's discovery document
// and fetches it again when the server's APIService changes, and otherwise
// only once a minute (k8s.io/kube-aggregator v0.37.2, handler_discovery.go:
// discoveryRefreshInterval; a failed fetch backs off up to that minute too).
// kubectl caches discovery on disk for hours, so a kind missing from one
// answer fails `kubectl apply` long after fedhub serves it. fedhub therefore
// writes two annotations on its own types.kubefed.io APIService whenever the
// federated kinds it serves change: the aggregator then fetches discovery
// (and, a second later, OpenAPI) again at once.
const (
	// ServedKindsAnnotation holds a hash of the federated kinds as fedhub's
	// aggregated discovery describes them.
	ServedKindsAnnotation = "fedhub.io/served-kinds"
	// ServedKindsByAnnotation names the replica that wrote ServedKindsAnnotation.
	// With several replicas behind one Service, the aggregator may read a
	// replica that has not caught up; the one that catches up later writes
	// the same hash, and only its name makes that write a change, which
	// makes the aggregator read again.
	ServedKindsByAnnotation = "fedhub.io/served-kinds-by"
)

// TypesAPIServiceName is the APIService that registers types.kubefed.io; an
// APIService is named <version>.<group>.
var TypesAPIServiceName = federatedtypes.GroupVersion.Version + "." + federatedtypes.GroupVersion.Group

var apiServicesResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// servedKindsHash is a short digest of what discovery says about the
// federated kinds, independent of their order. Freshness is left out: it
// says how current the document is, not what it serves.
func servedKindsHash(resources []apidiscoveryv2.APIResourceDiscovery) string {
	sorted := slices.Clone(resources)
	slices.SortFunc(sorted, func(a, b apidiscoveryv2.APIResourceDiscovery) int { return strings.Compare(a.Resource, b.Resource) })
	data, err := json.Marshal(sorted)
	if err != nil {
		// Discovery types always marshal; a constant still publishes once.
		data = []byte(err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// notifyingDiscovery is the server's aggregated discovery manager, which the
// federated-types handler updates, telling the publisher about every change
// to types.kubefed.io. It keeps registry/types unaware of the host.
type notifyingDiscovery struct {
	discoveryaggregated.ResourceManager
	publisher *servedKindsPublisher
}

func (d notifyingDiscovery) AddGroupVersion(group string, value apidiscoveryv2.APIVersionDiscovery) {
	d.ResourceManager.AddGroupVersion(group, value)
	if group == federatedtypes.GroupVersion.Group && value.Version == federatedtypes.GroupVersion.Version {
		d.publisher.set(servedKindsHash(value.Resources))
	}
}

func (d notifyingDiscovery) RemoveGroupVersion(gv metav1.GroupVersion) {
	d.ResourceManager.RemoveGroupVersion(gv)
	if gv.Group == federatedtypes.GroupVersion.Group && gv.Version == federatedtypes.GroupVersion.Version {
		d.publisher.set(servedKindsHash(nil))
	}
}

func (d notifyingDiscovery) RemoveGroup(group string) {
	d.ResourceManager.RemoveGroup(group)
	if group == federatedtypes.GroupVersion.Group {
		d.publisher.set(servedKindsHash(nil))
	}
}

// servedKindsPublisher writes the latest hash onto the APIService, one write
// at a time, skipping hashes overtaken by a newer one. It starts writing only
// once run is called (the server is running); changes before that are kept.
type servedKindsPublisher struct {
	host     dynamic.Interface
	identity string
	name     string

	mu      sync.Mutex
	latest  string
	changed chan struct{} // one pending wake-up at most
}

func newServedKindsPublisher(host dynamic.Interface, identity string) *servedKindsPublisher {
	return &servedKindsPublisher{host: host, identity: identity, name: TypesAPIServiceName, changed: make(chan struct{}, 1)}
}

// set records the hash to publish; it never blocks, since the handler calls
// it while holding its lock.
func (p *servedKindsPublisher) set(hash string) {
	p.mu.Lock()
	p.latest = hash
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// publisherBackoff bounds the retries of a failed write: a missing RBAC rule
// (an install from before this annotation) must not make fedhub hammer the host.
var publisherBackoff = struct{ initial, max time.Duration }{time.Second, 2 * time.Minute}

// run publishes every change until ctx ends.
func (p *servedKindsPublisher) run(ctx context.Context) {
	published := ""
	delay := publisherBackoff.initial
	for {
		p.mu.Lock()
		hash := p.latest
		p.mu.Unlock()
		if hash != "" && hash != published {
			if err := p.publish(ctx, hash); err != nil {
				klog.ErrorS(err, "Cannot tell the host's aggregator that the federated kinds changed; it notices within its refresh period",
					"apiService", p.name, "retryIn", delay)
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, publisherBackoff.max)
				continue
			}
			published, delay = hash, publisherBackoff.initial
			continue // a newer hash may have come meanwhile
		}
		select {
		case <-ctx.Done():
			return
		case <-p.changed:
		}
	}
}

// publish patches the annotations. An APIService that does not exist needs
// nothing: the aggregator reads discovery afresh when it is created.
func (p *servedKindsPublisher) publish(ctx context.Context, hash string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		ServedKindsAnnotation: hash, ServedKindsByAnnotation: p.identity,
	}}})
	if err != nil {
		return err
	}
	_, err = p.host.Resource(apiServicesResource).Patch(ctx, p.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "fedhub-apiserver"})
	switch {
	case apierrors.IsNotFound(err):
		klog.V(2).InfoS("No APIService to annotate with the served federated kinds", "apiService", p.name)
		return nil
	case apierrors.IsForbidden(err):
		return fmt.Errorf("fedhub's host identity may not patch APIService %s (artifacts/install grants it): %w", p.name, err)
	case err != nil:
		return err
	}
	klog.V(2).InfoS("Told the host's aggregator about the served federated kinds", "apiService", p.name, "hash", hash)
	return nil
}
