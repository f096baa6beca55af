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
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// workloadsStartTimeout bounds how long the controller manager and kwok may
// take to create the default ServiceAccount and make every node Ready.
const workloadsStartTimeout = 2 * time.Minute

// kwokNodeAnnotation marks the nodes kwok plays the kubelet for; kwok is told
// to manage only nodes carrying it, so it never takes over any other node.
const (
	kwokNodeAnnotation      = "kwok.x-k8s.io/node"
	kwokNodeAnnotationValue = "fake"
)

// kwokNodeLeaseSeconds is the kubelet's default lease duration. With it kwok
// renews a Lease per node as a kubelet does, so the node lifecycle controller
// never sees a silent node and taints it.
const kwokNodeLeaseSeconds = "40"

// kwokStages are the Stage files (make tools copies them from kwok's
// kustomize/stage) that give nodes and pods a kubelet's lifecycle: nodes
// become Ready and keep heartbeating, pods become Running and Ready, Job pods
// complete, and deleted pods go away.
var kwokStages = []string{
	"node-initialize.yaml", "node-heartbeat.yaml",
	"pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml",
}

// NodeOptions describe the fake nodes StartWorkloads creates.
type NodeOptions struct {
	// Count is how many nodes to create.
	Count int
	// Region and Zone become the nodes' topology.kubernetes.io labels; empty leaves a label off.
	Region, Zone string
}

// StartWorkloads makes the cluster run workloads: it starts
// kube-controller-manager, kube-scheduler and kwok, creates kwok nodes, and
// waits until the nodes are Ready and namespace default has its
// ServiceAccount. The processes join the cluster's, so Stop stops them, also
// when StartWorkloads fails.
func (c *Cluster) StartWorkloads(ctx context.Context, binaries Binaries, nodes NodeOptions) error {
	controllerManager, err := c.StartControllerManager(binaries)
	if err != nil {
		return err
	}
	if _, err := c.startChild("kube-scheduler", binaries.KubeScheduler, c.schedulerArgs()); err != nil {
		return err
	}
	args, err := c.kwokArgs(binaries)
	if err != nil {
		return err
	}
	kwok, err := c.startChild("kwok", binaries.Kwok, args)
	if err != nil {
		return err
	}
	names, err := c.createNodes(ctx, nodes)
	if err != nil {
		return err
	}
	return c.waitWorkloadsReady(ctx, names, controllerManager, kwok)
}

// StartControllerManager runs kube-controller-manager for the cluster with
// the given controllers, by default all. A host needs it too: the API server
// alone neither aggregates ClusterRoles into admin, edit and view nor creates
// default ServiceAccounts; a member needs at least its token controller,
// which fills the token Secret join asks for.
func (c *Cluster) StartControllerManager(binaries Binaries, controllers ...string) (*Process, error) {
	if len(controllers) == 0 {
		controllers = []string{"*"}
	}
	return c.startChild("kube-controller-manager", binaries.KubeControllerManager, c.controllerManagerArgs(controllers))
}

// startChild starts a process named after the cluster with its log in the
// cluster's directory, and records it so Stop stops it.
func (c *Cluster) startChild(component, binary string, args []string) (*Process, error) {
	process, err := StartProcess(c.Name+"-"+component, c.dir, binary, args...)
	if err != nil {
		return nil, err
	}
	c.processes = append(c.processes, process)
	return process, nil
}

// controllerManagerArgs run every on-by-default controller with the admin
// identity, without leader election (there is one instance) and without a
// serving port (nothing scrapes it, and two clusters would collide on it).
func (c *Cluster) controllerManagerArgs(controllers []string) []string {
	return flagArgs(map[string]string{
		"kubeconfig":   c.AdminKubeconfig,
		"leader-elect": "false",
		"secure-port":  "0",
		"controllers":  strings.Join(controllers, ","),
		// The key the kube-apiserver verifies tokens with, so the token
		// controller can sign the legacy token Secrets that are asked for.
		"service-account-private-key-file": c.serviceAccountKey,
		// Published as the kube-root-ca.crt ConfigMap in every namespace,
		// which pods' projected service account volumes refer to.
		"root-ca-file": filepath.Join(c.dir, "ca.crt"),
	})
}

// schedulerArgs are those of the controller manager's that apply: one
// instance, admin identity, no serving port.
func (c *Cluster) schedulerArgs() []string {
	return flagArgs(map[string]string{
		"kubeconfig":   c.AdminKubeconfig,
		"leader-elect": "false",
		"secure-port":  "0",
	})
}

