// The module import graph of each Rust crate (src/ and server/src/) has no
// cycle; exits 1 naming the files of each cycle and what ties them.
//
// An edge A -> B is a path that A names: `use crate::…`, `use super::…`, or
// an inline `crate::a::b` path, resolved to the file of its longest module
// prefix. A submodule naming its parent's items (`super::Ctx`) draws no
// edge: the parent shares them with its children. A parent naming its
// child's (`push::run`) does. `make lint` and `make test` run it.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const crates = ["src", "server/src"];

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith(".rs") ? [path] : [];
  });
}

/// src/a/b.rs → "a::b"; src/a/mod.rs → "a"; src/lib.rs and main.rs → "".
function modulePath(crateDir, file) {
  const parts = relative(crateDir, file).replace(/\.rs$/, "").split(sep);
  const last = parts[parts.length - 1];
  if (last === "mod" || (parts.length === 1 && (last === "lib" || last === "main"))) parts.pop();
  return parts.join("::");
}

/// Source without comments and string literals (so a path in a doc line or
/// a message is not an import).
function code(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/r#*"[\s\S]*?"#*/g, '""')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/// The paths named after `crate::` / `super::` at `index`: a brace group
/// (`{a, b::c}`) gives one path per item.
function pathsAt(text, index) {
  const rest = text.slice(index);
  if (rest.startsWith("{")) {
    let depth = 0;
    let end = 0;
    for (; end < rest.length; end++) {
      if (rest[end] === "{") depth++;
      if (rest[end] === "}" && --depth === 0) break;
    }
    const inner = rest.slice(1, end);
    const items = [];
    let d = 0;
    let start = 0;
    for (let i = 0; i <= inner.length; i++) {
      const c = inner[i];
      if (c === "{") d++;
      if (c === "}") d--;
      if ((c === "," && d === 0) || i === inner.length) {
        const item = inner.slice(start, i).trim();
        if (item) items.push(item.split("::").filter((s) => /^\w+$/.test(s)).join("::"));
        start = i + 1;
      }
    }
    return items.filter(Boolean);
  }
  const m = /^\w+(?:::\w+)*/.exec(rest);
  return m ? [m[0]] : [];
}

let failed = false;
for (const crate of crates) {
  const crateDir = join(root, crate);
  const files = rustFiles(crateDir);
  const byModule = new Map(files.map((f) => [modulePath(crateDir, f), f]));
  const edges = new Map(files.map((f) => [f, new Map()]));

  for (const file of files) {
    const self = modulePath(crateDir, file);
    const isModFile = /(^|[\\/])(mod|lib|main)\.rs$/.test(file);
    const parent = isModFile ? self.split("::").slice(0, -1).join("::") : self.split("::").slice(0, -1).join("::");
    const text = code(readFileSync(file, "utf8"));
    // `mod lock;` then `lock::acquire` (or `self::lock::…`): the child's file.
    const children = [...text.matchAll(/\bmod\s+(\w+)\s*;/g)].map((c) => c[1]);
    const childPattern = children.length ? `|(?<![\\w:])(?:self::)?(?:${children.join("|")})(?=::)` : "";
    for (const m of text.matchAll(new RegExp(`\\b(crate|super)::${childPattern}`, "g"))) {
      if (!m[1]) {
        const child = m[0].replace(/^self::/, "");
        const to = byModule.get(self ? `${self}::${child}` : child);
        if (to) {
          const rest = pathsAt(text, m.index + m[0].length + 2);
          const names = edges.get(file).get(to) ?? new Set();
          for (const r of rest.length ? rest : [child]) names.add(r.split("::").pop());
          edges.get(file).set(to, names);
        }
        continue;
      }
      const base = m[1] === "crate" ? "" : parent;
      for (const path of pathsAt(text, m.index + m[0].length)) {
        const segs = (base ? base + "::" + path : path).split("::").filter(Boolean);
        let target = null;
        for (let n = segs.length; n >= 0; n--) {
          const mod = segs.slice(0, n).join("::");
          if (byModule.has(mod)) {
            target = mod;
            break;
          }
        }
        if (target === null || target === self) continue;
        // A submodule naming what its parent (or the crate root) shares is
        // the usual layering, not a cycle.
        if (target === "" || self.startsWith(target + "::")) continue;
        const to = byModule.get(target);
        const names = edges.get(file).get(to) ?? new Set();
        names.add(segs[segs.length - 1] ?? target);
        edges.get(file).set(to, names);
      }
    }
  }

  // Tarjan's strongly connected components.
  let index = 0;
  const stack = [];
  const info = new Map();
  const cycles = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of edges.get(v).keys()) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component);
    }
  };
  for (const f of files) if (!info.has(f)) visit(f);

  for (const component of cycles) {
    failed = true;
    const rel = (f) => relative(root, f);
    console.error(`cycle in ${crate}/: ${component.map(rel).join(", ")}`);
    for (const from of component) {
      for (const [to, names] of edges.get(from)) {
        if (component.includes(to)) console.error(`  ${rel(from)} -> ${rel(to)}: ${[...names].join(", ")}`);
      }
    }
  }
  const count = [...edges.values()].reduce((n, m) => n + m.size, 0);
  console.log(`check-cycles: ${crate}/: ${files.length} files, ${count} edges, ${cycles.length} cycle(s)`);
}
process.exit(failed ? 1 : 0);
