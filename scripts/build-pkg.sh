#!/usr/bin/env bash
# Builds the npm package in pkg/: wasm-pack (release, --target web), then a
# current wasm-opt for size, then pkg.json and js/ merged in.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack build --release --target web --out-dir pkg
# wasm-pack's own wasm-opt step is off (Cargo.toml): Debian's binaryen 108
# corrupts the externref table; npm's binaryen is current.
scripts/node_modules/.bin/wasm-opt pkg/paywatch_bg.wasm -o pkg/paywatch_bg.wasm -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue
node scripts/build-pkg-miniprogram.mjs
node scripts/build-pkg.mjs
