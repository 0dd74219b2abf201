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
  let h1 = 0x9e3779b1 | 0;
  let h2 = 0x85ebca77 | 0;
  let h3 = 0xc2b2ae3d | 0;
  let h4 = 0x27d4eb2f | 0;
  let len = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const s = p === undefined ? '' : typeof p === 'string' ? p : String(p);
    // Parts are joined with U+001F: the separator is hashed as code unit 0x1f before each later part
    // (no joined string is built).
    let j = i > 0 ? -1 : 0;
    len += s.length - j;
    for (; j < s.length; j++) {
      const c = j < 0 ? 0x1f : s.charCodeAt(j);
      h1 = Math.imul(h1 ^ c, 0x85ebca6b);
      h1 = (h1 << 13) | (h1 >>> 19);
      h2 = Math.imul(h2 ^ c, 0xcc9e2d51);
      h2 = (h2 << 15) | (h2 >>> 17);
      h3 = Math.imul(h3 ^ c, 0x1b873593);
      h3 = (h3 << 11) | (h3 >>> 21);
      h4 = Math.imul(h4 ^ c, 0xe6546b64);
      h4 = (h4 << 17) | (h4 >>> 15);
    }
  }
  // Cross-mix the lanes, then finalize each (fmix32).
  h1 ^= len;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h3) | 0;
  h3 = (h3 + h4) | 0;
  h4 = (h4 + h1) | 0;
  return hex(fmix(h1)) + hex(fmix(h2)) + hex(fmix(h3)) + hex(fmix(h4 ^ len));
}

function fmix(h0: number): number {
  let h = h0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two lower-case hex digits per byte value (Number#toString(16) is slow on the hot path). */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));

/** 8 lower-case hex digits of an unsigned 32-bit value. */
function hex(n: number): string {
  return (
    (BYTE_HEX[n >>> 24] ?? '') +
    (BYTE_HEX[(n >>> 16) & 0xff] ?? '') +
    (BYTE_HEX[(n >>> 8) & 0xff] ?? '') +
    (BYTE_HEX[n & 0xff] ?? '')
  );
}
