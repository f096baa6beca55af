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

package apiserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	agentinstall "github.com/fedhub/fedhub/apis/agent/install"
	agentv1alpha1 "github.com/fedhub/fedhub/apis/agent/v1alpha1"
	appsinstall "github.com/fedhub/fedhub/apis/apps/install"
	appsv1alpha1 "github.com/fedhub/fedhub/apis/apps/v1alpha1"
	coreinstall "github.com/fedhub/fedhub/apis/core/install"
	corev1beta1 "github.com/fedhub/fedhub/apis/core/v1beta1"
	schedulinginstall "github.com/fedhub/fedhub/apis/scheduling/install"
	schedulingv1alpha1 "github.com/fedhub/fedhub/apis/scheduling/v1alpha1"
)

var (
	// Scheme knows every type fedhub serves, internal and versioned.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
	// GroupSerializer is what the core.kubefed.io, scheduling.kubefed.io,
	// agent.fedhub.io and apps.fedhub.io endpoints negotiate: Codecs without protobuf, which their types do not
	// implement. Offering it made the server pick protobuf for clients that
	// prefer it and fall back to JSON (the host's namespace and garbage
	// collector controllers), and then fail to encode with a 500.
	GroupSerializer runtime.NegotiatedSerializer = withoutProtobuf{Codecs}
	// StorageVersions are the versions objects are stored in etcd as, one per group.
	StorageVersions = schema.GroupVersions{corev1beta1.SchemeGroupVersion, schedulingv1alpha1.SchemeGroupVersion, agentv1alpha1.SchemeGroupVersion,
		appsv1alpha1.SchemeGroupVersion}
)

func init() {
	coreinstall.Install(Scheme)
	schedulinginstall.Install(Scheme)
	agentinstall.Install(Scheme)
	appsinstall.Install(Scheme)

	// The generic server decodes list and get options, and serves discovery and
	// Status objects, through the unversioned meta types.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{},
		// Federated kinds are not in the scheme: their watch events must encode without conversion.
		&metav1.WatchEvent{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}

// withoutProtobuf negotiates every media type of its serializer but protobuf.
type withoutProtobuf struct {
	runtime.NegotiatedSerializer
}

func (s withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	var supported []runtime.SerializerInfo
	for _, info := range s.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			supported = append(supported, info)
		}
	}
	return supported
}
