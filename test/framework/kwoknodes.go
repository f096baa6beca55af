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
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// kwokNodeReadyTimeout bounds how long kwok may take to make an added node Ready.
const kwokNodeReadyTimeout = time.Minute

// KwokNode describes a node a test adds to a cluster that runs workloads
// (StartWorkloads), beside the framework's own.
type KwokNode struct {
	// Labels are added to the well-known ones, e.g. for a nodeSelector.
	Labels map[string]string
	// Taints keep other tests' pods off the node.
	Taints []corev1.Taint
	// Pods is how many pods the node has room for (its allocatable pods).
	Pods int
}

// AddKwokNode creates a node kwok runs pods on and waits until it is Ready.
func (c *Cluster) AddKwokNode(ctx context.Context, name string, options KwokNode) error {
	node := c.newNode(name, NodeOptions{})
	for key, value := range options.Labels {
		node.Labels[key] = value
	}
	node.Spec.Taints = options.Taints
	setPods(node, options.Pods)
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, kwokNodeReadyTimeout, true, func(ctx context.Context) (bool, error) {
		return len(c.notReadyNodes(ctx, []string{name})) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready: %w", name, err)
	}
	return nil
}

// SetKwokNodePods gives a node room for this many pods, as a kubelet
// reporting new allocatable resources does; the scheduler counts it at once.
// kwok keeps what the node's status says.
func (c *Cluster) SetKwokNodePods(ctx context.Context, name string, pods int) error {
	// kwok's heartbeats update the node's status too.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		setPods(node, pods)
		_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// DeleteKwokNode deletes a node a test added; the controller manager
// collects the pods bound to it.
func (c *Cluster) DeleteKwokNode(ctx context.Context, name string) error {
	err := c.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func setPods(node *corev1.Node, pods int) {
	quantity := resource.MustParse(strconv.Itoa(pods))
	if node.Status.Capacity == nil {
		node.Status.Capacity = corev1.ResourceList{}
	}
	if node.Status.Allocatable == nil {
		node.Status.Allocatable = corev1.ResourceList{}
	}
	node.Status.Capacity[corev1.ResourcePods] = quantity
	node.Status.Allocatable[corev1.ResourcePods] = quantity.DeepCopy()
}
