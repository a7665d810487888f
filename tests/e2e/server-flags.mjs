// The flags of every reference server the page-level tests start: test
// hooks, a fast heartbeat, and what load from one loopback address needs on
// top of the production defaults (the demo's pay endpoints, per-address
// limits out of reach). scripts/server.sh's LOOPBACK_LOAD_FLAGS says the same
// for the shell scripts. PAYWATCH_TEST_SERVER_FLAGS replaces them; it is read
// when a server starts, so a script may set it after its imports.
export function testServerFlags() {
  return (
    process.env.PAYWATCH_TEST_SERVER_FLAGS ||
    "--test-hooks --heartbeat-ms 300 --demo-endpoints --rate-limit 10000 --max-waiters-per-client 10000"
  ).split(/\s+/).filter(Boolean);
}
