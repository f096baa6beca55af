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

package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/typeconfig"
	"github.com/fedhub/fedhub/test/framework"
)

// ceilingNamespace holds the ceiling scenario's objects, in fedhub and in the members.
const ceilingNamespace = "bench-ceiling"

// ceiling does by itself the least any federated path must: per object, it
// stores the federated object in fedhub, writes the object into every member
// and stores a Propagation=True status, with the baseline's concurrency and
// the type's propagation disabled so that fedhub's reconciler does nothing.
// Its throughput over the baseline's is the ceiling the burst's ratio can
// reach on this machine: what remains of the burst's cost above it is
// propagation's own (watching fedhub and the members, deciding, events).
func (b *bench) ceiling(ctx context.Context, r *Results) error {
	// fedhub, like any apiserver, stores namespaced objects only in a
	// namespace that exists: the host's.
	for _, c := range append([]*framework.Cluster{b.f.Host}, b.f.Members...) {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ceilingNamespace}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if err := b.setPropagation(ctx, corev1beta1.PropagationDisabled, corev1beta1.ControllerStatusNotRunning); err != nil {
		return err
	}
	federated := b.fedhub.Resource(b.kind.federated).Namespace(ceilingNamespace)
	clusters := make([]any, len(b.f.Members))
	for i, m := range b.f.Members {
		clusters[i] = map[string]any{"name": m.Name}
	}
	memberObjects := len(b.names) * len(b.members)
	cpuBefore := b.cpuNow()
	start := time.Now()
	err := parallel(len(b.names), b.concurrency, func(i int) error {
		stored, err := federated.Create(ctx, b.kind.federatedObject(ceilingNamespace, b.names[i], 1), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		for _, member := range b.members {
			obj := b.kind.memberObject(ceilingNamespace, b.names[i], 1)
			obj.SetLabels(map[string]string{managedLabel: "true"})
			if _, err := member.Resource(b.kind.target).Namespace(ceilingNamespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		now := time.Now().UTC().Format(time.RFC3339)
		stored.Object["status"] = map[string]any{
			"observedGeneration": stored.GetGeneration(),
			"conditions":         []any{map[string]any{"type": "Propagation", "status": "True", "lastUpdateTime": now, "lastTransitionTime": now}},
			"clusters":           clusters,
		}
		_, err = federated.UpdateStatus(ctx, stored, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	r.CeilingCPU = b.cpuNow().minus(cpuBefore)
	r.CeilingSeconds = elapsed.Seconds()
	r.CeilingObjectsPerSecond = float64(memberObjects) / elapsed.Seconds()
	logf("  %d federated objects stored with their status and %d member objects written in %s", len(b.names), memberObjects, elapsed.Round(time.Millisecond))
	// Clean up, untimed: no finalizer was given while propagation was off,
	// so the federated objects go at once and the members keep theirs.
	if err := federated.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return err
	}
	for _, member := range b.members {
		if err := member.Resource(b.kind.target).Namespace(ceilingNamespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return err
		}
	}
	return b.setPropagation(ctx, corev1beta1.PropagationEnabled, corev1beta1.ControllerStatusRunning)
}

// setPropagation switches the kind's propagation and waits until its
// FederatedTypeConfig reports the controller in the state wanted.
func (b *bench) setPropagation(ctx context.Context, propagation corev1beta1.PropagationMode, controller corev1beta1.ControllerStatus) error {
	name := typeconfig.Name(corev1beta1.APIResource{Group: b.kind.target.Group, PluralName: b.kind.target.Resource})
	configs := b.f.Client.CoreV1beta1().FederatedTypeConfigs(corev1beta1.DefaultFederationNamespace)
	patch := fmt.Sprintf(`{"spec":{"propagation":%q}}`, propagation)
	if _, err := configs.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	return waitUntil(ctx, deadline, fmt.Sprintf("FederatedTypeConfig %s %s", name, controller), func() bool {
		config, err := configs.Get(ctx, name, metav1.GetOptions{})
		return err == nil && config.Status.PropagationController == controller && config.Status.ObservedGeneration == config.Generation
	})
}
