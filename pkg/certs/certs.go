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

// Package certs is a small certificate authority: fedhub's standalone mode and
// the test harness use it to issue serving and client certificates.
package certs

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

// CA signs serving and client certificates.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	// CertPEM is what clients put in their kubeconfig to trust the CA's servers.
	CertPEM []byte
}

// NewCA creates a CA that exists only in memory.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, CertPEM: encodeCert(cert)}, nil
}

// LoadOrCreateCA reads ca.crt and ca.key from dir, creating them the first
// time. Keeping a CA across restarts keeps the kubeconfigs it issued valid.
func LoadOrCreateCA(dir, commonName string) (*CA, error) {
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
		return &CA{cert: certs[0], key: signer, CertPEM: certPEM}, nil
	}
	ca, err := NewCA(commonName)
	if err != nil {
		return nil, err
	}
	if err := ca.WriteFiles(certPath, keyPath); err != nil {
		return nil, err
	}
	return ca, nil
}

// WriteFiles writes the CA's certificate and key as PEM files.
func (ca *CA) WriteFiles(certPath, keyPath string) error {
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(ca.key)
	if err != nil {
		return err
	}
	return (&KeyPair{CertPEM: ca.CertPEM, KeyPEM: keyPEM}).WriteFiles(certPath, keyPath)
}

// KeyPair is a certificate signed by the CA, with its key, both PEM-encoded.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// WriteFiles writes the certificate and its key; the key is readable by its owner only.
func (p *KeyPair) WriteFiles(certPath, keyPath string) error {
	if err := certutil.WriteCert(certPath, p.CertPEM); err != nil {
		return err
	}
	return keyutil.WriteKey(keyPath, p.KeyPEM)
}

// IssueServing signs a serving certificate for localhost, the loopback
// addresses and any extra DNS names.
func (ca *CA) IssueServing(extraDNS ...string) (*KeyPair, error) {
	return ca.issue(loopback("fedhub-apiserver", extraDNS, x509.ExtKeyUsageServerAuth))
}

// IssuePeer signs a certificate for a cluster member on loopback, such as an
// etcd peer: it serves, and it is a client of the other members.
func (ca *CA) IssuePeer(commonName string) (*KeyPair, error) {
	return ca.issue(loopback(commonName, nil, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth))
}

func loopback(commonName string, extraDNS []string, usages ...x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    append([]string{"localhost"}, extraDNS...),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		ExtKeyUsage: usages,
	}
}

// IssueClient signs a client certificate; Kubernetes takes the CommonName as
// the user name and the organizations as its groups.
func (ca *CA) IssueClient(user string, groups ...string) (*KeyPair, error) {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (ca *CA) issue(template *x509.Certificate) (*KeyPair, error) {
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
	return &KeyPair{CertPEM: encodeCert(cert), KeyPEM: keyPEM}, nil
}

func encodeCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: cert.Raw})
}
