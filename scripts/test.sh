#!/usr/bin/env bash
# `make test`: lints, native tests, then the browser tests in headless
# Chromium against a real reference server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "lint: rustfmt, clippy (native and wasm32)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p paywatch --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests: policy code and the reference server"
cargo test --workspace

step "build: npm package and server"
bash scripts/build-pkg.sh
cargo build -p paywatch-server

step "start the reference server"
source scripts/server.sh
# The browser tests' page is served by wasm-bindgen's runner on its own
# origin; pin it to a known port so the server can allow exactly that
# origin (CORS, SSE and WebSocket Origin check), nothing else.
runner_port=$(free_port)
export WASM_BINDGEN_TEST_ADDRESS=127.0.0.1:$runner_port
start_server --test-hooks --heartbeat-ms 300 $LOOPBACK_LOAD_FLAGS \
  --allow-origin "http://127.0.0.1:$runner_port"
echo "server: $PAYWATCH_SERVER (browser tests' origin: http://$WASM_BINDGEN_TEST_ADDRESS)"

step "browser tests: wasm-bindgen-test in headless Chromium"
wasm-pack test --headless --chrome -- --test polling --test push

if [ -f tests/e2e/run.mjs ]; then
  step "page-level tests: the npm package in a plain page and a Vite app"
  node tests/e2e/run.mjs
fi

step "demo: every strategy pays in headless Chromium; screenshots"
node scripts/demo-shots.mjs "$PAYWATCH_SERVER" tests/e2e/.out/shots
echo "screenshots in tests/e2e/.out/shots (docs/ keeps the README's copies)"

step "all tests passed"
