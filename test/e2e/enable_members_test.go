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

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fedhub/fedhub/pkg/join"
)

// retryAfterRolesFixed bounds the wait for a federated object that failed
// for a while to reach members whose roles were just extended.
const retryAfterRolesFixed = 2 * time.Minute

// TestEnableExtendsMemberRoles: members joined with least rights may manage
// only the types enabled when they were joined. fedhubctl enable adds the new
// type to their roles with the caller's member credentials, so that a
// FederatedLimitRange reaches members the harness joined (as fedhubctl join
// does) without joining them again.
func TestEnableExtendsMemberRoles(t *testing.T) {
	f := sharedFederation(t)
	host, federation := hostKubeconfig(), federationKubeconfig()
	const namespace = "enable-members-e2e"
	ctx := context.Background()

	// The members' roles are put back as they were, for the tests after this one.
	for _, member := range f.Members {
		roles := member.Client.RbacV1().ClusterRoles()
		before, err := roles.Get(ctx, join.Identity(member.Name), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: the role join created: %v", member.Name, err)
		}
		t.Cleanup(func() {
			current, err := roles.Get(ctx, before.Name, metav1.GetOptions{})
			if err == nil {
				current.Rules = before.Rules
				_, err = roles.Update(ctx, current, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Errorf("%s: restoring the role: %v", member.Name, err)
			}
		})
	}
	canManage := func(member string) string {
		out, _, _ := kubectlAs(federation, "--context", member, "auth", "can-i", "list", "limitranges", "-n", namespace,
			"--as", "system:serviceaccount:"+federationNamespace+":"+join.Identity(member))
		return strings.TrimSpace(out)
	}
	for _, member := range f.Members {
		if got := canManage(member.Name); got != "no" {
			t.Fatalf("%s: the federation may list limitranges before they are enabled: %q", member.Name, got)
		}
	}

	t.Cleanup(func() {
		// Objects first: an FTC is not deleted while objects of its kind exist.
		_, _, _ = kubectlAs(host, "delete", "federatedlimitrange", "defaults", "-n", namespace, "--ignore-not-found", "--timeout=60s")
		if out, err := fedhubctlOutput(federation, "disable", "limitranges", "--delete-federated-objects"); err != nil {
			t.Errorf("fedhubctl disable limitranges: %v\n%s", err, out)
		}
		_, _, _ = kubectlAs(host, "delete", "federatednamespace", namespace, "-n", namespace, "--ignore-not-found", "--timeout=60s")
		_, _, _ = kubectlAs(host, "delete", "namespace", namespace, "--wait=false")
	})
	limitRange := `apiVersion: types.kubefed.io/v1beta1
kind: FederatedLimitRange
metadata: {name: defaults, namespace: ` + namespace + `}
spec:
  template:
    spec:
      limits: [{type: Container, default: {memory: 256Mi}}]
  placement: {clusters: [{name: member-1}, {name: member-2}]}
`

	t.Run("without the rights, the status and an event say what is missing and how to fix it", func(t *testing.T) {
		out := mustFedhubctl(t, federation, "enable", "limitranges", "--update-member-roles=false")
		if want := "enable limitranges --update-member-roles"; !strings.Contains(out, want) {
			t.Errorf("fedhubctl enable without updating roles does not point to %q:\n%s", want, out)
		}
		waitHostDiscovers(t, "federatedlimitranges")
		mustKubectlAs(t, host, "create", "namespace", namespace)
		mustApplyAs(t, nil, federatedNamespace(namespace, "clusters: [{name: member-1}, {name: member-2}]"))
		mustApplyAs(t, nil, limitRange)
		eventually(t, "the FederatedLimitRange reports CachedRetrievalFailed", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedlimitrange", "defaults", "-n", namespace, "-o", `jsonpath={.status.clusters[*].status}`)
			return strings.TrimSpace(out), err == nil
		}, "CachedRetrievalFailed CachedRetrievalFailed")
		for _, member := range f.Members {
			want := "cluster " + member.Name + ": the federation's identity in the member lacks list/watch on limitranges"
			eventually(t, "an event says "+want, func() (string, bool) {
				out, _, err := kubectlAs(host, "get", "events", "-n", namespace, "--field-selector", "reason=CachedRetrievalFailed",
					"-o", "jsonpath={.items[*].message}")
				return "", err == nil && strings.Contains(out, want) && strings.Contains(out, "'fedhubctl enable limitranges --update-member-roles'")
			}, "")
		}
	})

	t.Run("enable extends the members' roles, and the FederatedLimitRange reaches them", func(t *testing.T) {
		out := mustFedhubctl(t, federation, "enable", "limitranges")
		t.Logf("fedhubctl enable limitranges:\n%s", out)
		for _, member := range f.Members {
			want := "member " + member.Name + ": ClusterRole " + join.Identity(member.Name) + " now allows managing limitranges"
			if !strings.Contains(out, want) {
				t.Errorf("fedhubctl enable does not report %q:\n%s", want, out)
			}
			if got := canManage(member.Name); got != "yes" {
				t.Errorf("%s: after enable, the federation may list limitranges: %q", member.Name, got)
			}
		}
		// Enabling again changes nothing and says so.
		out = mustFedhubctl(t, federation, "enable", "limitranges")
		if !strings.Contains(out, "already allows managing limitranges") {
			t.Errorf("fedhubctl enable a second time:\n%s", out)
		}
		// The object is retried with backoff while its members refuse; once
		// a member's cache fills (the member informer retries its list with
		// a backoff of its own, at most about half a minute), every object
		// of the type is queued again.
		fixed := time.Now()
		for _, member := range f.Members {
			eventuallyWithin(t, retryAfterRolesFixed, member.Name+" has the LimitRange", func() (string, bool) {
				out, _, err := kubectlAs(federation, "--context", member.Name, "get", "limitrange", "defaults", "-n", namespace,
					"-o", "jsonpath={.spec.limits[0].default.memory}")
				return out, err == nil
			}, "256Mi")
		}
		t.Logf("the members had the LimitRange %s after their roles were extended", time.Since(fixed).Round(time.Second))
		eventually(t, "the FederatedLimitRange reports both clusters propagated", func() (string, bool) {
			out, _, err := kubectlAs(host, "get", "federatedlimitrange", "defaults", "-n", namespace, "-o",
				`jsonpath={.status.conditions[?(@.type=="Propagation")].status} {.status.clusters[*].name} {.status.clusters[*].status}`)
			return strings.TrimSpace(out), err == nil
		}, "True member-1 member-2")
	})
}
