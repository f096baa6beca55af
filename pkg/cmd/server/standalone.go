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

package server

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fedhub/fedhub/pkg/certs"
)

// standaloneAdmin is the user of the kubeconfig standalone mode writes.
const standaloneAdmin = "fedhub-admin"

func (o *Options) certDir() string {
	return o.RecommendedOptions.SecureServing.ServerCert.CertDirectory
}

// applyStandaloneCertificates makes fedhub its own CA and serves with a
// certificate that CA signs, so that one kubeconfig trusts every restart.
func (o *Options) applyStandaloneCertificates() error {
	dir := o.certDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := certs.LoadOrCreateCA(dir, "fedhub-ca")
	if err != nil {
		return fmt.Errorf("standalone certificate authority: %w", err)
	}
	serving, err := ca.IssueServing(o.AlternateDNS...)
	if err != nil {
		return fmt.Errorf("standalone serving certificate: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key")
	if err := serving.WriteFiles(certPath, keyPath); err != nil {
		return err
	}
	o.RecommendedOptions.SecureServing.ServerCert.CertKey.CertFile = certPath
	o.RecommendedOptions.SecureServing.ServerCert.CertKey.KeyFile = keyPath
	if o.WriteKubeconfig != "" {
		return o.writeAdminKubeconfig(ca)
	}
	return nil
}

// applyStandaloneAuth authenticates client certificates signed by the
// standalone CA and authorizes the system:masters group only. Requests from the
// server's own loopback client are allowed by the generic server.
func (o *Options) applyStandaloneAuth(config *genericapiserver.Config) error {
	clientCA, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", filepath.Join(o.certDir(), "ca.crt"))
	if err != nil {
		return err
	}
	config.Authentication.Authenticator = x509.NewDynamic(clientCA.VerifyOptions, x509.CommonNameUserConversion)
	if err := config.Authentication.ApplyClientCert(clientCA, config.SecureServing); err != nil {
		return err
	}
	config.Authorization.Authorizer = authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)
	return nil
}

// writeAdminKubeconfig writes a kubeconfig for a system:masters user, with a
// fresh client certificate, pointing at this server.
func (o *Options) writeAdminKubeconfig(ca *certs.CA) error {
	admin, err := ca.IssueClient(standaloneAdmin, user.SystemPrivilegedGroup)
	if err != nil {
		return fmt.Errorf("standalone admin certificate: %w", err)
	}
	const name = "fedhub"
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters[name] = &clientcmdapi.Cluster{Server: o.ServerURL(), CertificateAuthorityData: ca.CertPEM}
	kubeconfig.AuthInfos[standaloneAdmin] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertPEM, ClientKeyData: admin.KeyPEM}
	kubeconfig.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: standaloneAdmin, Namespace: "default"}
	kubeconfig.CurrentContext = name
	if dir := filepath.Dir(o.WriteKubeconfig); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return clientcmd.WriteToFile(*kubeconfig, o.WriteKubeconfig)
}
