// The small test runner the page-level suites share (lifecycle, cross-tab,
// cluster): each test runs under a deadline, prints `ok` or `FAIL` with its
// time, and `suite.finish()` prints the closing `<label>: N passed, M failed`
// line CI reads and exits non-zero on any failure.
export function suite(label, { only = process.env.ONLY } = {}) {
  let passed = 0;
  let failed = 0;
  const fail = (name, e) => {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e && e.stack ? e.stack : e).split("\n").join("\n     ")}`);
  };
  return {
    /// Runs one test unless `ONLY` names others; fails it after `timeoutMs`.
    /// Resolves whether it passed (`undefined` when skipped).
    async test(name, fn, timeoutMs = 60_000) {
      if (only && !name.includes(only)) return undefined;
      const t = performance.now();
      let timer;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        passed++;
        console.log(`ok   ${name} (${Math.round(performance.now() - t)} ms)`);
        return true;
      } catch (e) {
        fail(name, e);
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    /// Counts a failure outside any test (setup, teardown).
    fail,
    finish() {
      console.log(`${label}: ${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
  };
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
