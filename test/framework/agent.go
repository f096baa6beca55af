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
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	"github.com/fedhub/fedhub/pkg/join"
)

const (
	// clusterReadyTimeout bounds how long a pull member may take to turn Ready.
	clusterReadyTimeout = 3 * time.Minute
	// bootstrapTTL outlives any test: a restarted agent that lost its
	// identity registers again with the same bootstrap kubeconfig.
	bootstrapTTL = 24 * time.Hour
)

// AgentOptions say how the agents of pull members run.
type AgentOptions struct {
	// LeaseDuration is the agent's --lease-duration; zero is the agent's default.
	LeaseDuration time.Duration
	// Args are further flags for fedhub-agent.
	Args []string
}

// JoinPull joins member in pull mode, as 'fedhubctl join NAME --mode pull
// --auto-approve' does: a bootstrap token of an auto-approved registration,
// written as a kubeconfig into the member's state directory; then it starts
// fedhub-agent beside the member (Cluster.Agent) and waits until the
// KubeFedCluster is Ready.
func (f *Federation) JoinPull(ctx context.Context, binaries Binaries, member *Cluster, o AgentOptions) error {
	dir := filepath.Join(member.dir, "agent")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	bootstrap := filepath.Join(dir, "bootstrap.kubeconfig")
	_, err := join.JoinPull(ctx, join.PullJoinOptions{
		TokenOptions: join.TokenOptions{ClusterName: member.Name, TTL: bootstrapTTL, AutoApprove: true,
			Host: f.Host.Client, Progress: f.progress},
		HostConfig: f.Host.AdminConfig, Federation: f.Client, KubeconfigPath: bootstrap,
	})
	if err != nil {
		return fmt.Errorf("joining %s in pull mode: %w", member.Name, err)
	}
	args := []string{
		"--cluster-name=" + member.Name,
		"--hub-kubeconfig=" + bootstrap,
		"--member-kubeconfig=" + member.AdminKubeconfig,
		"--state-dir=" + filepath.Join(dir, "state"),
		// The harness's chart repositories are on 127.0.0.1.
		"--helm-allow-loopback-repositories",
		"-v=2",
	}
	if o.LeaseDuration > 0 {
		args = append(args, "--lease-duration="+o.LeaseDuration.String())
	}
	member.agentBinary, member.agentArgs = binaries.FedhubAgent, append(args, o.Args...)
	if err := member.StartAgent(); err != nil {
		return err
	}
	return f.WaitClusterReady(ctx, member.Name)
}

// StartAgent starts the member's fedhub-agent (again, after StopAgent) with
// the flags JoinPull gave it; its state directory keeps its identity.
func (c *Cluster) StartAgent() error {
	if c.agentBinary == "" {
		return fmt.Errorf("%s was not joined in pull mode", c.Name)
	}
	if c.Agent != nil {
		if exited, _ := c.Agent.Exited(); !exited {
			return fmt.Errorf("the agent of %s is running", c.Name)
		}
	}
	if _, err := os.Stat(c.agentBinary); err != nil {
		return fmt.Errorf("%s is missing: run 'make build' first (or set FEDHUB_AGENT)", c.agentBinary)
	}
	name := c.Name + "-fedhub-agent"
	if c.agentStarts > 0 {
		name = fmt.Sprintf("%s-restart-%d", name, c.agentStarts)
	}
	c.agentStarts++
	// An agent that exits with status 0 was unjoined (docs/pull.md, Flow 7):
	// no failure to report.
	process, err := startProcess(name, c.dir, c.agentBinary, true, c.agentArgs...)
	if err != nil {
		return err
	}
	c.Agent = process
	return nil
}

// StopAgent stops the member's fedhub-agent, if it runs.
func (c *Cluster) StopAgent() {
	if c.Agent != nil {
		c.Agent.Stop()
	}
}

// WaitClusterReady waits until the KubeFedCluster name is Ready. For a pull
// member an agent that exits meanwhile fails the wait with the end of its log.
func (f *Federation) WaitClusterReady(ctx context.Context, name string) error {
	var agent *Process
	for _, member := range f.Members {
		if member.Name == name {
			agent = member.Agent
		}
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, clusterReadyTimeout, true, func(ctx context.Context) (bool, error) {
		if agent != nil {
			if exited, _ := agent.Exited(); exited {
				return false, fmt.Errorf("the agent exited")
			}
		}
		cluster, err := f.Client.CoreV1beta1().KubeFedClusters(join.DefaultFederationNamespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			last = "no KubeFedCluster yet"
			return false, nil
		case err != nil:
			last = err.Error()
			return false, nil
		}
		last = readiness(cluster)
		return cluster.IsReady(), nil
	})
	if err == nil {
		return nil
	}
	err = fmt.Errorf("KubeFedCluster %s is not Ready (%s): %w", name, last, err)
	if agent != nil {
		return agent.Failure(err.Error())
	}
	return err
}

// readiness says how a cluster's Ready condition stands, for messages.
func readiness(cluster *corev1beta1.KubeFedCluster) string {
	for _, condition := range cluster.Status.Conditions {
		if condition.Type == corev1beta1.ClusterReady {
			return fmt.Sprintf("Ready=%s %s: %s", condition.Status, deref(condition.Reason), deref(condition.Message))
		}
	}
	return "no Ready condition yet"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
