// TextEncoder and TextDecoder (UTF-8 only), which the mini-program host lacks
// and wasm-bindgen's glue needs for every string that crosses into or out of
// the wasm. Behaviour follows the Encoding standard: lone surrogates encode as
// U+FFFD, `fatal` decoders throw on bad bytes, others insert U+FFFD, and
// `decode(bytes, { stream: true })` keeps an incomplete sequence for the next call.
"use strict";

const REPLACEMENT = 0xfffd;

class Utf8Encoder {
  get encoding() {
    return "utf-8";
  }

  encode(input = "") {
    const s = String(input);
    const out = new Uint8Array(s.length * 3);
    return out.slice(0, this.encodeInto(s, out).written);
  }

  /** Writes as much of `input` as fits whole into `dest`. */
  encodeInto(input, dest) {
    const s = String(input);
    let read = 0;
    let written = 0;
    while (read < s.length) {
      let cp = s.charCodeAt(read);
      let units = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && read + 1 < s.length) {
        const low = s.charCodeAt(read + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          units = 2;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = REPLACEMENT; // a lone surrogate
      const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (written + size > dest.length) break;
      if (size === 1) {
        dest[written++] = cp;
      } else {
        const lead = [0, 0, 0xc0, 0xe0, 0xf0][size];
        dest[written++] = lead | (cp >> (6 * (size - 1)));
        for (let shift = 6 * (size - 2); shift >= 0; shift -= 6) {
          dest[written++] = 0x80 | ((cp >> shift) & 0x3f);
        }
      }
      read += units;
    }
    return { read, written };
  }
}

class Utf8Decoder {
  constructor(label = "utf-8", options = {}) {
    const name = String(label).trim().toLowerCase();
    if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: only utf-8 is available in a mini-program, not "${label}"`);
    }
    this.fatal = Boolean(options.fatal);
    this.ignoreBOM = Boolean(options.ignoreBOM);
    this._pending = [];
    this._bomSeen = false;
  }

  get encoding() {
    return "utf-8";
  }

  decode(input, options = {}) {
    let bytes = toBytes(input);
    if (this._pending.length) {
      const joined = new Uint8Array(this._pending.length + bytes.length);
      joined.set(this._pending);
      joined.set(bytes, this._pending.length);
      bytes = joined;
      this._pending = [];
    }
    const stream = Boolean(options.stream);
    const codes = [];
    let text = "";
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      let size = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
      if (size === 0) {
        codes.push(this._bad());
        i += 1;
        continue;
      }
      if (size === 1) {
        codes.push(b);
        i += 1;
      } else {
        // How many continuation bytes are valid (the standard's bounds for
        // the second byte rule out overlong forms and surrogates).
        const lower = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
        const upper = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
        let cp = b & (0xff >> (size + 1));
        let n = 1;
        for (; n < size && i + n < bytes.length; n++) {
          const c = bytes[i + n];
          if (c < (n === 1 ? lower : 0x80) || c > (n === 1 ? upper : 0xbf)) break;
          cp = (cp << 6) | (c & 0x3f);
        }
        if (n === size) {
          codes.push(cp);
          i += size;
        } else if (i + n === bytes.length && stream) {
          this._pending = Array.from(bytes.subarray(i));
          break;
        } else {
          codes.push(this._bad());
          i += n;
        }
      }
      if (codes.length >= 4096) text += flush(codes);
    }
    text += flush(codes);
    if (!this._bomSeen && text.length) {
      this._bomSeen = true;
      if (!this.ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!stream) {
      this._bomSeen = false;
      if (this._pending.length) {
        this._pending = [];
        text += String.fromCharCode(this._bad());
      }
    }
    return text;
  }

  _bad() {
    if (this.fatal) throw new TypeError("The encoded data was not valid utf-8");
    return REPLACEMENT;
  }
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || Object.prototype.toString.call(input) === "[object ArrayBuffer]") {
    return new Uint8Array(input);
  }
  throw new TypeError("TextDecoder.decode takes an ArrayBuffer or a view of one");
}

function flush(codes) {
  let s = "";
  for (const cp of codes) {
    if (cp > 0xffff) {
      const v = cp - 0x10000;
      s += String.fromCharCode(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
    } else {
      s += String.fromCharCode(cp);
    }
  }
  codes.length = 0;
  return s;
}

// Exported under the standard names; the classes are named otherwise because
// the host's module wrapper already has parameters called TextEncoder and
// TextDecoder, and a top-level declaration of either is a SyntaxError there.
module.exports = { TextEncoder: Utf8Encoder, TextDecoder: Utf8Decoder };
