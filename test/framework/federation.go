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
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/join"
)

// apiOnlyControllers are the controllers an API-only member runs.
var apiOnlyControllers = []string{"serviceaccount-token-controller", "serviceaccount-controller", "namespace-controller",
	"garbage-collector-controller", "root-ca-certificate-publisher-controller"}

// FederationOptions say what to start.
type FederationOptions struct {
	Binaries Binaries
	// Dir holds every process's state and logs.
	Dir string
	// Members is the number of member clusters, named member-1, member-2, ...
	Members int
	// MembersAPIOnly starts members as a kube-apiserver alone: quicker, for
	// tests in which no workload has to run.
	MembersAPIOnly bool
	// Unjoined leaves the members unjoined, for tests of joining itself.
	Unjoined bool
	// NodesPerMember is the number of simulated nodes in each full member.
	NodesPerMember int
	// Progress receives a line per step; nil for none.
	Progress io.Writer
	// HostArgs are extra flags for the host's kube-apiserver, e.g.
	// --request-timeout=10s; they win over the framework's own.
	HostArgs []string
	// FedhubArgs are extra flags for fedhub-apiserver, e.g. for the benchmark.
	FedhubArgs []string
	// FedhubEtcdMembers, when set, gives fedhub an etcd cluster of its own
	// with this many members instead of its embedded etcd.
	FedhubEtcdMembers int
	// FedhubReplicas is the number of fedhub-apiserver processes sharing that
	// etcd (default 1). The host reaches the first; tests reach the others
	// directly.
	FedhubReplicas int
	// PullMembers are the numbers of the members (2 for member-2) joined in
	// pull mode: each gets a fedhub-agent process (Cluster.Agent) and
	// fedhub holds no credential for it. The others are joined in push mode.
	PullMembers []int
	// Agent says how pull members' agents run.
	Agent AgentOptions
}

// isPull tells whether member i is joined in pull mode.
func (o FederationOptions) isPull(i int) bool {
	return slices.Contains(o.PullMembers, i)
}

// Federation is a host cluster, member clusters sharing one etcd with it, and
// fedhub registered with the host, every member joined as a KubeFedCluster.
type Federation struct {
	Etcd    *Etcd
	Host    *Cluster
	Members []*Cluster
	Fedhub  *Fedhub
	// FedhubEtcd is fedhub's own etcd cluster, when FedhubEtcdMembers is set.
	FedhubEtcd *EtcdCluster
	// FedhubReplicas are every fedhub-apiserver process, Fedhub first.
	FedhubReplicas []*Fedhub
	// Client reaches fedhub through the host's aggregator as the host's admin.
	Client clientset.Interface

	progress io.Writer
}

// StartFederation starts everything and joins the members. On failure it
// stops what it started and says which process failed.
func StartFederation(ctx context.Context, o FederationOptions) (_ *Federation, err error) {
	f := &Federation{progress: o.Progress}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	if f.Etcd, err = StartEtcd(ctx, o.Binaries.Etcd, o.Dir); err != nil {
		return nil, err
	}
	progress("etcd serving at %s", f.Etcd.ClientURL)
	if f.Host, err = StartCluster(ctx, o.Binaries, ClusterOptions{Name: "host", Dir: filepath.Join(o.Dir, "host"), EtcdURL: f.Etcd.ClientURL, Aggregator: true, ExtraArgs: o.HostArgs}); err != nil {
		return nil, err
	}
	if _, err = f.Host.StartControllerManager(o.Binaries); err != nil {
		return nil, err
	}
	progress("host cluster serving at %s", f.Host.URL)
	for i := 1; i <= o.Members; i++ {
		member, err := f.startMember(ctx, o, i)
		if err != nil {
			return nil, err
		}
		progress("%s serving at %s", member.Name, member.URL)
	}
	fedhubArgs := o.FedhubArgs
	if o.FedhubEtcdMembers > 0 {
		if f.FedhubEtcd, err = StartEtcdCluster(ctx, o.Binaries.Etcd, filepath.Join(o.Dir, "fedhub-etcd"), "fedhub-etcd", o.FedhubEtcdMembers); err != nil {
			return nil, err
		}
		fedhubArgs = append([]string{"--etcd-servers=" + strings.Join(f.FedhubEtcd.ClientURLs(), ",")}, fedhubArgs...)
		progress("fedhub's etcd serving at %v", f.FedhubEtcd.ClientURLs())
	}
	if f.Fedhub, err = StartFedhub(ctx, o.Binaries, f.Host, filepath.Join(o.Dir, "fedhub"), fedhubArgs...); err != nil {
		return nil, err
	}
	f.FedhubReplicas = []*Fedhub{f.Fedhub}
	progress("fedhub-apiserver registered with the host: %v", f.Fedhub.APIServices)
	for i := 1; i < o.FedhubReplicas; i++ {
		replica, err := f.Fedhub.StartReplica(ctx, f.Host, fmt.Sprintf("fedhub-apiserver-%d", i))
		if err != nil {
			return nil, err
		}
		f.FedhubReplicas = append(f.FedhubReplicas, replica)
		progress("fedhub-apiserver replica %d serving at %s", i, replica.URL)
	}
	if f.Client, err = clientset.NewForConfig(f.Host.AdminConfig); err != nil {
		return nil, err
	}
	for i, member := range f.Members {
		if o.Unjoined {
			break
		}
		if o.isPull(i + 1) {
			if err := f.JoinPull(ctx, o.Binaries, member, o.Agent); err != nil {
				return nil, err
			}
			progress("%s joined in pull mode: its agent runs as process %d", member.Name, member.Agent.PID())
			continue
		}
		err := join.Join(ctx, join.Options{
			ClusterName: member.Name, Member: member.AdminConfig,
			Host: f.Host.Client, Federation: f.Client, Progress: o.Progress,
		})
		if err != nil {
			return nil, fmt.Errorf("joining %s: %w", member.Name, err)
		}
	}
	return f, nil
}

