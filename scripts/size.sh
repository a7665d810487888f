#!/usr/bin/env bash
# `make size`: what a page downloads, raw and gzip -9, from the built pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
row() { printf '| %-22s | %9s | %9s |\n' "$1" "$2" "$3"; }
echo "| file                   |       raw | gzip -9   |"
echo "|------------------------|----------:|----------:|"
total_raw=0; total_gz=0
for f in paywatch_bg.wasm paywatch.js index.js react.js; do
  raw=$(wc -c < "pkg/$f"); gz=$(gzip -9c "pkg/$f" | wc -c)
  row "$f" "$raw" "$gz"
  if [ "$f" != react.js ]; then total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); fi
done
row "page total (no React)" "$total_raw" "$total_gz"
