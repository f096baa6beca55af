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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// certificateAuthority signs the standalone server's serving and client certificates.
type certificateAuthority struct {
	cert *x509.Certificate
	key  crypto.Signer
	// certPEM is what clients put in their kubeconfig to trust the server.
	certPEM []byte
}

// loadOrCreateCA reads ca.crt and ca.key from dir, creating them the first
// time. Keeping the CA across restarts keeps issued kubeconfigs valid.
func loadOrCreateCA(dir string) (*certificateAuthority, error) {
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if certPEM, err := os.ReadFile(certPath); err == nil {
		certs, err := certutil.ParseCertsPEM(certPEM)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", certPath, err)
		}
		key, err := keyutil.PrivateKeyFromFile(keyPath)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", keyPath, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s does not hold a signing key", keyPath)
		}
		return &certificateAuthority{cert: certs[0], key: signer, certPEM: certPEM}, nil
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: "fedhub-ca"}, key)
	if err != nil {
		return nil, err
	}
	ca := &certificateAuthority{cert: cert, key: key, certPEM: encodeCert(cert)}
	if err := writeKeyPair(certPath, keyPath, ca.certPEM, key); err != nil {
		return nil, err
	}
	return ca, nil
}

// issuedCert is a certificate signed by the CA, with its key, both PEM-encoded.
type issuedCert struct {
	certPEM, keyPEM []byte
}

// issueServing signs a serving certificate for localhost, the loopback
// addresses and any extra DNS names.
func (ca *certificateAuthority) issueServing(extraDNS []string) (*issuedCert, error) {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "fedhub-apiserver"},
		DNSNames:    append([]string{"localhost"}, extraDNS...),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// issueClient signs a client certificate; the CommonName becomes the user
// name and the organizations its groups.
func (ca *certificateAuthority) issueClient(user string, groups ...string) (*issuedCert, error) {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (ca *certificateAuthority) issue(template *x509.Certificate) (*issuedCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template.SerialNumber = serial
	template.NotBefore = now.Add(-time.Minute) // tolerate small clock differences
	template.NotAfter = now.Add(365 * 24 * time.Hour)
	template.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issuedCert{certPEM: encodeCert(cert), keyPEM: keyPEM}, nil
}

func encodeCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: cert.Raw})
}

func writeKeyPair(certPath, keyPath string, certPEM []byte, key crypto.Signer) error {
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return err
	}
	if err := certutil.WriteCert(certPath, certPEM); err != nil {
		return err
	}
	return keyutil.WriteKey(keyPath, keyPEM)
}
