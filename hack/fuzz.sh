#!/usr/bin/env bash
# Runs every fuzz target for a fixed number of executions beyond its committed
# seed corpus, which `make test` already runs. A crasher found here is written
# to the package's testdata/fuzz and fails the run.
#
# The budgets are execution counts ("Nx"), about ten seconds each on a 2-core
# machine, not durations: with a duration, Go 1.26's fuzz coordinator can
# report its own deadline as a failure ("context deadline exceeded", no
# crasher) when a worker is mid-input as time runs out (golang/go#75804, fixed
# in Go 1.27). FUZZTIME, when set, replaces every budget (e.g. 100000x, or a
# duration for a long local run, which brings that race back).
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(
  "./registry/types FuzzValidateFederatedSpec 10000x"
  "./registry/types FuzzTemplateValidation 10000x"
  "./pkg/placement FuzzPlacement 80000x"
  "./pkg/render FuzzRender 60000x"
  "./pkg/reconciler/propagation FuzzPropagationReconcile 12000x"
  "./pkg/reconciler/propagation FuzzManagerTypeConfigs 50000x"
  "./pkg/reconciler/propagation FuzzDependencies 8000x"
  "./pkg/reconciler/scheduling FuzzSchedulingSync 30000x"
  "./pkg/reconciler/clusterhealth FuzzClusterHealthProbe 15000x"
  "./pkg/agent/work FuzzReconcile 20000x"
  "./pkg/agent/work FuzzHelmReconcile 1500x"
  "./pkg/reconciler/dependencies FuzzExtract 60000x"
)
for target in "${targets[@]}"; do
  read -r package name budget <<<"${target}"
  budget="${FUZZTIME:-${budget}}"
  echo "fuzzing ${name} in ${package} for ${budget}"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${budget}" -parallel 2 "${package}"
done
