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
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

// federatedDeployment is a FederatedDeployment as a user writes it.
const federatedDeployment = `
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata: {name: web, namespace: demo, uid: fed-uid, resourceVersion: "7"}
spec:
  placement:
    clusters: [{name: member-1}, {name: member-2}]
  template:
    metadata:
      labels: {app: web}
    spec:
      replicas: 3
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: app
            image: nginx:1
`
