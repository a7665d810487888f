// Reading and writing the parts of a wasm binary that the package build
// rewrites (scripts/minify-names.mjs): sections,
// LEB128 numbers, names, and the import entries to step over.

/** The sections after the 8-byte header: `{ id, body }`, in order. */
export function* sections(b) {
  let pos = 8;
  while (pos < b.length) {
    const id = b[pos++];
    const r = reader(b, pos);
    const size = r.u32();
    yield { id, body: b.subarray(r.pos, r.pos + size) };
    pos = r.pos + size;
  }
}

/** A cursor over `b`: bytes, unsigned LEB128 numbers and names. */
export function reader(b, pos = 0) {
  return {
    get pos() {
      return pos;
    },
    byte: () => b[pos++],
    skip(n) {
      pos += n;
    },
    u32() {
      let v = 0, shift = 0, x;
      do {
        x = b[pos++];
        v += (x & 0x7f) * 2 ** shift;
        shift += 7;
      } while (x & 0x80);
      return v;
    },
    name() {
      const len = this.u32();
      const s = b.subarray(pos, pos + len).toString("utf8");
      pos += len;
      return s;
    },
  };
}

/**
 * Steps over an import's description (after its module and field names);
 * returns its kind (0 for a function). Throws on a kind it does not know.
 */
export function skipImportDesc(r) {
  const kind = r.byte();
  if (kind === 0) r.u32(); // function: type index
  else if (kind === 1) { r.byte(); limits(r); } // table: reftype, limits
  else if (kind === 2) limits(r); // memory
  else if (kind === 3) { r.byte(); r.byte(); } // global: valtype, mutability
  else if (kind === 4) { r.byte(); r.u32(); } // tag
  else throw new Error(`an import of unknown kind ${kind}`);
  return kind;
}

function limits(r) {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** `v` as unsigned LEB128. */
export function uleb(v) {
  const bytes = [];
  do {
    let x = v % 128;
    v = Math.floor(v / 128);
    if (v) x |= 0x80;
    bytes.push(x);
  } while (v);
  return Buffer.from(bytes);
}

/** A wasm name: its UTF-8 length, then its bytes. */
export function name(s) {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([uleb(b.length), b]);
}

/** A whole section: id, size, body. */
export function section(id, body) {
  return Buffer.concat([Buffer.from([id]), uleb(body.length), body]);
}
