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
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"

	"github.com/fedhub/fedhub/pkg/certs"
)

// clusterStartTimeout bounds how long a kube-apiserver may take to become ready.
const clusterStartTimeout = 3 * time.Minute

// ClusterOptions configure one cluster's kube-apiserver.
type ClusterOptions struct {
	// Name names the cluster, its directory, its etcd prefix and its processes.
	Name string
	// Dir holds the cluster's certificates, keys and logs.
	Dir     string
	EtcdURL string
	// Aggregator configures the front-proxy (requestheader) client the
	// aggregator uses to call extension API servers such as fedhub.
	Aggregator bool
	// ExtraArgs are more kube-apiserver flags, after the framework's, so
	// they win where they name the same flag (e.g. --request-timeout=10s).
	ExtraArgs []string
}

// Cluster is a running kube-apiserver with an admin identity.
type Cluster struct {
	Name string
	// URL is the https address of the kube-apiserver.
	URL string
	// CA signs the serving certificate and the client certificates the cluster trusts.
	CA *certs.CA
	// AdminKubeconfig is the path of a kubeconfig for a system:masters user.
	AdminKubeconfig string
	AdminConfig     *rest.Config
	Client          kubernetes.Interface
	// Agent is the fedhub-agent of a member joined in pull mode
	// (Federation.JoinPull), nil otherwise; StopAgent and StartAgent stop
	// and restart it.
	Agent *Process

	dir string
	// serviceAccountKey signs and verifies service account tokens.
	serviceAccountKey string
	// processes[0] is the kube-apiserver, started from apiServerBinary with apiServerArgs.
	processes       []*Process
	apiServerBinary string
	apiServerArgs   []string
	restarts        int
	// agentBinary and agentArgs start Agent; agentStarts counts its starts.
	agentBinary string
	agentArgs   []string
	agentStarts int
}

// StartCluster starts a kube-apiserver with RBAC, client-certificate and
// service-account token authentication, and waits until it is ready.
func StartCluster(ctx context.Context, binaries Binaries, options ClusterOptions) (*Cluster, error) {
	dir := options.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := certs.NewCA(options.Name + "-ca")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Name: options.Name, URL: "https://127.0.0.1:" + strconv.Itoa(port), CA: ca, dir: dir,
		serviceAccountKey: filepath.Join(dir, "service-account.key"),
		AdminKubeconfig:   filepath.Join(dir, "admin.kubeconfig"),
	}
	flags, err := c.writeCredentials(options)
	if err != nil {
		return nil, err
	}
	flags["secure-port"] = strconv.Itoa(port)
	flags["bind-address"] = "127.0.0.1"
	flags["advertise-address"] = "127.0.0.1"
	flags["etcd-servers"] = options.EtcdURL
	flags["etcd-prefix"] = "/" + options.Name
	flags["authorization-mode"] = "RBAC"
	flags["service-cluster-ip-range"] = "10.96.0.0/16"
	flags["service-account-issuer"] = "https://kubernetes.default.svc"
	flags["service-account-key-file"] = c.serviceAccountKey
	flags["service-account-signing-key-file"] = c.serviceAccountKey
	flags["allow-privileged"] = "true"
	flags["profiling"] = "false"
	// The kubernetes Service cannot point at a loopback address; nothing here needs it.
	flags["endpoint-reconciler-type"] = "none"
	// kwok's nodes report InternalIP 127.0.0.1 and their kubelet port (its
	// server's); their Hostname resolves nowhere. Without
	// --kubelet-certificate-authority the kube-apiserver does not verify the
	// kubelet's serving certificate.
	flags["kubelet-preferred-address-types"] = "InternalIP"

	c.apiServerBinary, c.apiServerArgs = binaries.KubeAPIServer, append(flagArgs(flags), options.ExtraArgs...)
	process, err := StartProcess(options.Name+"-kube-apiserver", dir, c.apiServerBinary, c.apiServerArgs...)
	if err != nil {
		return nil, err
	}
	c.processes = append(c.processes, process)
	if err := c.waitReady(ctx, process); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// writeCredentials writes the serving certificate, client CA, admin and
