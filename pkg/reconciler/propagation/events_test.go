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
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-base/metrics/testutil"
)

func TestBudgetedRecorder(t *testing.T) {
	RegisterMetrics()
	const normal, warning = corev1.EventTypeNormal, corev1.EventTypeWarning
	tests := []struct {
		name string
		// reason is each test's own, so that its skipped count starts at 0.
		reason string
		qps    float32
		burst  int
		// sent are the types of the events recorded in order; recorded
		// those that reach the broadcaster.
		sent, recorded []string
		skipped        float64
	}{{
		name:   "Normal events beyond the burst are skipped, Warnings never",
		reason: "LimitedTest",
		// A rate this low refills no token while the test runs.
		qps: 0.0001, burst: 2,
		sent:     []string{normal, normal, warning, normal, warning, normal},
		recorded: []string{normal, normal, warning, warning},
		skipped:  2,
	}, {
		name:   "qps 0 records everything",
		reason: "UnlimitedTest",
		qps:    0, burst: 0,
		sent:     []string{normal, normal, normal, warning},
		recorded: []string{normal, normal, normal, warning},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := tt.reason
			fake := record.NewFakeRecorder(len(tt.sent))
			recorder := NewBudgetedRecorder(fake, tt.qps, tt.burst)
			for i, eventType := range tt.sent {
				switch i % 3 { // every method of the recorder goes through the budget
				case 0:
					recorder.Event(&corev1.ConfigMap{}, eventType, reason, "message")
				case 1:
					recorder.Eventf(&corev1.ConfigMap{}, eventType, reason, "message %d", i)
				default:
					recorder.AnnotatedEventf(&corev1.ConfigMap{}, nil, eventType, reason, "message %d", i)
				}
			}
			close(fake.Events)
			var recorded []string
			for event := range fake.Events {
				eventType, _, _ := strings.Cut(event, " ")
				recorded = append(recorded, eventType)
			}
			if !slices.Equal(recorded, tt.recorded) {
				t.Errorf("recorded %v, want %v", recorded, tt.recorded)
			}
			skipped, err := testutil.GetCounterMetricValue(eventsSkipped.WithLabelValues(reason))
			if err != nil {
				t.Fatal(err)
			}
			if skipped != tt.skipped {
				t.Errorf("fedhub_propagation_events_skipped_total{reason=%q} = %v, want %v", reason, skipped, tt.skipped)
			}
		})
	}
}
