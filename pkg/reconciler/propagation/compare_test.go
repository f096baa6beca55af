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
	"reflect"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedhub/fedhub/pkg/render"
	"github.com/fedhub/fedhub/test/objects"
)

const desiredDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  resourceVersion: "1"
  labels: {app: web, kubefed.io/managed: "true"}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1
        args: [--a, --b]
        ports: [{containerPort: 80}]
`

// liveDeployment is desiredDeployment as a member API server returns it.
const liveDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  uid: u
  resourceVersion: "99"
  generation: 4
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: fedhub}]
  labels: {app: web, kubefed.io/managed: "true"}
spec:
  replicas: 3
  progressDeadlineSeconds: 600
  revisionHistoryLimit: 10
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1
        args: [--a, --b]
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        ports: [{containerPort: 80, protocol: TCP}]
      restartPolicy: Always
      dnsPolicy: ClusterFirst
status: {replicas: 3, readyReplicas: 3}
`

func TestDiffers(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the desired and live objects parsed from desiredDeployment and liveDeployment.
		edit func(desired, live map[string]interface{})
		want bool
	}{
		{name: "defaults, status and server metadata are not differences", edit: func(d, l map[string]interface{}) {}},
		{name: "equal", edit: func(d, l map[string]interface{}) { replaceContents(l, d) }},
		{name: "changed scalar", want: true, edit: func(d, l map[string]interface{}) {
			setPath(l, int64(5), "spec", "replicas")
		}},
		{name: "changed scalar in a list element", want: true, edit: func(d, l map[string]interface{}) {
			deploymentContainers(l)[0].(map[string]interface{})["image"] = "nginx:2"
		}},
		{name: "field missing in live", want: true, edit: func(d, l map[string]interface{}) {
			setPath(d, int64(30), "spec", "minReadySeconds")
		}},
		{name: "label missing in live", want: true, edit: func(d, l map[string]interface{}) {
			setPath(d, "x", "metadata", "labels", "extra")
		}},
		{name: "list longer in live", want: true, edit: func(d, l map[string]interface{}) {
			setPath(l, append(deploymentContainers(l), map[string]interface{}{"name": "sidecar"}), "spec", "template", "spec", "containers")
		}},
		{name: "scalar list shorter in live", want: true, edit: func(d, l map[string]interface{}) {
			deploymentContainers(l)[0].(map[string]interface{})["args"] = []interface{}{"--a"}
		}},
		{name: "scalar list reordered", want: true, edit: func(d, l map[string]interface{}) {
			deploymentContainers(l)[0].(map[string]interface{})["args"] = []interface{}{"--b", "--a"}
		}},
		{name: "int64 and float64 of the same value are equal", edit: func(d, l map[string]interface{}) {
			setPath(l, float64(3), "spec", "replicas")
		}},
		{name: "float64 in desired and int64 in live are equal", edit: func(d, l map[string]interface{}) {
			setPath(d, float64(3), "spec", "replicas")
		}},
		{name: "different numbers across types", want: true, edit: func(d, l map[string]interface{}) {
			setPath(l, 3.5, "spec", "replicas")
		}},
		{name: "number and string are different", want: true, edit: func(d, l map[string]interface{}) {
			setPath(l, "3", "spec", "replicas")
		}},
		{name: "scalar where live has an object", want: true, edit: func(d, l map[string]interface{}) {
			setPath(d, "x", "spec", "strategy")
		}},
		{name: "resourceVersion in desired is ignored", edit: func(d, l map[string]interface{}) {
			setPath(d, "12345", "metadata", "resourceVersion")
		}},
		{name: "null and empty values in desired the server drops are not differences", edit: func(d, l map[string]interface{}) {
			setPath(d, nil, "spec", "paused")
			setPath(d, map[string]interface{}{}, "metadata", "annotations")
			setPath(d, []interface{}{}, "spec", "template", "spec", "volumes")
		}},
		{name: "empty list in desired against a full one in live", want: true, edit: func(d, l map[string]interface{}) {
			deploymentContainers(d)[0].(map[string]interface{})["args"] = []interface{}{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired, live := objects.FromYAML(t, desiredDeployment), objects.FromYAML(t, liveDeployment)
			tt.edit(desired.Object, live.Object)
			desiredBefore, liveBefore := desired.DeepCopy(), live.DeepCopy()
			if got := Differs(desired, live); got != tt.want {
				t.Errorf("Differs = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(desired.Object, desiredBefore.Object) || !reflect.DeepEqual(live.Object, liveBefore.Object) {
				t.Errorf("Differs modified its inputs")
			}
		})
	}
}

func TestDiffersAfterRenderAndRetain(t *testing.T) {
	fed := objects.FromYAML(t, federatedDeployment)
	desired, err := render.Render(fed, deploymentGVK, true, "member-1")
	if err != nil {
		t.Fatal(err)
	}
	live := desired.DeepCopy()
	live.SetResourceVersion("8")
	live.SetUID("u")
	live.SetLabels(map[string]string{ManagedLabel: "true", "app": "web", "added": "by-other"})
	setPath(live.Object, "IfNotPresent", "spec", "template", "spec", "containers", "0", "imagePullPolicy")
	Retain(desired, live, false)
	if Differs(desired, live) {
		t.Errorf("a retained render of an unchanged template differs from live")
	}
	setPath(fed.Object, int64(4), "spec", "template", "spec", "replicas")
	if desired, err = render.Render(fed, deploymentGVK, true, "member-1"); err != nil {
		t.Fatal(err)
	}
	Retain(desired, live, false)
	if !Differs(desired, live) {
		t.Errorf("a changed template does not differ from live")
	}
}

func deploymentContainers(obj map[string]interface{}) []interface{} {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, "spec", "template", "spec", "containers")
	return v.([]interface{})
}

// setPath is SetNestedField that also walks list indices, for test edits.
func setPath(obj map[string]interface{}, value interface{}, fields ...string) {
	var cur interface{} = obj
	for _, f := range fields[:len(fields)-1] {
		switch c := cur.(type) {
		case map[string]interface{}:
			if _, ok := c[f]; !ok {
				c[f] = map[string]interface{}{}
			}
			cur = c[f]
		case []interface{}:
			i, _ := strconv.Atoi(f)
			cur = c[i]
		}
	}
	cur.(map[string]interface{})[fields[len(fields)-1]] = value
}

// replaceContents makes dst a copy of src.
func replaceContents(dst, src map[string]interface{}) {
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range (&unstructured.Unstructured{Object: src}).DeepCopy().Object {
		dst[k] = v
	}
}
