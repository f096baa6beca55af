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

// Package reconcilertest holds what the controllers' tests and fuzz targets
// share.
package reconcilertest

import (
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/tools/record"

	"github.com/fedhub/fedhub/pkg/reconciler"
)

// ObjectContent decodes fuzzed bytes as the content of an unstructured
// object, as an API server decodes it (integers as int64): a JSON object as
// it is, any other JSON value as its spec, and bytes that are not JSON as a
// spec of that string.
func ObjectContent(data []byte) map[string]any {
	var value any
	if err := utiljson.Unmarshal(data, &value); err != nil {
		// Stored objects arrive as JSON, whose strings are valid UTF-8:
		// the server's decoder replaces invalid bytes, as this does.
		return map[string]any{"spec": strings.ToValidUTF8(string(data), "\uFFFD")}
	}
	if obj, ok := value.(map[string]any); ok && obj != nil {
		return obj
	}
	return map[string]any{"spec": value}
}

// NoPanicReported fails t if recorder holds an event reporting a recovered
// panic: a fuzz target that runs code which recovers its own panics (and so
// cannot fail by panicking) sees them this way. It closes recorder.Events.
func NoPanicReported(t testing.TB, recorder *record.FakeRecorder) {
	t.Helper()
	close(recorder.Events)
	for event := range recorder.Events {
		if strings.Contains(event, " "+reconciler.ReasonReconcileError+" ") {
			t.Errorf("a panic was recovered and reported: %s", event)
		}
	}
}