// service-account keys (and the front-proxy CA and client for an aggregator),
// and returns the kube-apiserver flags that name them.
func (c *Cluster) writeCredentials(options ClusterOptions) (map[string]string, error) {
	path := func(name string) string { return filepath.Join(c.dir, name) }
	serving, err := c.CA.IssueServing("kubernetes", "kubernetes.default", "kubernetes.default.svc")
	if err != nil {
		return nil, err
	}
	if err := serving.WriteFiles(path("serving.crt"), path("serving.key")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path("ca.crt"), c.CA.CertPEM, 0o644); err != nil {
		return nil, err
	}
	saKey, err := keyutil.MakeEllipticPrivateKeyPEM()
	if err != nil {
		return nil, err
	}
	if err := keyutil.WriteKey(c.serviceAccountKey, saKey); err != nil {
		return nil, err
	}
	flags := map[string]string{
		"tls-cert-file":        path("serving.crt"),
		"tls-private-key-file": path("serving.key"),
		"client-ca-file":       path("ca.crt"),
	}
	if options.Aggregator {
		frontProxyCA, err := certs.NewCA(options.Name + "-front-proxy-ca")
		if err != nil {
			return nil, err
		}
		proxyClient, err := frontProxyCA.IssueClient("front-proxy-client")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path("front-proxy-ca.crt"), frontProxyCA.CertPEM, 0o644); err != nil {
			return nil, err
		}
		if err := proxyClient.WriteFiles(path("front-proxy-client.crt"), path("front-proxy-client.key")); err != nil {
			return nil, err
		}
		flags["requestheader-client-ca-file"] = path("front-proxy-ca.crt")
		flags["requestheader-allowed-names"] = "front-proxy-client"
		flags["requestheader-username-headers"] = "X-Remote-User"
		flags["requestheader-group-headers"] = "X-Remote-Group"
		flags["requestheader-extra-headers-prefix"] = "X-Remote-Extra-"
		flags["proxy-client-cert-file"] = path("front-proxy-client.crt")
		flags["proxy-client-key-file"] = path("front-proxy-client.key")
	}

	admin, err := c.UserConfig("admin", "system:masters")
	if err != nil {
		return nil, err
	}
	if err := WriteKubeconfig(c.AdminKubeconfig, c.Name, admin); err != nil {
		return nil, err
	}
	c.AdminConfig = admin
	if c.Client, err = kubernetes.NewForConfig(admin); err != nil {
		return nil, err
	}
	return flags, nil
}

// waitReady polls /readyz, which includes the RBAC bootstrap, until it answers ok.
func (c *Cluster) waitReady(ctx context.Context, process *Process) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, clusterStartTimeout, true, func(ctx context.Context) (bool, error) {
		if exited, _ := process.Exited(); exited {
			return false, fmt.Errorf("exited")
		}
		result := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx)
		var status int
		result.StatusCode(&status)
		return status == 200, nil
	})
	if err != nil {
		return process.Failure(fmt.Sprintf("not ready: %v", err))
	}
	return nil
}

// UserConfig returns a client configuration for a user authenticated by a
// client certificate this cluster trusts.
func (c *Cluster) UserConfig(user string, groups ...string) (*rest.Config, error) {
	pair, err := c.CA.IssueClient(user, groups...)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            c.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CA.CertPEM, CertData: pair.CertPEM, KeyData: pair.KeyPEM},
		QPS:             100, Burst: 200,
	}, nil
}

// StopAPIServer stops the cluster's kube-apiserver alone, as an outage would;
// its state stays in etcd and the other processes keep running.
func (c *Cluster) StopAPIServer() {
	c.processes[0].Stop()
}

// StartAPIServer starts the kube-apiserver again after StopAPIServer, with the
// same flags at the same address, and waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.restarts++
	name := fmt.Sprintf("%s-kube-apiserver-restart-%d", c.Name, c.restarts)
	process, err := StartProcess(name, c.dir, c.apiServerBinary, c.apiServerArgs...)
	if err != nil {
		return err
	}
	c.processes[0] = process
	return c.waitReady(ctx, process)
}

// Stop stops the cluster's processes, last started first.
func (c *Cluster) Stop() {
	c.StopAgent()
	for i := len(c.processes) - 1; i >= 0; i-- {
		c.processes[i].Stop()
	}
	c.processes = nil
}

// WriteKubeconfig writes a kubeconfig for config, with clusterName as its cluster and context name.
func WriteKubeconfig(path, clusterName string, config *rest.Config) error {
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters[clusterName] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: config.CAData}
	kubeconfig.AuthInfos[clusterName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: config.CertData, ClientKeyData: config.KeyData, Token: config.BearerToken,
	}
	kubeconfig.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: clusterName}
	kubeconfig.CurrentContext = clusterName
	return clientcmd.WriteToFile(*kubeconfig, path)
}

// APIServerPID is the process ID of the cluster's kube-apiserver.
func (c *Cluster) APIServerPID() int {
	return c.processes[0].PID()
}
