// Shortens the names the wasm module and its wasm-bindgen glue use to reach
// each other (run by build-pkg.sh after wasm-opt, before the glue is
// minified). wasm-bindgen names every import `__wbg_<name>_<16 hex digits>`
// under the module "./paywatch_bg.js", and its internal exports
// `__wbindgen_…`/`__wasm_bindgen_func_elem_…`: about 150 long names, written
// once in the .wasm and again in the glue, and the hashes do not compress.
// Here each becomes one or two letters, in both files at once: the import
// and export sections of the .wasm are rewritten (every other section is
// copied byte for byte), and in the glue (and paywatch_bg.wasm.d.ts) every
// identifier equal to an old name is replaced by the new one. The exports a
// page calls (`checkPayStatus`, …) and `memory` keep their names; internal
// exports the glue never uses are dropped. Runs before wasm-opt, which then
// removes the code only those exports kept.
//
// `node scripts/minify-names.mjs pkg` rewrites pkg/paywatch_bg.wasm,
// pkg/paywatch.js and pkg/paywatch_bg.wasm.d.ts in place.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { name, reader, section, sections, skipImportDesc, uleb } from "./wasm-binary.mjs";

const MODULE = "./paywatch_bg.js";
const dir = process.argv[2] || "pkg";
const wasmPath = join(dir, "paywatch_bg.wasm");
const gluePath = join(dir, "paywatch.js");
const typesPath = join(dir, "paywatch_bg.wasm.d.ts");

const wasm = readFileSync(wasmPath);
const renames = new Map(); // old name -> new name
const short = shortNames();
const rename = (name) => {
  if (!renames.has(name)) renames.set(name, short.next().value);
  return renames.get(name);
};
const internal = (name) => name.startsWith("__");

// Identifiers of the glue: an internal export it never names is dropped, so
// that wasm-opt (run after this) can remove what only that export kept.
let glue = readFileSync(gluePath, "utf8");
const glueWords = new Set(glue.match(/[A-Za-z_$][\w$]*/g));
const dropped = [];

const out = [wasm.subarray(0, 8)];
for (const { id, body } of sections(wasm)) {
  if (id === 2) out.push(section(2, importSection(body)));
  else if (id === 7) out.push(section(7, exportSection(body)));
  else out.push(section(id, body));
}

const moduleKey = JSON.stringify(MODULE);
if (!glue.includes(moduleKey)) fail(`the glue has no ${moduleKey} import object`);
glue = glue.split(moduleKey).join(JSON.stringify(rename(MODULE)));
let replaced = new Set();
const renameIdents = (text) =>
  text.replace(/[A-Za-z_$][\w$]*/g, (word) => {
    if (!renames.has(word) || word === MODULE) return word;
    replaced.add(word);
    return renames.get(word);
  });
glue = renameIdents(glue);
const unseen = [...renames.keys()].filter((n) => n !== MODULE && !replaced.has(n));
if (unseen.length) fail(`imports the glue does not provide: ${unseen.join(", ")}`);
writeFileSync(gluePath, glue);
const types = readFileSync(typesPath, "utf8")
  .split("\n")
  .filter((line) => !dropped.some((n) => line.startsWith(`export const ${n}:`)))
  .join("\n");
writeFileSync(typesPath, renameIdents(types));
writeFileSync(wasmPath, Buffer.concat(out));
console.log(
  `minify-names: ${renames.size} names shortened, unused exports dropped (${dropped.join(", ")}); ` +
    `.wasm ${wasm.length} -> ${Buffer.concat(out).length} B`,
);

// The import section, every module and field name shortened.
function importSection(body) {
  const r = reader(body);
  const n = r.u32();
  const w = [uleb(n)];
  for (let i = 0; i < n; i++) {
    const module = r.name();
    const field = r.name();
    if (module !== MODULE) fail(`an import from an unexpected module: ${module}`);
    const start = r.pos;
    skipImportDesc(r);
    w.push(name(rename(module)), name(rename(field)), body.subarray(start, r.pos));
  }
  if (r.pos !== body.length) fail("trailing bytes in the import section");
  return Buffer.concat(w);
}

// The export section: wasm-bindgen's internal names shortened, those the
// glue never uses dropped.
function exportSection(body) {
  const r = reader(body);
  const n = r.u32();
  const w = [];
  for (let i = 0; i < n; i++) {
    const field = r.name();
    const start = r.pos;
    r.byte();
    r.u32();
    if (!internal(field)) w.push(name(field), body.subarray(start, r.pos));
    else if (glueWords.has(field)) w.push(name(rename(field)), body.subarray(start, r.pos));
    else dropped.push(field);
  }
  if (r.pos !== body.length) fail("trailing bytes in the export section");
  return Buffer.concat([uleb(n - dropped.length), ...w]);
}

// a … z, A … Z, then two letters; never a word JavaScript reserves.
function* shortNames() {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (const a of letters) yield a;
  for (const a of letters) for (const b of letters) if (!["do", "if", "in"].includes(a + b)) yield a + b;
}

function fail(why) {
  console.error(`minify-names: ${why}`);
  process.exit(1);
}
