# Sourced by scripts that need a running reference server.
#
# `start_server [args…]` starts target/debug/paywatch-server on a free
# 127.0.0.1 port, exports PAYWATCH_SERVER=http://127.0.0.1:PORT and stops it
# on exit. Called again, it starts another one (and stops them all on exit).
#
# LOOPBACK_LOAD_FLAGS: what a server driven by tests or benchmarks from this
# one machine needs on top of the production defaults: the demo's pay
# endpoints, and per-address limits out of reach of the load, which all
# comes from 127.0.0.1.
LOOPBACK_LOAD_FLAGS="--demo-endpoints --rate-limit 10000 --max-waiters-per-client 10000"

# free_port: prints a free TCP port on 127.0.0.1.
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

start_server() {
  local bin=${PAYWATCH_SERVER_BIN:-target/debug/paywatch-server}
  local log
  log=$(mktemp)
  "$bin" --host 127.0.0.1 --port 0 --www www --pkg pkg "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_PIDS="${SERVER_PIDS:-} $SERVER_PID"
  trap 'kill $SERVER_PIDS 2>/dev/null; wait $SERVER_PIDS 2>/dev/null; true' EXIT
  local url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^paywatch-server listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n1)
    [ -n "$url" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; echo "server died" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$log"; echo "server did not start" >&2; return 1; }
  export PAYWATCH_SERVER=$url
}