// KwokPodLog is what `kubectl logs` returns for every container kwok runs,
// one line, until a test appends to it (Cluster.AppendKwokPodLog); `kubectl
// exec` runs the command on this machine.
const KwokPodLog = "hello from kwok"

// kwokDebugging makes kwok serve logs, exec, attach and port-forward as a
// kubelet does: every pod's containers log the file the framework writes
// (`kubectl logs -f` follows it), exec runs the command locally (so `kubectl
// exec POD -- echo ok` prints ok), attach streams what is appended to the
// log file after it attached, and every port of every pod is forwarded to
// one loopback address of the cluster's (Cluster.KwokPortForwardAddress).
// They are kwok configuration (--config), not custom resources: kwok reads
// them from either, and the member serves no kwok.x-k8s.io types that a
// test of the member's discovery would see.
const kwokDebugging = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: fedhub-test-logs
spec:
  logs:
  - logsFile: %[1]q
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: fedhub-test-exec
spec:
  execs:
  - local: {}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterAttach
metadata:
  name: fedhub-test-attach
spec:
  attaches:
  - logsFile: %[1]q
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: fedhub-test-port-forward
spec:
  forwards:
  - target:
      address: 127.0.0.1
      port: %[2]d
`

// Files in the cluster's directory: the containers' log, and the address
// kwok forwards pods' ports to.
const (
	kwokLogFile                = "kwok-container.log"
	kwokPortForwardAddressFile = "kwok-port-forward-address"
)

// kwokArgs point kwok at the cluster, limit it to the nodes StartWorkloads
// annotates, and load its stages. Its server (healthz, metrics, and the
// kubelet's logs, exec, attach and port-forward endpoints) gets a free
// loopback port, so it is reachable for diagnosis but never from outside,
// and two clusters' kwoks never collide. The nodes report 127.0.0.1 and that
// port as their kubelet endpoint, and kwok serves it with TLS (the
// kube-apiserver speaks https to kubelets) under a certificate of the
// cluster's CA.
func (c *Cluster) kwokArgs(binaries Binaries) ([]string, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	debugging, err := c.writeKwokDebugging()
	if err != nil {
		return nil, err
	}
	serving, err := c.CA.IssueServing()
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(c.dir, "kwok-serving.crt"), filepath.Join(c.dir, "kwok-serving.key")
	if err := serving.WriteFiles(certFile, keyFile); err != nil {
		return nil, err
	}
	args := flagArgs(map[string]string{
		"kubeconfig":                            c.AdminKubeconfig,
		"manage-nodes-with-annotation-selector": kwokNodeAnnotation + "=" + kwokNodeAnnotationValue,
		"server-address":                        "127.0.0.1:" + strconv.Itoa(port),
		"node-ip":                               "127.0.0.1",
		"node-port":                             strconv.Itoa(port),
		"tls-cert-file":                         certFile,
		"tls-private-key-file":                  keyFile,
		"node-lease-duration-seconds":           kwokNodeLeaseSeconds,
	})
	stagesDir := filepath.Join(filepath.Dir(binaries.Kwok), "kwok-stages")
	for _, stage := range kwokStages {
		path := filepath.Join(stagesDir, stage)
		// kwok would exit with the error only in its log; name the file and the fix here.
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("kwok stage %s is missing: run 'make tools' first", path)
		}
		args = append(args, "--config="+path)
	}
	return append(args, "--config="+debugging), nil
}

// writeKwokDebugging writes the containers' log file (in the CRI log format
// kwok reads), picks the port-forward address (a free loopback port, written
// down for KwokPortForwardAddress), and writes kwok's debugging
// configuration, whose path it returns.
func (c *Cluster) writeKwokDebugging() (string, error) {
	logFile := filepath.Join(c.dir, kwokLogFile)
	if err := os.WriteFile(logFile, criLogLine(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), KwokPodLog), 0o644); err != nil {
		return "", err
	}
	forwardPort, err := FreePort()
	if err != nil {
		return "", err
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(forwardPort))
	if err := os.WriteFile(filepath.Join(c.dir, kwokPortForwardAddressFile), []byte(address), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(c.dir, "kwok-debugging.yaml")
	return path, os.WriteFile(path, fmt.Appendf(nil, kwokDebugging, logFile, forwardPort), 0o644)
}

// criLogLine is one full stdout line of a container log as the CRI writes it.
func criLogLine(at time.Time, line string) []byte {
	return []byte(at.UTC().Format(time.RFC3339Nano) + " stdout F " + line + "\n")
}

// AppendKwokPodLog appends a line to what every container on the cluster's
// kwok nodes has logged: `kubectl logs` shows it after KwokPodLog from then
// on, and a running `kubectl logs -f` or `kubectl attach` prints it.
func (c *Cluster) AppendKwokPodLog(line string) error {
	file, err := os.OpenFile(filepath.Join(c.dir, kwokLogFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := file.Write(criLogLine(time.Now(), line)); err != nil {
		_ = file.Close()
		return err
	}
	return file.Close()
}

// KwokPortForwardAddress is the loopback host:port kwok forwards every port
// of every pod on the cluster's nodes to: `kubectl port-forward POD L:P`
// reaches whatever listens there, whatever P is. The framework starts no
// listener; a test listens there itself for as long as it needs to, and
// fails to if another test of the same cluster does at the same time.
func (c *Cluster) KwokPortForwardAddress() (string, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, kwokPortForwardAddressFile))
	if err != nil {
		return "", fmt.Errorf("the cluster %s runs no kwok (StartWorkloads): %w", c.Name, err)
	}
	return string(data), nil
}

// createNodes creates the nodes kwok manages and returns their names.
func (c *Cluster) createNodes(ctx context.Context, options NodeOptions) ([]string, error) {
	names := make([]string, 0, options.Count)
	for i := range options.Count {
		node := c.newNode(fmt.Sprintf("%s-node-%d", c.Name, i), options)
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating node %s: %w", node.Name, err)
		}
		names = append(names, node.Name)
	}
	return names, nil
}

// newNode returns a node as a kubelet registers it: well-known labels and its
// capacity, no taints, and no conditions until kwok reports them.
func (c *Cluster) newNode(name string, options NodeOptions) *corev1.Node {
	labels := map[string]string{
		"type":                 "kwok",
		corev1.LabelHostname:   name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	if options.Region != "" {
		labels[corev1.LabelTopologyRegion] = options.Region
	}
	if options.Zone != "" {
		labels[corev1.LabelTopologyZone] = options.Zone
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: map[string]string{kwokNodeAnnotation: kwokNodeAnnotationValue},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity.DeepCopy()},
	}
}

// waitWorkloadsReady polls until every node is Ready and the default
// ServiceAccount exists, which pods need before admission lets them in. A
// process that exits fails the wait at once; on timeout the process that owed
// the missing piece is blamed: kwok for nodes, the controller manager for the
// ServiceAccount.
func (c *Cluster) waitWorkloadsReady(ctx context.Context, nodeNames []string, controllerManager, kwok *Process) error {
	var exited error
	var notReady []string
	var haveServiceAccount bool
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, workloadsStartTimeout, true, func(ctx context.Context) (bool, error) {
		if exited = c.exitedProcess(); exited != nil {
			return false, exited
		}
		notReady = c.notReadyNodes(ctx, nodeNames)
		_, err := c.Client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		haveServiceAccount = err == nil
		return len(notReady) == 0 && haveServiceAccount, nil
	})
	switch {
	case exited != nil:
		return exited
	case err == nil:
		return nil
	case len(notReady) > 0:
		return kwok.Failure(fmt.Sprintf("nodes %v not Ready: %v", notReady, err))
	default:
		return controllerManager.Failure(fmt.Sprintf("ServiceAccount default/default not created: %v", err))
	}
}

// exitedProcess describes the first of the cluster's processes that has
// ended; they all should run until Stop.
func (c *Cluster) exitedProcess() error {
	for _, process := range c.processes {
		if exited, _ := process.Exited(); exited {
			return process.Failure("exited early")
		}
	}
	return nil
}

// notReadyNodes returns the names whose node is missing or lacks a Ready
// condition that is True; all of them while the API cannot be read.
func (c *Cluster) notReadyNodes(ctx context.Context, names []string) []string {
	list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return names
	}
	ready := map[string]bool{}
	for _, node := range list.Items {
		ready[node.Name] = nodeReady(&node)
	}
	var notReady []string
	for _, name := range names {
		if !ready[name] {
			notReady = append(notReady, name)
		}
	}
	return notReady
}

// nodeReady reports whether the node's Ready condition is True.
func nodeReady(node *corev1.Node) bool {
	for _, condition := range node.Status.Conditions {
		if condition.Type == corev1.NodeReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}
