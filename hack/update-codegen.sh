#!/usr/bin/env bash
# Regenerates every generated file: deep-copy, defaulting and conversion helpers
# beside the API types, and the OpenAPI definitions, clientset, listers,
# informers and apply configurations under generated/.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
MODULE=$(go list -m)

# The generators are installed into the project's bin/ so that nothing outside
# the checkout is touched and the versions always match go.mod.
export GOBIN="${ROOT}/bin/codegen"
mkdir -p "${GOBIN}"
# go list -m names no directory for a module not yet in the module cache (a fresh machine).
go mod download k8s.io/code-generator
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"

kube::codegen::gen_helpers \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"

# The standard federated kinds' templates hold these built-in types; their
# definitions serve kubectl explain, server-side apply and template validation.
BUILTIN_API_PKGS=(k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 k8s.io/api/networking/v1 k8s.io/api/rbac/v1)
extra_pkgs=()
for pkg in "${BUILTIN_API_PKGS[@]}"; do
    extra_pkgs+=(--extra-pkgs "${pkg}")
done

kube::codegen::gen_openapi \
    "${extra_pkgs[@]}" \
    --output-dir "${ROOT}/generated/openapi" \
    --output-pkg "${MODULE}/generated/openapi" \
    --output-model-name-file "zz_generated.model_name.go" \
    --report-filename "${ROOT}/hack/api-rules-violations.list" \
    --update-report \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"

# Apply configurations of the built-in types the templates hold come from client-go.
externals=""
for ref in apps/v1.DaemonSetSpec apps/v1.DeploymentSpec apps/v1.ReplicaSetSpec apps/v1.StatefulSetSpec \
    batch/v1.JobSpec core/v1.NamespaceSpec core/v1.ServiceSpec core/v1.ObjectReference \
    core/v1.LocalObjectReference networking/v1.IngressSpec rbac/v1.PolicyRule rbac/v1.AggregationRule; do
    group_version=${ref%.*}
    externals+="${externals:+,}k8s.io/api/${ref}:k8s.io/client-go/applyconfigurations/${group_version}"
done

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --applyconfig-externals "${externals}" \
    --applyconfig-openapi-schema <(go run "${MODULE}/hack/models-schema") \
    --output-dir "${ROOT}/generated" \
    --output-pkg "${MODULE}/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"
