// Which post-MVP WebAssembly features a .wasm really uses, read from its
// disassembly (binaryen's wasm-dis, from scripts/node_modules). The package
// entry (js/index.js) probes for exactly these before loading the module;
// the page-level tests compare the two lists.
// Usage: node scripts/wasm-features.mjs [file.wasm]   (default pkg/paywatch_bg.wasm)
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// Feature name (as js/index.js and the README name it) → what in the text
// format shows it is used.
const SIGNS = {
  "reference types": /\bexternref\b|\bfuncref\b.*\btable\.(grow|set|get)|\bref\.(null|is_null|func)\b|\btable\.(grow|set|get|size|fill)\b/,
  "multi-value": /\(result [a-z0-9]+ [a-z0-9]+/,
  "bulk memory": /\bmemory\.(copy|fill|init)\b|\bdata\.drop\b/,
  "non-trapping float-to-int conversions": /\btrunc_sat_/,
  "sign-extension operators": /\bi(32|64)\.extend(8|16|32)_s\b/,
  "SIMD": /\bv128\b/,
  "threads": /\batomic\b|\bshared\b/,
  "exception handling": /\btry\b|\bthrow\b/,
  "tail calls": /\breturn_call\b/,
};

/** The features `file` uses, with how many lines of its disassembly show each. */
export function usedFeatures(file = join(root, "pkg", "paywatch_bg.wasm")) {
  const text = execFileSync(join(root, "scripts", "node_modules", ".bin", "wasm-dis"), [file], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const used = {};
  const lines = text.split("\n").filter((line) => !line.trimStart().startsWith(";;")); // comments, custom sections
  for (const line of lines) {
    for (const [name, sign] of Object.entries(SIGNS)) if (sign.test(line)) used[name] = (used[name] || 0) + 1;
  }
  // A mutable global crossing the boundary: imported as (mut …), or one
  // defined (mut …) and exported.
  const mutable = new Set(lines.map((l) => /^\s*\(global (\$\S+) \(mut /.exec(l)?.[1]).filter(Boolean));
  const crossing = lines.filter(
    (l) => /\(import "[^"]*" "[^"]*" \(global \S+ \(mut /.test(l) || [...l.matchAll(/\(export "[^"]*" \(global (\$\S+)\)/g)].some((m) => mutable.has(m[1])),
  );
  if (crossing.length) used["mutable globals"] = crossing.length;
  return used;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  const used = usedFeatures(file);
  for (const [name, lines] of Object.entries(used)) console.log(`${name}: ${lines} lines`);
}
