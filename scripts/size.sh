#!/usr/bin/env bash
# `make size` (and `make test`): what a page downloads, raw and gzip -9, from
# the built pkg/, and the size gate. Fails when the page total — everything
# a plain page loads: the .wasm and the entry, which has the wasm-bindgen
# glue bundled in — is over the budget (PAYWATCH_BUDGET bytes gzip -9; default issue 9's 52 KB = 53,248 B), or
# when the module links serde's float formatting again (vendor/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
target=53248 # issue 9's budget
budget=${PAYWATCH_BUDGET:-$target}
row() { printf '| %-22s | %9s | %9s |\n' "$1" "$2" "$3"; }
echo "| file                   |       raw | gzip -9   |"
echo "|------------------------|----------:|----------:|"
total_raw=0; total_gz=0
for f in paywatch_bg.wasm index.js react.js; do
  raw=$(wc -c < "pkg/$f"); gz=$(gzip -9c "pkg/$f" | wc -c)
  row "$f" "$raw" "$gz"
  if [ "$f" != react.js ]; then total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); fi
done
row "page total (no React)" "$total_raw" "$total_gz"
echo "(the wasm-bindgen glue is bundled into index.js: there is no separate glue file)"
# The entry (with the wasm-bindgen glue bundled in) loads the .wasm and
# nothing else. An import of another file would be one this table does not
# count.
imports=$(grep -o 'from *"\./[^"]*"\|import *"\./[^"]*"\|import(\s*"\./[^"]*"' pkg/index.js || true)
if [ -n "$imports" ]; then
  echo "size: the entry imports files the page total does not count: $imports" >&2
  exit 1
fi
if grep -q 'floating point `' pkg/paywatch_bg.wasm; then
  echo "size: the module links serde's float formatting again; is the patch in vendor/serde-wasm-bindgen lost? (vendor/README.md)" >&2
  exit 1
fi
if [ "$total_gz" -gt "$target" ]; then
  echo "size: issue 9's budget is $target B: the page total is over it by $((total_gz - target)) B"
fi
if [ "$total_gz" -gt "$budget" ]; then
  echo "size: page total $total_gz B gzip -9 is over the budget of $budget B by $((total_gz - budget)) B" >&2
  exit 1
fi
echo "size: page total $total_gz B gzip -9, within the budget of $budget B ($((budget - total_gz)) B to spare)"
