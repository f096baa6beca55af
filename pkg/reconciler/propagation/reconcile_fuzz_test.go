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

package propagation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/fedhub/fedhub/pkg/reconciler/reconcilertest"
)

// FuzzPropagationReconcile reconciles a federated object whose content is
// fuzzed JSON (any value: an object is the federated object without its
// metadata, anything else its spec) against three members: member-1 holds
// an object of fuzzed content (none for an empty input), member-2 none, and
// member-3 is not ready; member-4 is a pull member whose Work of the object
// carries the fuzzed member content as its manifest and as the agent's
// excerpt of the member object. Flags choose deletion, finalizer, orphaning, status
// collection, adoption, how namespaces are federated and whether member-1's
// object is in its cache. Neither the reconcile nor the report of a panic
// may panic, and neither may change the federated object's spec. The
// committed corpus holds the shapes that once crashed fedhub or could: no
// spec, spec null or a string, placement a number, clusters a map, overrides
// with null entries, and so on.
func FuzzPropagationReconcile(f *testing.F) {
	f.Add([]byte(`{"spec":{"placement":{"clusters":[{"name":"member-1"},{"name":"member-2"},{"name":"member-3"}]},`+
		`"template":{"spec":{"replicas":3}},"overrides":[{"clusterName":"member-1","clusterOverrides":[{"path":"/spec/replicas","value":2}]}]}}`),
		[]byte(`{"spec":{"replicas":2},"status":{"observedGeneration":2,"readyReplicas":2}}`), uint8(0), uint8(withFinalizer|withStatusCollection), "")
	f.Add([]byte(`{"spec":{"placement":{"clusters":[{"name":"member-4"}]},"template":{"spec":{"replicas":3}}}}`),
		[]byte(`{"metadata":{"generation":"two"},"status":[1,2]}`), uint8(0), uint8(withFinalizer), "")
	f.Add([]byte(`{"spec":{"placement":{"clusterSelector":{}},"template":{"spec":{"replicas":3}}}}`),
		[]byte(`null`), uint8(7), uint8(withFinalizer|withDeleting|withOrphan), `{"propagationPolicy":"Orphan"}`)
	f.Fuzz(func(t *testing.T, federatedJSON, memberJSON []byte, targetIndex, flags uint8, deleteOption string) {
		target := fixtureTargets[int(targetIndex)%len(fixtureTargets)]
		fx := newPropagationFixture(t, target, flags)
		fed := fx.federated(reconcilertest.ObjectContent(federatedJSON), flags, deleteOption)
		if len(memberJSON) > 0 {
			fx.memberObject(t, reconcilertest.ObjectContent(memberJSON), flags&withUncachedMember != 0)
		}
		fx.addPullMember(t, fed, memberJSON)
		fx.add(t, fed)
		key, err := cache.MetaNamespaceKeyFunc(fed)
		if err != nil {
			t.Fatal(err)
		}
		specBefore, _ := json.Marshal(fed.Object["spec"])

		if _, err := fx.controller.reconcile(context.Background(), key); err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Errorf("reconcile failed with an empty message: %#v", err)
		}
		_ = fx.controller.reportPanic(context.Background(), key, "a reconcile panicked")

		stored, err := fx.fedhub.Resource(fx.controller.federated).Namespace(fed.GetNamespace()).Get(context.Background(), fed.GetName(), metav1.GetOptions{})
		if err != nil {
			return
		}
		if specAfter, _ := json.Marshal(stored.Object["spec"]); string(specAfter) != string(specBefore) {
			t.Errorf("the reconcile changed the federated object's spec:\nbefore %s\nafter  %s", specBefore, specAfter)
		}
	})
}
