// Finishes the npm package after `wasm-pack build`: merges pkg.json (the
// fields wasm-pack does not write) into pkg/package.json, copies the
// JavaScript entries from js/ next to the wasm glue, the licenses and the
// changelog, and writes the package README from scripts/pkg-README.md.
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
for (const f of ["LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"]) copyFileSync(join(root, f), join(pkgDir, f));
writeFileSync(join(pkgDir, "README.md"), packageReadme());
const missing = merged.files.filter((f) => !existsSync(join(pkgDir, f)));
if (missing.length) {
  console.error(`pkg is missing files listed in pkg.json: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`pkg/package.json: ${merged.name}@${merged.version}`);

// The package README reads on its own, on npm or in node_modules: the
// template with sections of the repository README included
// (`<!-- include: Heading -->` takes the `## Heading` section), less any
// `<!-- repo-only -->…<!-- /repo-only -->` part. An image, or a link that is
// neither absolute nor an anchor, would only resolve inside the repository:
// the build fails on one.
function packageReadme() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = (heading) => {
    const start = readme.indexOf(`\n## ${heading}\n`);
    if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
    const next = readme.indexOf("\n## ", start + 1);
    return readme.slice(start + 1, next < 0 ? undefined : next).trimEnd();
  };
  const text = readFileSync(join(root, "scripts", "pkg-README.md"), "utf8")
    .replace(/<!-- include: (.+?) -->/g, (_, heading) => section(heading))
    .replace(/<!-- repo-only -->[\s\S]*?<!-- \/repo-only -->\n?/g, "");
  const bad = [...text.matchAll(/!?\[[^\]]*\]\(([^)]*)\)/g)]
    .filter(([all, target]) => all.startsWith("!") || !/^(https?:\/\/|#)/.test(target))
    .map(([all]) => all);
  if (bad.length) {
    console.error(`the package README would have images or repository links: ${bad.join(", ")}`);
    process.exit(1);
  }
  return text;
}
