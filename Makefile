# arrops — see README.md. `make run` starts the whole system locally,
# `make test` runs every test (what CI runs through .ci/run).
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: all deps build test test-short vet fmt run bench package clean

all: build

node_modules/.bin/azurite: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# deps installs the local tools the tests and `make run` need (Azurite).
deps: node_modules/.bin/azurite

# build: the handler and the local tools into bin/.
build:
	$(GO) build -o bin/ ./handler ./cmd/...

# run: the whole system locally (Azurite + ARR simulator + devhost + handler).
run: deps build
	$(GO) run ./cmd/localstack

# package: the deployment zip (linux/amd64 handler, host.json, function.json files).
package:
	$(GO) run ./cmd/package -o dist/arrops.zip

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

# test: every package with the race detector; Azurite is started by the tests
# themselves on random loopback ports.
test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	CI=$${CI:-true} $(GO) test -race -count=1 -timeout 15m ./...

test-short:
	$(GO) test -short ./...

clean:
	rm -rf bin dist results
