# arrops — see README.md. `make run` starts the whole system locally,
# `make test` runs every test (what CI runs through .ci/run).
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: all deps build test test-short lint fuzz vet fmt run bench package clean

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
	$(GO) run ./cmd/package -o dist/arrops.zip -dir dist/package -list

vet:
	$(GO) vet ./...

# lint: go.mod and go.sum tidy, staticcheck (pinned; fetched through the
# module proxy on first use) clean. Silence a finding only with a
# //lint:ignore comment that says why.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) mod tidy -diff
	$(STATICCHECK) ./...

fmt:
	gofmt -l -w .

# test: every package with the race detector; Azurite is started by the tests
# themselves on random loopback ports.
test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint
	CI=$${CI:-true} $(GO) test -race -count=1 -timeout 15m ./...

# fuzz: every Fuzz target for a fixed number of executions (its seed corpus
# also runs in every plain `go test`). Counts, not durations: a duration
# -fuzztime races Go 1.26's fuzz coordinator into a spurious "context
# deadline exceeded" (go.dev/issue/75804). Targets that drive real Azurite
# (FUZZ_SLOW; none since the function tests run on the memory drivers) get
# FUZZSLOW executions. CI runs it after the tests.
FUZZTIME ?= 2000x
FUZZSLOW ?= 20x
FUZZ_SLOW =
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    n=$(FUZZTIME); case " $(FUZZ_SLOW) " in *" $$f "*) n=$(FUZZSLOW);; esac; \
	    echo "fuzz $$pkg $$f ($$n)"; \
	    CI=$${CI:-true} $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$n $$pkg >/tmp/arrops-fuzz.log 2>&1 || { cat /tmp/arrops-fuzz.log; exit 1; }; \
	  done; \
	done

# bench: the Go benchmarks (-cpu 1: per-core figures; each compares with a
# baseline measured in the same process), the load scenario at full size,
# the timing scenarios (Ready, conversion and policy latencies with the
# production schedules, follow-ups on and off; about 6 minutes), then one
# table (metric, value, baseline, ratio, target, met?) printed and
# written to results/bench-<UTC time>.json. About 10-15 minutes.
BENCH_PKGS ?= ./functions/commands ./functions/watch ./functions/shutdown ./handler
bench: deps
	@mkdir -p results && rm -f results/load.json results/timing.json
	set -o pipefail; CI=$${CI:-true} $(GO) test -run '^$$' -bench . -benchmem -cpu 1 -count 1 -timeout 20m $(BENCH_PKGS) | tee results/bench.txt
	@if [ -f e2e/load_test.go ]; then \
	  CI=$${CI:-true} ARROPS_LOAD_COMMANDS=1000 ARROPS_RESULTS_DIR=$(CURDIR)/results $(GO) test -run TestLoad -count=1 -timeout 15m ./e2e \
	    || { echo "load scenario FAILED: the table reports it missing"; rm -f results/load.json; }; \
	else echo "no e2e/load_test.go: load scenario skipped"; fi
	set -o pipefail; CI=$${CI:-true} ARROPS_TIMING_BASELINE=1 ARROPS_RESULTS_DIR=$(CURDIR)/results $(GO) test -count=1 -timeout 20m -v \
	    -run 'TestReadyLatency|TestConversionLatency|TestPolicyStopLatency|TestPoolLatency|TestPoolBurst' ./e2e | grep -E '^(=== RUN|--- |\s+\S+_test.go:|ok|FAIL|PASS)' \
	    || echo "timing scenarios FAILED: the table reports what is missing"
	$(GO) run ./cmd/benchtable -bench results/bench.txt -load results/load.json -timing results/timing.json -out results

test-short:
	$(GO) test -short ./...

clean:
	rm -rf bin dist results
