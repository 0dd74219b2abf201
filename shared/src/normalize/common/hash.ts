import { endianness } from 'node:os';
/**
 * Deterministic dedupe id for sources without an id of their own (FORMATS.md "Dedupe and
 * correlation keys"): 128 bits as 32 lower-case hex characters, computed over the parts joined with
 * U+001F (`undefined` becomes an empty field).
 *
 * The hash is four independent 32-bit multiply-xorshift lanes (MurmurHash3-style finalizer) over
 * the UTF-16 code units — not cryptographic, but stable across processes and versions and ~5× cheaper
 * than SHA-256 on the per-line hot path. Ids only need to be collision-free among honest log lines;
 * they are never used as a security boundary.
 */
export function stableId(...parts: (string | number | undefined)[]): string {
  h1 = 0x9e3779b1 | 0;
  h2 = 0x85ebca77 | 0;
  h3 = 0xc2b2ae3d | 0;
  h4 = 0x27d4eb2f | 0;
  let len = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const s = p === undefined ? '' : typeof p === 'string' ? p : String(p);
    // Parts are joined with U+001F: the separator is hashed as code unit 0x1f before each later part
    // (no joined string is built).
    if (i > 0) {
      mix(0x1f);
      len++;
    }
    if (COPY_OK && s.length >= COPY_MIN && s.length <= COPY_MAX) mixCopied(s);
    else mixString(s);
    len += s.length;
  }
  // Cross-mix the lanes, then finalize each (fmix32).
  h1 ^= len;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h3) | 0;
  h3 = (h3 + h4) | 0;
  h4 = (h4 + h1) | 0;
  return hex128(fmix(h1), fmix(h2), fmix(h3), fmix(h4 ^ len));
}

// The four lanes live in module state while one id is computed (stableId is synchronous and not
// re-entrant), so the per-character loop below works on plain variables without a closure or object.
let h1 = 0;
let h2 = 0;
let h3 = 0;
let h4 = 0;

/** Mixes one UTF-16 code unit into the four lanes. */
function mix(c: number): void {
  h1 = Math.imul(h1 ^ c, 0x85ebca6b);
  h1 = (h1 << 13) | (h1 >>> 19);
  h2 = Math.imul(h2 ^ c, 0xcc9e2d51);
  h2 = (h2 << 15) | (h2 >>> 17);
  h3 = Math.imul(h3 ^ c, 0x1b873593);
  h3 = (h3 << 11) | (h3 >>> 21);
  h4 = Math.imul(h4 ^ c, 0xe6546b64);
  h4 = (h4 << 17) | (h4 >>> 15);
}

/** Mixes every code unit of `s` (the same as {@link mix} per unit, with the lanes in locals). */
function mixString(s: string): void {
  let a = h1;
  let b = h2;
  let c = h3;
  let d = h4;
  for (let j = 0; j < s.length; j++) {
    const u = s.charCodeAt(j);
    a = Math.imul(a ^ u, 0x85ebca6b);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ u, 0xcc9e2d51);
    b = (b << 15) | (b >>> 17);
    c = Math.imul(c ^ u, 0x1b873593);
    c = (c << 11) | (c >>> 21);
    d = Math.imul(d ^ u, 0xe6546b64);
    d = (d << 17) | (d >>> 15);
  }
  h1 = a;
  h2 = b;
  h3 = c;
  h4 = d;
}

/**
 * Strings at least this long are hashed from a copy of their UTF-16 code units in a typed array
 * ({@link mixCopied}): one native copy, then plain array loads, is cheaper than `charCodeAt` per
 * unit (which re-checks the string's representation, and unwraps sliced strings, every time).
 */
const COPY_MIN = 48;
/**
 * The copy is written as `utf16le` and read through a platform-endian Uint16Array: only equal on
 * little-endian hosts, so big-endian ones (s390x) keep the `charCodeAt` loop and the same ids.
 */
const COPY_OK = endianness() === 'LE';
/** Longer strings take the `charCodeAt` loop, so the copy buffer never grows past 128 KiB. */
const COPY_MAX = 65_536;
let units = new Uint16Array(2048);
let unitBytes = Buffer.from(units.buffer, units.byteOffset, units.byteLength);

/** {@link mixString} over a copy of the code units (same result for every string, lone surrogates included). */
function mixCopied(s: string): void {
  const n = s.length;
  if (n > units.length) {
    units = new Uint16Array(Math.min(COPY_MAX, Math.max(n, units.length * 2)));
    unitBytes = Buffer.from(units.buffer, units.byteOffset, units.byteLength);
  }
  // `utf16le` writes each UTF-16 code unit as is (2 bytes, little-endian like the typed array on
  // the little-endian hosts this path runs on: see COPY_OK).
  unitBytes.write(s, 0, n * 2, 'utf16le');
  const u = units;
  let a = h1;
  let b = h2;
  let c = h3;
  let d = h4;
  for (let j = 0; j < n; j++) {
    const x = u[j] ?? 0;
    a = Math.imul(a ^ x, 0x85ebca6b);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ x, 0xcc9e2d51);
    b = (b << 15) | (b >>> 17);
    c = Math.imul(c ^ x, 0x1b873593);
    c = (c << 11) | (c >>> 21);
    d = Math.imul(d ^ x, 0xe6546b64);
    d = (d << 17) | (d >>> 15);
  }
  h1 = a;
  h2 = b;
  h3 = c;
  h4 = d;
}

/** MurmurHash3 fmix32 of a 32-bit value; the result as a signed 32-bit integer (only its bits are used). */
function fmix(h0: number): number {
  let h = h0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** The 16 bytes of an id (four 32-bit lanes, big-endian), hex-encoded by {@link hex128}. */
const idBytes = Buffer.alloc(16);

/** Stores `v` (signed or unsigned, its 32 bits) big-endian at `idBytes[o..o+3]`. */
function putLane(v: number, o: number): void {
  idBytes[o] = v >>> 24;
  idBytes[o + 1] = (v >>> 16) & 255;
  idBytes[o + 2] = (v >>> 8) & 255;
  idBytes[o + 3] = v & 255;
}

/**
 * The 32 lower-case hex digits of four 32-bit values (signed or unsigned, the bits are what count),
 * most significant first: the values' big-endian bytes in a reused buffer, hex-encoded by Node's
 * native `buffer.toString('hex')` (one flat string; about half the cost of building it from 32
 * char codes in JavaScript).
 */
function hex128(a: number, b: number, c: number, d: number): string {
  putLane(a, 0);
  putLane(b, 4);
  putLane(c, 8);
  putLane(d, 12);
  return idBytes.toString('hex');
}
