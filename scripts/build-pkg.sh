#!/usr/bin/env bash
# Builds the npm package in pkg/: wasm-pack (release, --target web), then a
# current wasm-opt for size, then pkg.json and js/ merged in.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack build --release --target web --out-dir pkg
# The names the module and the glue reach each other by: one or two letters
# instead of wasm-bindgen's hashed ones (scripts/minify-names.mjs).
# PAYWATCH_SKIP=minify-names leaves it out, so scripts/measure-rewriters.sh
# can say what it saves.
[[ ${PAYWATCH_SKIP:-} == minify-names ]] || node scripts/minify-names.mjs pkg
# wasm-pack's own wasm-opt step is off (Cargo.toml): Debian's binaryen 108
# corrupts the externref table; npm's binaryen is current.
# --flatten --rereloop first rebuilds each function's control flow (binaryen's
# relooper), which -Oz then packs smaller (about 0.3 KB gzip here).
# --converge repeats -Oz while it still shrinks the module; the custom
# sections naming the compiler and the target features are not needed at run
# time. --low-memory-unused lets loads and stores fold constant offsets: the
# module's stack comes first in memory (rustc's --stack-first), so the lowest
# KB is touched only by a stack already near overflow.
scripts/node_modules/.bin/wasm-opt pkg/paywatch_bg.wasm -o pkg/paywatch_bg.wasm \
  --flatten --rereloop -Oz --converge \
  --strip-producers --strip-target-features --strip-debug --low-memory-unused \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue
# Whatever the rewriters did, the module must still be valid wasm (the
# page-level tests, tests/e2e/, then run this very package in three engines).
node -e 'const b = require("fs").readFileSync("pkg/paywatch_bg.wasm");
  if (!WebAssembly.validate(b)) { console.error("pkg/paywatch_bg.wasm is not a valid module"); process.exit(1); }' 
# The mini-program build rewrites the glue as wasm-bindgen wrote it.
node scripts/build-pkg-miniprogram.mjs
node scripts/build-pkg.mjs
# The page's entry: js/index.js and the wasm-bindgen glue it imports, bundled
# into one minified file (esbuild from scripts/node_modules; js/ keeps the
# readable source). It stays an ES module with the glue's
# `new URL("paywatch_bg.wasm", import.meta.url)`, which bundlers such as Vite
# look for. The glue itself is not shipped on its own: nothing imports it.
scripts/node_modules/.bin/esbuild pkg/index.js --bundle --minify --format=esm --target=es2020 \
  --outfile=pkg/index.js --allow-overwrite --log-level=warning
rm pkg/paywatch.js pkg/paywatch.d.ts
scripts/node_modules/.bin/esbuild js/react.js --minify --format=esm --target=es2020 \
  --outfile=pkg/react.js --allow-overwrite --log-level=warning
