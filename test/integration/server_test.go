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

package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	clientset "github.com/fedhub/fedhub/generated/clientset/versioned"
	"github.com/fedhub/fedhub/pkg/cmd/server"
	"github.com/fedhub/fedhub/pkg/reconciler/clusterhealth"
	"github.com/fedhub/fedhub/pkg/reconciler/propagation"
	"github.com/fedhub/fedhub/pkg/reconciler/scheduling"
)

// readyTimeout bounds how long a fresh in-process server may take to serve.
const readyTimeout = 2 * time.Minute

// fedhub is an in-process fedhub-apiserver in standalone mode with embedded etcd.
type fedhub struct {
	config *rest.Config
	client clientset.Interface
	stop   func()
}

// startFedhub runs fedhub-apiserver in this process with its certificates and
// etcd data under dataDir, on a free port, and waits until /readyz answers.
// Starting twice on the same dataDir is a restart on the same etcd data.
// Options may be changed by customize before they are completed.
func startFedhub(t *testing.T, dataDir string, customize ...func(*server.Options)) *fedhub {
	t.Helper()
	return startFedhubRunning(t, dataDir, (*server.Options).Run, customize...)
}

// startFedhubRunning is startFedhub with run serving in place of Options.Run.
func startFedhubRunning(t *testing.T, dataDir string, run func(*server.Options, context.Context) error, customize ...func(*server.Options)) *fedhub {
	t.Helper()
	kubeconfig := filepath.Join(dataDir, "admin.kubeconfig")
	// A kubeconfig left by an earlier start names the earlier port.
	if err := os.Remove(kubeconfig); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	options := server.NewOptions()
	options.Standalone = true
	// These tests check what storage keeps; a reconciler writing status
	// concurrently would change objects under them.
	options.Controllers = []string{"*", "-" + clusterhealth.ControllerName, "-" + propagation.ControllerName, "-" + scheduling.ControllerName}
	options.WriteKubeconfig = kubeconfig
	options.EmbeddedEtcdDir = filepath.Join(dataDir, "etcd")
	options.RecommendedOptions.SecureServing.BindPort = 0
	options.RecommendedOptions.SecureServing.ServerCert.CertDirectory = filepath.Join(dataDir, "certs")
	for _, c := range customize {
		c(options)
	}
	if err := options.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := options.Validate(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- run(options, ctx) }()
	stop := func() {
		cancel()
		if err := <-stopped; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("fedhub-apiserver stopped with an error: %v", err)
		}
	}

	var config *rest.Config
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, readyTimeout, true,
		func(ctx context.Context) (bool, error) {
			select {
			case err := <-stopped:
				return false, errors.Join(errors.New("fedhub-apiserver exited before it was ready"), err)
			default:
			}
			if config == nil {
				loaded, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
				if err != nil {
					return false, nil // not written yet
				}
				config = loaded
			}
			client, err := rest.HTTPClientFor(config)
			if err != nil {
				return false, err
			}
			response, err := client.Get(config.Host + "/readyz")
			if err != nil {
				return false, nil
			}
			_ = response.Body.Close()
			return response.StatusCode == 200, nil
		})
	if err != nil {
		stop()
		t.Fatalf("fedhub-apiserver did not become ready: %v", err)
	}
	client, err := clientset.NewForConfig(config)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	return &fedhub{config: config, client: client, stop: stop}
}
