#!/usr/bin/env bash
# `make bench`: detection latency and request counts per strategy, against a
# release build of the reference server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/e2e/node_modules/playwright-core ] || (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
source scripts/server.sh
PAYWATCH_SERVER_BIN=target/release/paywatch-server start_server --test-hooks $LOOPBACK_LOAD_FLAGS
node scripts/bench.mjs "$PAYWATCH_SERVER" "${ORDERS:-20}" "${PAID_AFTER_SEC:-30}"
