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

package join

import (
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	fedmember "github.com/fedhub/fedhub/pkg/member"
)

// What join writes must reach the member it joined, and nothing else.
func TestJoinedCredentialsGoOnlyToTheJoinedEndpoint(t *testing.T) {
	o := Options{ClusterName: "member-2", Member: &rest.Config{Host: "https://127.0.0.1:6443"}}
	o.complete()
	secret, cluster := o.credentialsSecret([]byte("s3cret")), o.kubeFedCluster()
	if got := secret.Annotations[fedmember.APIEndpointAnnotation]; got != "https://127.0.0.1:6443" {
		t.Errorf("the Secret records %q, want the endpoint joined with", got)
	}
	if _, err := fedmember.Config(cluster, secret); err != nil {
		t.Fatalf("the joined cluster cannot use its own Secret: %v", err)
	}
	cluster.Spec.APIEndpoint = "https://127.0.0.1:9999"
	_, err := fedmember.Config(cluster, secret)
	if err == nil || !strings.Contains(err.Error(), "refusing to send its credentials to https://127.0.0.1:9999") {
		t.Errorf("redirected: error = %v, want a refusal", err)
	}
}
