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

// Package identity gives fedhub-agent its own identity on the host: it
// registers the cluster with the bootstrap kubeconfig, waits for approval,
// obtains a token of the agent's ServiceAccount through the registration's
// token subresource, keeps it in the state directory and renews it.
package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	"github.com/fedhub/fedhub/generated/clientset/versioned"
	agentclient "github.com/fedhub/fedhub/generated/clientset/versioned/typed/agent/v1alpha1"
)

// FileName is the file in the state directory that holds the identity.
const FileName = "identity.kubeconfig"

const (
	// renewFraction of a token's lifetime passes before it is renewed.
	renewFraction = 0.8
	// approvalWatch bounds one watch for the approval; then it is read again.
	approvalWatch = 5 * time.Minute
	// retryMin and retryMax bound the backoff of failed requests.
	retryMin = time.Second
	retryMax = 30 * time.Second
	// hubQPS and hubBurst bound the agent's requests to the host: one
	// status write per Work it applies, and the lease.
	hubQPS   = 100
	hubBurst = 200
)

// Options say whose identity to obtain and where to keep it.
type Options struct {
	// ClusterName is the cluster, and the registration's name.
	ClusterName string
	// Namespace holds the registration.
	Namespace string
	// HubKubeconfig is the bootstrap kubeconfig: the host's address and CA
	// and the bootstrap token. Empty when only the stored identity may be used.
	HubKubeconfig string
	// StateDir holds FileName.
	StateDir string
	// APIEndpoint is what the registration reports as the member's API server.
	APIEndpoint string
	// Expiration is the lifetime to ask for the agent's tokens.
	Expiration time.Duration
	// NewClient builds a client; versioned.NewForConfig when nil.
	NewClient func(*rest.Config) (versioned.Interface, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Identity is the agent's identity on the host, renewed in place: clients
// built from Config use the current token on every request.
type Identity struct {
	o Options
	// cluster is the host's kubeconfig entry, written with every token.
	cluster *clientcmdapi.Cluster
	// base is the host's address and CA, without credentials.
	base   *rest.Config
	client agentclient.ClusterRegistrationInterface

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// ErrRefused says the host refused a credential (401 or 403).
var ErrRefused = errors.New("refused")

// ErrRegistrationGone says the registration of an identity the host once
// issued is gone: the cluster was unjoined (or its registration deleted)
// while the agent was stopped.
var ErrRegistrationGone = errors.New("the cluster's registration was deleted while the agent was stopped " +
	"(unjoined?) and the host refuses the agent's stored identity: the agent cannot know whether the member's objects " +
	"were to be deleted or orphaned, and leaves the member as it is")

// Refused reports whether err is the host refusing the credential.
func Refused(err error) bool {
	return errors.Is(err, ErrRefused) || apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err)
}

// Obtain returns the stored identity when the host still accepts it, else
// registers the cluster with the bootstrap identity, waits for an
// administrator (or the bootstrap token) to approve it, and obtains a new
// one. It retries what may pass (an unreachable host) until ctx ends.
func Obtain(ctx context.Context, o Options) (*Identity, error) {
	if o.NewClient == nil {
		o.NewClient = func(c *rest.Config) (versioned.Interface, error) { return versioned.NewForConfig(c) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	logger := klog.FromContext(ctx)
	path := filepath.Join(o.StateDir, FileName)
	// refused says the host no longer accepts an identity it once issued.
	refused := false
	if stored, err := load(path, o, true); err != nil && !os.IsNotExist(err) {
		logger.Info("The stored identity cannot be read; registering again", "path", path, "err", err)
	} else if err == nil {
		err := retry(ctx, func() error {
			_, err := stored.registrations().Get(ctx, o.ClusterName, metav1.GetOptions{})
			return err
		})
		switch {
		case err == nil:
			logger.Info("Using the stored identity", "path", path, "renewAt", stored.renewAt)
			return stored.Identity, nil
		case Refused(err) || apierrors.IsNotFound(err):
			logger.Info("The host no longer accepts the stored identity; registering again", "err", err)
			refused = true
		default:
			return nil, err
		}
	}
	if o.HubKubeconfig == "" {
		return nil, fmt.Errorf("no usable identity in %s, and no bootstrap kubeconfig (--hub-kubeconfig) to register with", path)
	}
	bootstrap, err := load(o.HubKubeconfig, o, false)
	if err != nil {
		return nil, fmt.Errorf("the bootstrap kubeconfig: %w", err)
	}
	bootstrapClient, err := o.NewClient(bootstrap.credentialed)
	if err != nil {
		return nil, err
	}
	registrations := bootstrapClient.AgentV1alpha1().ClusterRegistrations(o.Namespace)
	if err := register(ctx, registrations, o, refused); err != nil {
		if errors.Is(err, ErrRegistrationGone) {
			return nil, fmt.Errorf("%w; remove %s to register the cluster again", err, path)
		}
		return nil, err
	}
	id := bootstrap.Identity
	var minted *agentv1alpha1.AgentToken
	err = retry(ctx, func() error {
		var err error
		minted, err = registrations.CreateToken(ctx, o.ClusterName, id.tokenRequest(), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("obtaining the agent's token with the bootstrap identity: %w", err)
	}
	if err := id.set(minted); err != nil {
		return nil, err
	}
	logger.Info("Obtained the agent's identity", "path", path, "renewAt", id.renewAt)
	return id, nil
}

// Config is the client configuration of the identity: the host's address
// and CA, and the current token.
func (id *Identity) Config() *rest.Config {
	c := rest.CopyConfig(id.base)
	// Every Work's status goes through this identity.
	c.QPS, c.Burst = hubQPS, hubBurst
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{id: id, next: rt} }
	return c
}

// Run renews the token before renewFraction of its lifetime has passed,
// with the identity itself, until ctx ends. A failed renewal is retried
// with backoff; whether a refusal means the identity was revoked is for
// the caller to find out.
func (id *Identity) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	backoff := retryMin
	for {
		id.mu.Lock()
		wait := id.renewAt.Sub(id.o.Now())
		id.mu.Unlock()
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		err := id.Renew(ctx)
		if err == nil {
			backoff = retryMin
			continue
		}
		logger.Error(err, "Renewing the agent's token failed; retrying", "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, retryMax)
	}
}

// Renew obtains a new token with the current one and stores it.
func (id *Identity) Renew(ctx context.Context) error {
	minted, err := id.registrations().CreateToken(ctx, id.o.ClusterName, id.tokenRequest(), metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if err := id.set(minted); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Renewed the agent's token", "renewAt", id.RenewAt())
	return nil
}

// RenewAt is when the token is renewed next.
func (id *Identity) RenewAt() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.renewAt
}

func (id *Identity) current() string {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.token
}

func (id *Identity) registrations() agentclient.ClusterRegistrationInterface {
	return id.client
}

func (id *Identity) tokenRequest() *agentv1alpha1.AgentToken {
	return &agentv1alpha1.AgentToken{Spec: agentv1alpha1.AgentTokenSpec{
		ExpirationSeconds: ptr.To(int64(id.o.Expiration / time.Second)),
	}}
}

// set stores a minted token in the state directory, then uses it.
func (id *Identity) set(minted *agentv1alpha1.AgentToken) error {
	if minted == nil || minted.Status.Token == "" {
		return fmt.Errorf("fedhub answered the token request without a token")
	}
	now := id.o.Now()
	expires := minted.Status.ExpirationTimestamp.Time
	if expires.IsZero() || !expires.After(now) {
		expires = now.Add(id.o.Expiration)
	}
	if err := save(filepath.Join(id.o.StateDir, FileName), id.cluster, minted.Status.Token); err != nil {
		return fmt.Errorf("storing the agent's identity: %w", err)
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	id.token = minted.Status.Token
	id.renewAt = now.Add(time.Duration(renewFraction * float64(expires.Sub(now))))
	return nil
}

// register creates the registration (one that exists is fine) and waits
// until it is approved.
func register(ctx context.Context, registrations agentclient.ClusterRegistrationInterface, o Options, mustExist bool) error {
	logger := klog.FromContext(ctx)
	waiting := false
	for {
		var reg *agentv1alpha1.ClusterRegistration
		err := retry(ctx, func() error {
			var err error
			reg, err = registrations.Get(ctx, o.ClusterName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && mustExist {
				return ErrRegistrationGone
			}
			if apierrors.IsNotFound(err) {
				reg, err = registrations.Create(ctx, &agentv1alpha1.ClusterRegistration{
					ObjectMeta: metav1.ObjectMeta{Name: o.ClusterName, Namespace: o.Namespace},
					Spec:       agentv1alpha1.ClusterRegistrationSpec{APIEndpoint: o.APIEndpoint},
				}, metav1.CreateOptions{})
				if err == nil {
					logger.Info("Registered the cluster", "registration", o.Namespace+"/"+o.ClusterName, "apiEndpoint", o.APIEndpoint)
				}
				if apierrors.IsAlreadyExists(err) {
					return errAgain
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("registering with the bootstrap identity: %w", err)
		}
		if reg.Spec.Approved {
			return nil
		}
		if !waiting {
			logger.Info("Waiting for the registration to be approved (fedhubctl approve NAME)", "registration", o.Namespace+"/"+o.ClusterName)
			waiting = true
		}
		if err := watchApproval(ctx, registrations, o.ClusterName, reg.ResourceVersion); err != nil {
			return err
		}
	}
}

// watchApproval returns when the registration may be approved: approved,
// deleted, or the watch ended. Only ctx ending is an error.
func watchApproval(ctx context.Context, registrations agentclient.ClusterRegistrationInterface, name, resourceVersion string) error {
	w, err := registrations.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: resourceVersion,
		TimeoutSeconds:  ptr.To(int64(approvalWatch / time.Second)),
	})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Watching the registration failed; reading it again", "err", err)
		return sleep(ctx, retryMin)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			reg, isReg := ev.Object.(*agentv1alpha1.ClusterRegistration)
			if ev.Type == watch.Deleted || ev.Type == watch.Error || (isReg && reg.Spec.Approved) {
				return nil
			}
		}
	}
}

var errAgain = errors.New("again")

// retry runs f until it succeeds, fails with something retrying cannot
// change (a refusal, a bad request), or ctx ends.
func retry(ctx context.Context, f func() error) error {
	backoff := retryMin
	for {
		err := f()
		if err == nil || (!errors.Is(err, errAgain) && !transient(err)) {
			return err
		}
		if !errors.Is(err, errAgain) {
			klog.FromContext(ctx).Info("A request to the host failed; retrying", "err", err, "in", backoff)
		}
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, retryMax)
	}
}

// transient reports whether err may pass by itself: the host unreachable,
// busy or failing inside.
func transient(err error) bool {
	if errors.Is(err, ErrRegistrationGone) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsConflict(err) ||
		apierrors.IsUnexpectedServerError(err)
}

// sleep waits for d, or returns ctx's error when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// bearer sets the identity's current token on every request.
type bearer struct {
	id   *Identity
	next http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = utilnet.CloneRequest(req)
	req.Header.Set("Authorization", "Bearer "+b.id.current())
	return b.next.RoundTrip(req)
}

func (b *bearer) WrappedRoundTripper() http.RoundTripper { return b.next }

// loaded is a kubeconfig read for the host.
type loaded struct {
	*Identity
	// credentialed is the kubeconfig's client configuration with its own
	// credentials: the bootstrap token's.
	credentialed *rest.Config
}

// load reads a kubeconfig of the host: the stored identity (stored: its
// token is the identity's), or the bootstrap kubeconfig.
func load(path string, o Options, stored bool) (*loaded, error) {
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	// Read certificate files into the entry, so the identity's kubeconfig
	// needs no other file.
	if err := clientcmdapi.FlattenConfig(raw); err != nil {
		return nil, err
	}
	config, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	current := raw.Contexts[raw.CurrentContext]
	if current == nil || raw.Clusters[current.Cluster] == nil {
		return nil, fmt.Errorf("%s has no current context with a cluster", path)
	}
	id := &Identity{o: o, cluster: raw.Clusters[current.Cluster].DeepCopy(), base: rest.AnonymousClientConfig(config)}
	id.cluster.LocationOfOrigin = ""
	if id.client, err = newRegistrations(o, id.Config()); err != nil {
		return nil, err
	}
	if stored {
		if config.BearerToken == "" {
			return nil, fmt.Errorf("%s holds no token", path)
		}
		id.token = config.BearerToken
		id.renewAt = renewTime(config.BearerToken, o.Now())
	}
	return &loaded{Identity: id, credentialed: config}, nil
}

func newRegistrations(o Options, config *rest.Config) (agentclient.ClusterRegistrationInterface, error) {
	client, err := o.NewClient(config)
	if err != nil {
		return nil, err
	}
	return client.AgentV1alpha1().ClusterRegistrations(o.Namespace), nil
}

// renewTime is when a stored token is due for renewal, from its JWT claims;
// now when they cannot be read.
func renewTime(token string, now time.Time) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return now
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return now
	}
	var claims struct {
		IssuedAt  int64 `json:"iat"`
		ExpiresAt int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.ExpiresAt <= claims.IssuedAt || claims.IssuedAt == 0 {
		return now
	}
	issued, expires := time.Unix(claims.IssuedAt, 0), time.Unix(claims.ExpiresAt, 0)
	return issued.Add(time.Duration(renewFraction * float64(expires.Sub(issued))))
}

// save writes the identity's kubeconfig (mode 0600) atomically: a reader
// sees the old or the new token, never a part.
func save(path string, cluster *clientcmdapi.Cluster, token string) error {
	const user = "fedhub-agent"
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["hub"] = cluster
	kubeconfig.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	kubeconfig.Contexts[user] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: user}
	kubeconfig.CurrentContext = user
	data, err := clientcmd.Write(*kubeconfig)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+FileName+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
