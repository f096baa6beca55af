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
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// compactMember is what a member informer keeps of an object: the metadata
// the informer's store and event handlers read, and the object itself as
// JSON, decoded again when a reconcile reads it. A small object decoded
// into maps takes several times its JSON's size, and a member cache holds
// every managed object of the type there, so this is most of what caching
// the members costs; a reconcile copied the cached object anyway.
type compactMember struct {
	metav1.ObjectMeta
	raw []byte
}

var _ runtime.Object = &compactMember{}

// GetObjectKind says nothing: the cache knows the kind.
func (c *compactMember) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the metadata; the JSON is never changed, so it is shared.
func (c *compactMember) DeepCopyObject() runtime.Object {
	return &compactMember{ObjectMeta: *c.ObjectMeta.DeepCopy(), raw: c.raw}
}

// object decodes the cached object; the caller owns it.
func (c *compactMember) object() (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(c.raw); err != nil {
		return nil, fmt.Errorf("decoding the cached %s/%s: %w", c.Namespace, c.Name, err)
	}
	return u, nil
}

// compactMemberObject is the member informers' transform: an object from
// the member, without its managedFields (never read), becomes a
// compactMember. Anything else passes as it is.
var compactMemberObject cache.TransformFunc = func(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	u.SetManagedFields(nil)
	raw, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return &compactMember{ObjectMeta: metav1.ObjectMeta{Name: u.GetName(), Namespace: u.GetNamespace(),
		ResourceVersion: u.GetResourceVersion()}, raw: raw}, nil
}
