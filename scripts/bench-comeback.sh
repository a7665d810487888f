#!/usr/bin/env bash
# `make bench` (part): the payer comes back — return-to-paid latency before
# and after issue 7's work side by side, dead-socket detection, requests over
# 5 minutes. "Before" is the package built from BEFORE_REF (the last commit
# without the page-lifecycle work), in a temporary git worktree; "after" is
# pkg/. Env: BEFORE_REF, ORDERS, DEAD_RUNS, REQUEST_MINUTES, HEARTBEAT_MS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
ref=${BEFORE_REF:-5d5b819}
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; rm -rf "$tree"' EXIT
git worktree add --detach "$tree" "$ref" >/dev/null 2>&1
(
  cd "$tree"
  # Latency does not depend on wasm-opt: a plain release build will do.
  CARGO_TARGET_DIR="$OLDPWD/target/bench-before" wasm-pack build --release --target web --out-dir pkg >/dev/null 2>&1
  node scripts/build-pkg.mjs >/dev/null
)
PAYWATCH_SERVER_BIN=target/release/paywatch-server node scripts/bench-comeback.mjs "$tree/pkg" "$PWD/pkg"
