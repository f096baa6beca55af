#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZTIME each, default 10s) beyond its
# committed seed corpus, which `make test` already runs. A crasher found here
# is written to the package's testdata/fuzz and fails the run.
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${FUZZTIME:-10s}"
targets=(
  "./registry/types FuzzValidateFederatedSpec"
  "./registry/types FuzzTemplateValidation"
  "./pkg/placement FuzzPlacement"
  "./pkg/render FuzzRender"
)
for target in "${targets[@]}"; do
  read -r package name <<<"${target}"
  echo "fuzzing ${name} in ${package} for ${fuzztime}"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${fuzztime}" -parallel 2 "${package}"
done