func (f *Federation) startMember(ctx context.Context, o FederationOptions, i int) (*Cluster, error) {
	name := fmt.Sprintf("member-%d", i)
	member, err := StartCluster(ctx, o.Binaries, ClusterOptions{Name: name, Dir: filepath.Join(o.Dir, name), EtcdURL: f.Etcd.ClientURL})
	if err != nil {
		return nil, err
	}
	f.Members = append(f.Members, member)
	if o.MembersAPIOnly {
		// Enough for joining and unjoining: the token controller fills the
		// federation's token Secret, the namespace controller finishes deletions.
		_, err := member.StartControllerManager(o.Binaries, apiOnlyControllers...)
		return member, err
	}
	region := fmt.Sprintf("region-%d", i)
	nodes := NodeOptions{Count: max(o.NodesPerMember, 1), Region: region, Zone: region + "a"}
	if err := member.StartWorkloads(ctx, o.Binaries, nodes); err != nil {
		return nil, err
	}
	return member, nil
}

// WriteKubeconfigs writes host.kubeconfig and member-<i>.kubeconfig, each for
// the cluster's administrator, and federation.kubeconfig with all of them as
// contexts, into dir.
func (f *Federation) WriteKubeconfigs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, c := range append([]*Cluster{f.Host}, f.Members...) {
		if err := WriteKubeconfig(filepath.Join(dir, c.Name+".kubeconfig"), c.Name, c.AdminConfig); err != nil {
			return err
		}
	}
	return f.WriteCombinedKubeconfig(filepath.Join(dir, "federation.kubeconfig"))
}

// WriteCombinedKubeconfig writes one kubeconfig with a context per cluster,
// named after it (host, member-1, ...), the host's current: the file a
// platform engineer hands to fedhubctl.
func (f *Federation) WriteCombinedKubeconfig(path string) error {
	kubeconfig := clientcmdapi.NewConfig()
	for _, c := range append([]*Cluster{f.Host}, f.Members...) {
		config := c.AdminConfig
		kubeconfig.Clusters[c.Name] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: config.CAData}
		kubeconfig.AuthInfos[c.Name] = &clientcmdapi.AuthInfo{ClientCertificateData: config.CertData, ClientKeyData: config.KeyData}
		kubeconfig.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: c.Name}
	}
	kubeconfig.CurrentContext = f.Host.Name
	return clientcmd.WriteToFile(*kubeconfig, path)
}

// Stop stops every process: pull members' agents, fedhub, the clusters, etcd last.
func (f *Federation) Stop() {
	for _, member := range f.Members {
		member.StopAgent()
	}
	for _, replica := range f.FedhubReplicas {
		replica.Stop()
	}
	if f.Fedhub != nil {
		f.Fedhub.Stop()
	}
	if f.FedhubEtcd != nil {
		f.FedhubEtcd.Stop()
	}
	for i := len(f.Members) - 1; i >= 0; i-- {
		f.Members[i].Stop()
	}
	if f.Host != nil {
		f.Host.Stop()
	}
	if f.Etcd != nil {
		f.Etcd.Stop()
	}
}
