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
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
)

func TestTypeStatus(t *testing.T) {
	enabled, disabled := corev1beta1.StatusCollectionEnabled, corev1beta1.StatusCollectionDisabled
	running, notRunning := corev1beta1.ControllerStatusRunning, corev1beta1.ControllerStatusNotRunning
	tests := []struct {
		name       string
		collection *corev1beta1.StatusCollectionMode
		running    bool
		want       corev1beta1.FederatedTypeConfigStatus
	}{
		{name: "running, no status collection asked", running: true,
			want: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: 3, PropagationController: running}},
		{name: "stopped", running: false,
			want: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: 3, PropagationController: notRunning}},
		{name: "running and collecting status", collection: &enabled, running: true,
			want: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: 3, PropagationController: running, StatusController: &running}},
		{name: "running, status collection disabled", collection: &disabled, running: true,
			want: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: 3, PropagationController: running, StatusController: &notRunning}},
		{name: "stopped, status collection enabled", collection: &enabled, running: false,
			want: corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: 3, PropagationController: notRunning, StatusController: &notRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := &corev1beta1.FederatedTypeConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "configmaps", Generation: 3},
				Spec:       corev1beta1.FederatedTypeConfigSpec{StatusCollection: tt.collection},
			}
			if got := typeStatus(tc, tt.running); !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("typeStatus() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
