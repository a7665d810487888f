# paywatch — every target installs what it needs first (scripts/setup.sh is
# idempotent), so on a fresh machine `make demo` and `make test` just work.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
PORT ?= 8080
HOST ?= 127.0.0.1

.PHONY: setup pkg server demo test test-cluster lint test-native test-browser test-e2e bench bench-server size clean

setup:
	@bash scripts/setup.sh

## The npm package in pkg/: wasm-pack build, then pkg.json merged in.
pkg: setup
	bash scripts/build-pkg.sh

server: setup
	cargo build --release -p paywatch-server

## Builds everything and serves the demo at http://$(HOST):$(PORT)
## The pay button goes through a signed WeChat Pay notification, with
## throwaway keys made at start (scripts/demo-keys.sh).
demo: pkg server
	./target/release/paywatch-server --host $(HOST) --port $(PORT) --www www --pkg pkg --demo-endpoints \
	  $$(bash scripts/demo-keys.sh)

## Every test: lints, native unit + server tests, browser tests, page-level tests.
test: setup
	bash scripts/test.sh

## Two paywatch-server --redis instances behind haproxy, a real redis-server,
## the package in headless Chromium (tests/e2e/cluster.mjs; `make test` runs it).
test-cluster: pkg
	cargo build -p paywatch-server
	node tests/e2e/cluster.mjs

lint: setup
	node scripts/check-cycles.mjs
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p paywatch --target wasm32-unknown-unknown --all-targets -- -D warnings

bench: pkg server
	bash scripts/bench.sh
	bash scripts/bench-comeback.sh

## Loads a release paywatch-server on loopback: RSS per waiter, fan-out
## latency, /pay throughput, SIGTERM under load (figures: server/README.md).
## The load client raises its open-file limit to 20,000 (or the hard limit).
bench-server: setup
	cargo build --release -p paywatch-server -p paywatch-bench
	./target/release/paywatch-bench all

size: pkg
	@bash scripts/size.sh

clean:
	cargo clean
	rm -rf pkg
