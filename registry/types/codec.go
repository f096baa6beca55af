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

package types

import (
	"fmt"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/crdserverscheme"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/versioning"
	"k8s.io/apiserver/pkg/registry/generic"
)

// Federated objects are unstructured: one version, stored as sent. These
// small adapters let the generic handlers and storage encode, decode, type
// and convert them, delegating everything else (options, Status) to scheme.

// objectTyper types unstructured objects by their apiVersion and kind.
type objectTyper struct {
	scheme      *runtime.Scheme
	unstructure *crdserverscheme.UnstructuredObjectTyper
}

func newObjectTyper(scheme *runtime.Scheme) objectTyper {
	return objectTyper{scheme: scheme, unstructure: crdserverscheme.NewUnstructuredObjectTyper()}
}

func (t objectTyper) ObjectKinds(obj runtime.Object) ([]schema.GroupVersionKind, bool, error) {
	if _, ok := obj.(runtime.Unstructured); ok {
		return t.unstructure.ObjectKinds(obj)
	}
	return t.scheme.ObjectKinds(obj)
}

func (t objectTyper) Recognizes(gvk schema.GroupVersionKind) bool {
	return t.scheme.Recognizes(gvk) || t.unstructure.Recognizes(gvk)
}

// objectCreater makes an empty unstructured object of the asked kind.
type objectCreater struct{}

func (objectCreater) New(kind schema.GroupVersionKind) (runtime.Object, error) {
	object := &unstructured.Unstructured{}
	object.SetGroupVersionKind(kind)
	return object, nil
}

// objectConvertor converts within the single served version: it only sets apiVersion.
type objectConvertor struct {
	scheme *runtime.Scheme
}

func (c objectConvertor) Convert(in, out, context interface{}) error {
	inObject, inOK := in.(*unstructured.Unstructured)
	outObject, outOK := out.(*unstructured.Unstructured)
	if !inOK || !outOK {
		return c.scheme.Convert(in, out, context)
	}
	outObject.SetUnstructuredContent(runtime.DeepCopyJSON(inObject.UnstructuredContent()))
	return nil
}

func (c objectConvertor) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	if _, ok := in.(runtime.Unstructured); !ok {
		return c.scheme.ConvertToVersion(in, target)
	}
	kind := in.GetObjectKind().GroupVersionKind()
	targetKind, ok := target.KindForGroupVersionKinds([]schema.GroupVersionKind{kind})
	if !ok {
		return nil, fmt.Errorf("%s cannot be converted to %v", kind, target)
	}
	in.GetObjectKind().SetGroupVersionKind(targetKind)
	return in, nil
}

func (c objectConvertor) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	switch label {
	case "metadata.name", "metadata.namespace":
		return label, value, nil
	}
	return "", "", fmt.Errorf("field label %q is not supported for %s", label, gvk.Kind)
}

// negotiatedSerializer serves federated objects as JSON and YAML.
type negotiatedSerializer struct {
	scheme     *runtime.Scheme
	typer      objectTyper
	convertor  objectConvertor
	media      []runtime.SerializerInfo
	structural *structuralschema.Structural
}

func newNegotiatedSerializer(scheme *runtime.Scheme, structural *structuralschema.Structural) negotiatedSerializer {
	typer, creater := newObjectTyper(scheme), objectCreater{}
	serializer := func(options json.SerializerOptions) *json.Serializer {
		return json.NewSerializerWithOptions(json.DefaultMetaFactory, creater, typer, options)
	}
	return negotiatedSerializer{
		scheme: scheme, typer: typer, convertor: objectConvertor{scheme: scheme}, structural: structural,
		media: []runtime.SerializerInfo{
			{
				MediaType: runtime.ContentTypeJSON, MediaTypeType: "application", MediaTypeSubType: "json", EncodesAsText: true,
				Serializer:       serializer(json.SerializerOptions{}),
				PrettySerializer: serializer(json.SerializerOptions{Pretty: true}),
				StrictSerializer: serializer(json.SerializerOptions{Strict: true}),
				StreamSerializer: &runtime.StreamSerializerInfo{
					EncodesAsText: true, Serializer: serializer(json.SerializerOptions{}), Framer: json.Framer,
				},
			},
			{
				MediaType: runtime.ContentTypeYAML, MediaTypeType: "application", MediaTypeSubType: "yaml", EncodesAsText: true,
				Serializer:       serializer(json.SerializerOptions{Yaml: true}),
				StrictSerializer: serializer(json.SerializerOptions{Yaml: true, Strict: true}),
			},
		},
	}
}

func (s negotiatedSerializer) SupportedMediaTypes() []runtime.SerializerInfo { return s.media }

func (s negotiatedSerializer) EncoderForVersion(encoder runtime.Encoder, gv runtime.GroupVersioner) runtime.Encoder {
	return versioning.NewCodec(encoder, nil, s.convertor, s.scheme, s.scheme, s.scheme, gv, nil, "federatedTypes")
}

func (s negotiatedSerializer) DecoderToVersion(decoder runtime.Decoder, gv runtime.GroupVersioner) runtime.Decoder {
	strict := false
	if serializer, ok := decoder.(*json.Serializer); ok {
		strict = serializer.IsStrict()
	}
	pruning := pruningDecoder{delegate: decoder, structural: s.structural, strict: strict}
	return versioning.NewCodec(nil, pruning, s.convertor, s.scheme, s.typer, s.scheme, nil, gv, "federatedTypes")
}

// pruningDecoder drops the fields the schema does not know, as for a custom
// resource, and reports them when the request asked for strict field validation.
type pruningDecoder struct {
	delegate   runtime.Decoder
	structural *structuralschema.Structural
	strict     bool
}

func (d pruningDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	obj, gvk, err := d.delegate.Decode(data, defaults, into)
	var strictErrs []error
	if err != nil {
		strictErr, ok := runtime.AsStrictDecodingError(err)
		if !ok || obj == nil {
			return nil, gvk, err
		}
		strictErrs = strictErr.Errors()
	}
	object, ok := obj.(*unstructured.Unstructured)
	if !ok || d.structural == nil {
		return obj, gvk, err
	}
	unknown := structuralpruning.PruneWithOptions(object.Object, d.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: d.strict})
	// As for a custom resource (KubeFed's types were CRDs): a null where the
	// schema allows none is dropped, so a bare "overrides:" key in YAML means
	// what it meant in KubeFed instead of failing validation.
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(object.Object, d.structural)
	for _, path := range unknown {
		strictErrs = append(strictErrs, fmt.Errorf("unknown field %q", path))
	}
	if d.strict && len(strictErrs) > 0 {
		return obj, gvk, runtime.NewStrictDecodingError(strictErrs)
	}
	return obj, gvk, nil
}

// restOptionsGetter stores federated objects as the JSON they were sent as.
type restOptionsGetter struct {
	generic.RESTOptionsGetter
}

func (g restOptionsGetter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	options, err := g.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil {
		return options, err
	}
	options.StorageConfig.Codec = unstructured.UnstructuredJSONScheme
	options.StorageConfig.EncodeVersioner = schema.GroupVersions{GroupVersion}
	return options, nil
}
