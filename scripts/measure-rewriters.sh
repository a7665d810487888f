#!/usr/bin/env bash
# What the build's own wasm rewriter (scripts/minify-names.mjs) saves today:
# builds the package without it, prints both page totals (gzip -9,
# scripts/size.sh), then builds the real package again.
# `bash scripts/measure-rewriters.sh`; the figures are in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
total() { { bash scripts/size.sh 2>&1 || true; } | sed -n 's/^size: page total \([0-9]*\) B.*/\1/p'; }
PAYWATCH_SKIP=minify-names bash scripts/build-pkg.sh >/dev/null 2>&1
without=$(total)
bash scripts/build-pkg.sh >/dev/null 2>&1
with=$(total)
printf '| build | page total (gzip -9) |\n|---|---:|\n'
printf '| as shipped | %s B |\n| without minify-names.mjs | %s B (it saves %s B) |\n' \
  "$with" "$without" "$((without - with))"
