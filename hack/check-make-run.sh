#!/usr/bin/env bash
# Exercises the README's `make run` as a newcomer would: start it, wait for its
# ready line, check through the host that fedhub's APIServices are Available
# and that member-1 (push) and member-2 (pull) are Ready, stop it with
# SIGTERM, and check that no process it started is left behind.
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log=$(mktemp)
trap 'rm -f "${log}"' EXIT
deadline() { echo $(( $(date +%s) + $1 )); }

# setsid: make and everything it starts get a process group of their own.
setsid make run MEMBERS=2 >"${log}" 2>&1 &
make_pid=$!

until_ready=$(deadline 600)
until grep -q '^fedhub is ready: export KUBECONFIG=' "${log}"; do
    if ! kill -0 "${make_pid}" 2>/dev/null || [ "$(date +%s)" -gt "${until_ready}" ]; then
        echo "make run did not print its ready line:" >&2
        cat "${log}" >&2
        kill -TERM -- "-${make_pid}" 2>/dev/null || true
        exit 1
    fi
    sleep 1
done
grep '^fedhub is ready' "${log}"

export KUBECONFIG="${PWD}/.local/host.kubeconfig"
for apiservice in v1beta1.core.kubefed.io v1alpha1.scheduling.kubefed.io v1beta1.types.kubefed.io v1alpha1.agent.fedhub.io v1alpha1.apps.fedhub.io; do
    available=$(kubectl get apiservice "${apiservice}" -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')
    echo "APIService ${apiservice} Available=${available}"
    if [ "${available}" != "True" ]; then
        kubectl get apiservices >&2
        exit 1
    fi
done
# member-1 is joined in push mode, member-2 in pull mode (its fedhub-agent runs
# beside it); both turn Ready (member-1 at its first health check).
clusters_ok() {
    kubectl get kfc -n kube-federation-system -o wide | awk '
        NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i; next }
        { ready[$1] = $(column["READY"]); mode[$1] = $(column["MODE"]) }
        END { exit !(ready["member-1"] == "True" && mode["member-1"] == "Push" &&
                     ready["member-2"] == "True" && mode["member-2"] == "Pull") }'
}
until_clusters=$(deadline 120)
until clusters_ok; do
    if [ "$(date +%s)" -gt "${until_clusters}" ]; then
        echo "kubectl get kfc -o wide does not show member-1 Ready in Push mode and member-2 Ready in Pull mode:" >&2
        kubectl get kfc -n kube-federation-system -o wide >&2 || true
        pkill -TERM -f "${PWD}/bin/local-federation" || true
        wait "${make_pid}" || true
        exit 1
    fi
    sleep 1
done
kubectl get kfc -n kube-federation-system -o wide

# SIGTERM to the local-federation process only: it must stop everything itself.
pkill -TERM -f "${PWD}/bin/local-federation" 
until_stopped=$(deadline 120)
while pgrep -f "${PWD}/bin/local-federation" >/dev/null; do
    if [ "$(date +%s)" -gt "${until_stopped}" ]; then
        echo "local-federation did not stop within 120s" >&2
        exit 1
    fi
    sleep 1
done
wait "${make_pid}" || true

leftovers=$(pgrep -fa "${PWD}/bin/(tools/|fedhub-apiserver|fedhub-agent)" || true)
if [ -n "${leftovers}" ]; then
    echo "make run left processes behind:" >&2
    echo "${leftovers}" >&2
    exit 1
fi
echo "make run started, served and stopped cleanly"
