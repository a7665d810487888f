#!/usr/bin/env bash
# `make bench`: detection latency and request counts per strategy and browser
# engine, the cross-tab figures (scripts/bench-crosstab.mjs) and the come-back
# figures (scripts/bench-comeback.sh, run by the Makefile), against a release
# build of the reference server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/e2e/node_modules/selenium-webdriver ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
export PATH="$HOME/.cargo/bin:$PATH" # geckodriver
source scripts/server.sh
PAYWATCH_SERVER_BIN=target/release/paywatch-server start_server --test-hooks $LOOPBACK_LOAD_FLAGS
# Chromium, Firefox and WebKit (BENCH_ENGINES); WebKit's MiniBrowser needs a display.
xvfb-run -a node scripts/bench.mjs "$PAYWATCH_SERVER" "${ORDERS:-20}" "${PAID_AFTER_SEC:-30}"
# Across tabs: double fires under a simultaneous push, requests per minute of
# N tabs on one order, leader hand-over (its own server, on a free port).
PAYWATCH_SERVER_BIN=target/release/paywatch-server node scripts/bench-crosstab.mjs
