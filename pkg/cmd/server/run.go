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
	"context"

	"k8s.io/klog/v2"
)

// Run starts etcd when it is embedded, then serves until ctx is cancelled, and
// stops everything it started before returning.
func (o *Options) Run(ctx context.Context) error {
	if o.UsesEmbeddedEtcd() {
		etcd, err := StartEmbeddedEtcd(o.EmbeddedEtcdDir)
		if err != nil {
			return err
		}
		// Stopped after the API server has drained, so that in-flight writes finish.
		defer etcd.Stop()
		etcd.ApplyTo(&o.RecommendedOptions.Etcd.StorageConfig.Transport)
		klog.V(2).InfoS("Embedded etcd serving", "dir", o.EmbeddedEtcdDir, "url", etcd.ClientURL)
	}

	config, err := o.Config()
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
