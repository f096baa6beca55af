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
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"

kube::codegen::gen_helpers \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"

kube::codegen::gen_openapi \
    --output-dir "${ROOT}/generated/openapi" \
    --output-pkg "${MODULE}/generated/openapi" \
    --output-model-name-file "zz_generated.model_name.go" \
    --report-filename "${ROOT}/hack/api-rules-violations.list" \
    --update-report \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --applyconfig-openapi-schema <(go run "${MODULE}/hack/models-schema") \
    --output-dir "${ROOT}/generated" \
    --output-pkg "${MODULE}/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${ROOT}/apis"
