# fedhub: an aggregated API server that serves KubeFed's federation API.

SHELL := /usr/bin/env bash
BIN := $(CURDIR)/bin
RUN_DIR := $(CURDIR)/.run
GO_TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all build tools run run-standalone test unit integration e2e bench bench-scale generate verify clean

all: build

# test/tools builds kube-apiserver, kube-controller-manager, kube-scheduler,
# etcd and kwok from source; they are rebuilt only when that module changes.
TOOLS_STAMP := $(BIN)/tools/.built
KUBE_VERSION_LDFLAGS := -X k8s.io/component-base/version.gitVersion=v1.37.2 \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean

## tools: build the cluster binaries the harness runs into bin/tools
tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): test/tools/go.mod test/tools/go.sum
	@mkdir -p $(BIN)/tools
	cd test/tools && GOBIN=$(BIN)/tools go install -ldflags "$(KUBE_VERSION_LDFLAGS)" tool
	@# etcd's main package is its module root, so go install names it after the module.
	mv -f $(BIN)/tools/server $(BIN)/tools/etcd
	@# kwok's node and pod stages ship as YAML in its module; the harness loads them.
	rm -rf $(BIN)/tools/kwok-stages && mkdir -p $(BIN)/tools/kwok-stages
	stages=$$(cd test/tools && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage; \
	cp $$stages/node/fast/node-initialize.yaml $$stages/node/heartbeat/node-heartbeat.yaml \
	   $$stages/pod/fast/pod-ready.yaml $$stages/pod/fast/pod-complete.yaml $$stages/pod/fast/pod-delete.yaml \
	   $(BIN)/tools/kwok-stages/
	touch $@

## build: compile bin/fedhub-apiserver, bin/fedhub-agent, bin/fedhubctl (also as the kubectl plugin bin/kubectl-fedhub) and bin/local-federation (make run)
build:
	go build -o $(BIN)/fedhub-apiserver ./cmd/fedhub-apiserver
	go build -o $(BIN)/fedhub-agent ./cmd/fedhub-agent
	go build -o $(BIN)/fedhubctl ./cmd/fedhubctl
	ln -sf fedhubctl $(BIN)/kubectl-fedhub
	go build -o $(BIN)/local-federation ./hack/local-federation

## run: a host, $(MEMBERS) member clusters ($(PULL_MEMBERS) in pull mode, with fedhub-agent) and fedhub, ready for kubectl (Ctrl-C stops them)
MEMBERS ?= 2
PULL_MEMBERS ?= member-2
run: build tools
	$(BIN)/local-federation --members $(MEMBERS) --pull-members "$(PULL_MEMBERS)" --kubeconfig-dir $(CURDIR)/.local

## run-standalone: fedhub alone, without a host cluster
run-standalone: build
	@mkdir -p $(RUN_DIR)
	@echo "fedhub is starting; in another shell:"
	@echo "  export KUBECONFIG=$(RUN_DIR)/admin.kubeconfig"
	$(BIN)/fedhub-apiserver --standalone --secure-port 0 \
		--cert-dir $(RUN_DIR)/certs \
		--embedded-etcd-dir $(RUN_DIR)/etcd \
		--write-kubeconfig $(RUN_DIR)/admin.kubeconfig

## test: every test: unit, integration (in-process server) and e2e (real processes, real kubectl)
test: build tools
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver FEDHUB_AGENT=$(BIN)/fedhub-agent FEDHUBCTL=$(BIN)/fedhubctl go test $(GO_TEST_FLAGS) ./...

unit:
	go test $(GO_TEST_FLAGS) ./apis/... ./registry/... ./pkg/... ./cmd/...

integration:
	go test $(GO_TEST_FLAGS) ./test/integration/...

e2e: build tools
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver FEDHUB_AGENT=$(BIN)/fedhub-agent FEDHUBCTL=$(BIN)/fedhubctl go test $(GO_TEST_FLAGS) ./test/e2e/...

## bench: measure propagation against direct writes to the members (BENCH_FLAGS adds flags);
## prints a table, writes bench-results.json, docs/performance.md and its latency plot
bench: build tools
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver FEDHUB_AGENT=$(BIN)/fedhub-agent go run ./test/bench $(BENCH_FLAGS)

## bench-scale: measure fedhub at scale (BENCH_SCALE_FLAGS adds flags, e.g. -scale-parts crossdc); the crossdc part runs
## fedhub on a 3-member etcd whose peers are a simulated 50 ms round trip apart, beside the same etcd without delay;
## the growth part runs make bench's baseline, burst, paced and restart scenarios at N = 2,000 / 10,000 / 20,000
## (M = 3) and M = 3 / 6 (N = 5,000), a federation per row; prints a table, writes bench-scale-results.json and
## the growth table into docs/performance.md
bench-scale: build tools
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver FEDHUB_AGENT=$(BIN)/fedhub-agent go run ./test/bench -suite scale $(BENCH_SCALE_FLAGS)

## generate: rewrite every generated file (helpers beside the types, generated/)
generate:
	hack/update-codegen.sh

## verify: fail when generated code is stale, code is not gofmt'ed or go vet complains
verify:
	hack/verify-codegen.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^generated/')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	go vet ./...

clean:
	rm -rf $(BIN) $(RUN_DIR) $(CURDIR)/.local
