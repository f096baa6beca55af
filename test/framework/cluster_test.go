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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClusterServesAndStops(t *testing.T) {
	binaries, err := DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	etcd, err := StartEtcd(ctx, binaries.Etcd, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Stop()
	cluster, err := StartCluster(ctx, binaries, ClusterOptions{Name: "host", Dir: dir + "/host", EtcdURL: etcd.ClientURL, Aggregator: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	version, err := cluster.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if version.GitVersion != "v1.37.2" {
		t.Errorf("kube-apiserver reports %s, want v1.37.2", version.GitVersion)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Errorf("default namespace: %v", err)
	}
}
