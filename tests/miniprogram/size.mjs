// What the mini-program's code package carries after "build npm": every file
// of pkg/miniprogram_dist, raw and gzip -9 (how the host ships a package),
// against the host's 2 MB main-package limit. Run: node tests/miniprogram/size.mjs
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliDecompressSync } from "node:zlib";
import { PKG } from "./host.mjs";

const LIMIT = 2 * 1024 * 1024;
const dist = join(PKG, JSON.parse(readFileSync(join(PKG, "package.json"), "utf8")).miniprogram);
const rows = [];
let raw = 0;
let gz = 0;
for (const f of readdirSync(dist).sort()) {
  const bytes = readFileSync(join(dist, f));
  const g = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += g;
  const note = f.endsWith(".wasm.br") ? `brotli of ${brotliDecompressSync(bytes).length.toLocaleString("en")} B of wasm` : "";
  rows.push([f, bytes.length, g, note]);
}
const n = (v) => v.toLocaleString("en");
console.log("| file (miniprogram_npm/paywatch/) | raw | gzip -9 | note |");
console.log("|---|---:|---:|---|");
for (const [f, r, g, note] of rows) console.log(`| \`${f}\` | ${n(r)} B | ${n(g)} B | ${note} |`);
console.log(`| **total** | **${n(raw)} B** | **${n(gz)} B** | ${((100 * raw) / LIMIT).toFixed(1)} % of the 2 MB main-package limit |`);
