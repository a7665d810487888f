#!/usr/bin/env bash
# `make test`: lints, native tests, then the browser tests in Chromium,
# Firefox and WebKit against a real reference server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
# .tools/bin: the `safaridriver` link to WebKitWebDriver (scripts/setup.sh).
export PATH="$PWD/.tools/bin:$HOME/.cargo/bin:$PATH"
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
mkdir -p target/test-logs

# `engine_tests NAME [command…]`: the wasm-bindgen browser tests in one
# engine; adds "NAME passed/run" to $ENGINES_SUMMARY. A failing engine fails
# the run after the others have run too (see the step after them).
ENGINES_SUMMARY=""
ENGINES_FAILED=0
engine_tests() {
  local name=$1 log=target/test-logs/browser-$1.log
  shift
  local rc=0
  "$@" 2>&1 | tee "$log" || rc=$?
  local counts
  # One line per test that ran: `test NAME ... ok` or `... FAIL` (a runner
  # that gives up early prints no `test result:` line).
  counts=$(awk '/^test .* \.\.\. ok$/ { p++ } /^test .* \.\.\. FAIL/ { f++ } END { printf "%d/%d", p, p + f }' "$log")
  [ "$rc" = 0 ] || ENGINES_FAILED=1
  ENGINES_SUMMARY+="${ENGINES_SUMMARY:+, }$name $counts$([ "$rc" = 0 ] || echo " (FAILED)")"
}

step "lint: no import cycles, rustfmt, clippy (native and wasm32)"
node scripts/check-cycles.mjs
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p paywatch --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests: policy code and the reference server"
# The Redis store tests start a real redis-server (scripts/setup.sh installs
# it); here a missing one is a failure, not a skip.
PAYWATCH_REQUIRE_REDIS=1 cargo test --workspace

step "build: npm package and server"
bash scripts/build-pkg.sh
cargo build -p paywatch-server

step "size: what a page downloads (scripts/size.sh)"
# Fails when the page total is over issue 9's budget, 52 KB gzip -9, or when
# the module links serde's float formatter again (vendor/README.md).
bash scripts/size.sh

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

# Each suite runs its tests one after another; the runner's default 20 s
# budget for a whole suite is too short for the timing tests.
export WASM_BINDGEN_TEST_TIMEOUT=180

step "browser tests: wasm-bindgen-test in Chromium"
engine_tests chromium wasm-pack test --headless --chrome -- --test polling --test push --test comeback --test heap

step "browser tests: wasm-bindgen-test in Firefox"
engine_tests firefox wasm-pack test --headless --firefox -- --test polling --test push --test comeback --test heap

step "browser tests: wasm-bindgen-test in WebKit (MiniBrowser on Xvfb)"
engine_tests webkit xvfb-run -a wasm-pack test --headless --safari -- --test polling --test push --test comeback --test heap

step "browser tests: $ENGINES_SUMMARY"
[ "$ENGINES_FAILED" = 0 ]

if [ -f tests/e2e/run.mjs ]; then
  step "page-level tests: the npm package in a plain page and a Vite app, in Chromium, WebKit and Firefox"
  xvfb-run -a node tests/e2e/run.mjs
fi

step "page lifecycle: frozen and back, back/forward cache, offline (headless Chromium)"
node tests/e2e/lifecycle.mjs

step "cross-tab tests: several tabs of one browser watch one order"
node tests/e2e/crosstab.mjs

step "cluster: two paywatch-server --redis instances behind haproxy (real redis-server, Chromium)"
node tests/e2e/cluster.mjs

step "demo: every strategy pays through a signed WeChat Pay notification in headless Chromium; screenshots"
# The demo's own server, as `make demo` starts it: throwaway keys, and the
# pay button going through the demo payer and /notify/wechatpay.
test_server=$PAYWATCH_SERVER
# shellcheck disable=SC2046 # the flags are words
start_server --demo-endpoints $(bash scripts/demo-keys.sh)
DEMO_DOOR=wechatpay node scripts/demo-shots.mjs "$PAYWATCH_SERVER" tests/e2e/.out/shots
export PAYWATCH_SERVER=$test_server
echo "screenshots in tests/e2e/.out/shots (docs/ keeps the README's copies)"

step "mini-program: the example page in a simulated WeChat host (node --test)"
node --test tests/miniprogram/miniprogram.test.mjs

step "all tests passed"
