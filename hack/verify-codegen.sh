#!/usr/bin/env bash
# Fails when a generated file differs from what hack/update-codegen.sh writes.
# It regenerates into a scratch copy of the checkout, so the work tree is left alone.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT

tar -C "${ROOT}" --exclude=./bin --exclude=./_output --exclude=./.git -cf - . | tar -C "${SCRATCH}" -xf -
mkdir -p "${SCRATCH}/bin"
# Reuse the generators already built for this checkout, if any.
[ -d "${ROOT}/bin/codegen" ] && cp -a "${ROOT}/bin/codegen" "${SCRATCH}/bin/"
"${SCRATCH}/hack/update-codegen.sh" >/dev/null

status=0
for dir in apis generated hack; do
    if ! diff -r -q "${ROOT}/${dir}" "${SCRATCH}/${dir}"; then
        status=1
    fi
done
if [ "${status}" -ne 0 ]; then
    echo "generated code is stale: run 'make generate'" >&2
    exit 1
fi
echo "generated code is up to date"
