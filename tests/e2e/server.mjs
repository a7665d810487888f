// The reference server the page-level suites and benchmarks start (run.mjs,
// tabs.mjs for the cross-tab tests, lifecycle-server.mjs): the binary at
// $PAYWATCH_SERVER_BIN (default target/debug/paywatch-server) on a free
// 127.0.0.1 port, with the test flags of server-flags.mjs.
import { spawn } from "node:child_process";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { testServerFlags } from "./server-flags.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The server binary's absolute path. */
export function serverBinary() {
  const bin = process.env.PAYWATCH_SERVER_BIN || "target/debug/paywatch-server";
  return isAbsolute(bin) ? bin : join(root, bin);
}

/**
 * Starts a server serving `www` (and the package directory `pkg` at /pkg/,
 * when given); resolves with `{ url, stop }` once it listens, or rejects
 * with its output when it exits or has not started within 10 s. `stop()`
 * sends SIGTERM, then SIGKILL after 5 s, and resolves once it has exited.
 */
export async function spawnServer({ www, pkg }) {
  const bin = serverBinary();
  const args = ["--host", "127.0.0.1", "--port", "0", "--www", www];
  if (pkg) args.push("--pkg", pkg);
  const child = spawn(bin, [...args, ...testServerFlags()], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${output}`)), 10_000);
    child.stdout.on("data", (d) => {
      output += d;
      const m = /paywatch-server listening on (http:\/\/[^\s]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited (${code}):\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  };
  return { url, stop };
}
