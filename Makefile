# fedhub: an aggregated API server that serves KubeFed's federation API.

SHELL := /usr/bin/env bash
BIN := $(CURDIR)/bin
RUN_DIR := $(CURDIR)/.run
GO_TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: all build run test unit integration e2e generate verify clean

all: build

## build: compile bin/fedhub-apiserver
build:
	go build -o $(BIN)/fedhub-apiserver ./cmd/fedhub-apiserver

## run: a local federation control plane, ready for kubectl (Ctrl-C stops it)
run: build
	@mkdir -p $(RUN_DIR)
	@echo "fedhub is starting; in another shell:"
	@echo "  export KUBECONFIG=$(RUN_DIR)/admin.kubeconfig"
	@echo "  kubectl get kubefedclusters -A"
	$(BIN)/fedhub-apiserver --standalone --secure-port 0 \
		--cert-dir $(RUN_DIR)/certs \
		--embedded-etcd-dir $(RUN_DIR)/etcd \
		--write-kubeconfig $(RUN_DIR)/admin.kubeconfig

## test: every test: unit, integration (in-process server) and e2e (real processes, real kubectl)
test: build
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver go test $(GO_TEST_FLAGS) ./...

unit:
	go test $(GO_TEST_FLAGS) ./apis/... ./registry/... ./pkg/... ./cmd/...

integration:
	go test $(GO_TEST_FLAGS) ./test/integration/...

e2e: build
	FEDHUB_APISERVER=$(BIN)/fedhub-apiserver go test $(GO_TEST_FLAGS) ./test/e2e/...

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
	rm -rf $(BIN) $(RUN_DIR)
