// Finishes the npm package after `wasm-pack build`: merges pkg.json (the
// fields wasm-pack does not write) into pkg/package.json and copies the
// JavaScript entries from js/ next to the wasm glue.
import { readFileSync, writeFileSync, copyFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const pkgDir = join(root, "pkg");
const generated = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const ours = JSON.parse(readFileSync(join(root, "pkg.json"), "utf8"));
const merged = { ...generated, ...ours, version: generated.version };
writeFileSync(join(pkgDir, "package.json"), JSON.stringify(merged, null, 2) + "\n");
for (const f of readdirSync(join(root, "js"), { withFileTypes: true })) {
  if (f.isFile()) copyFileSync(join(root, "js", f.name), join(pkgDir, f.name)); // js/miniprogram/: build-pkg-miniprogram.mjs
}
if (existsSync(join(root, "README.md"))) copyFileSync(join(root, "README.md"), join(pkgDir, "README.md"));
const missing = merged.files.filter((f) => !existsSync(join(pkgDir, f)));
if (missing.length) {
  console.error(`pkg is missing files listed in pkg.json: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`pkg/package.json: ${merged.name}@${merged.version}`);
