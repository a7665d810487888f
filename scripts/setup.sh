#!/usr/bin/env bash
# Installs every tool `make demo` and `make test` need, and nothing that is
# already there. Safe to run again and again; `make` runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# 1. Rust target for the browser.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

# 2. Debian packages: the three browser engines and their WebDriver servers;
#    redis-server and haproxy for the multi-instance test.
#    Chromium + chromedriver; Firefox ESR (its driver, geckodriver, comes from
#    crates.io below); WebKitGTK's MiniBrowser + WebKitWebDriver, which needs
#    a display: Xvfb through xvfb-run.
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
[ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || need_apt+=(webkit2gtk-driver)
[ -x /usr/bin/xvfb-run ] || need_apt+=(xvfb xauth)
# The cluster test (issue 13): a real Redis and a real load balancer.
[ -x /usr/bin/redis-server ] || need_apt+=(redis-server)
[ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
# make demo's throwaway WeChat Pay-shaped keys (scripts/demo-keys.sh).
[ -x /usr/bin/openssl ] || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# 3. wasm-pack, and the wasm-bindgen CLI at exactly the version Cargo.lock pins
#    (wasm-pack uses the one on PATH; a mismatch is a hard error).
if ! command -v wasm-pack >/dev/null; then
  say "cargo install wasm-pack"
  cargo install wasm-pack --locked
fi
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  say "cargo install wasm-bindgen-cli $want (have: ${have:-none})"
  # Not --locked: one of its pinned dependencies is missing from the registry.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# 4. The engines' other WebDriver servers. geckodriver from crates.io (Debian
#    has none). wasm-pack runs WebKit through `safaridriver` on PATH: in
#    .tools/bin (git-ignored) a link of that name points at WebKitWebDriver;
#    scripts/test.sh and scripts/bench.sh put .tools/bin on PATH.
if ! command -v geckodriver >/dev/null; then
  say "cargo install geckodriver"
  cargo install geckodriver --locked
fi
if [ "$(readlink .tools/bin/safaridriver 2>/dev/null)" != /usr/bin/WebKitWebDriver ]; then
  say "linking .tools/bin/safaridriver -> /usr/bin/WebKitWebDriver"
  mkdir -p .tools/bin
  ln -sfn /usr/bin/WebKitWebDriver .tools/bin/safaridriver
fi

# 5. Node packages: build tools (a current wasm-opt), the page-level
#    tests' playwright-core (Chromium) and selenium-webdriver (WebKit,
#    Firefox), and the mini-program host's WebSocket client (ws).
#    Reinstalled when a lock file changes.
for dir in scripts tests/e2e tests/miniprogram; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
say "ready"
