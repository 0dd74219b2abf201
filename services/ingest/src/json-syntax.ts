/**
 * JSON syntax check without building the value: the receiver only needs to know whether a body
 * is JSON (400 `BODY_NOT_JSON` otherwise) and forwards the original bytes, so parsing it into
 * objects (and decoding it into a string first) is work and garbage for nothing.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Containers on the explicit nesting stack (iterative, so deep nesting cannot overflow the call stack). */
const IN_ARRAY = 0;
const IN_OBJECT = 1;

/** Bytes allowed after a backslash in a string (RFC 8259 §7), `u` excluded (checked with its 4 hex digits). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const ch of '"\\/bfnrt') SIMPLE_ESCAPE[ch.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1;

/** Position after the JSON whitespace (space, tab, LF, CR — RFC 8259 §2) starting at `i`. */
function skipWs(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * Position of the member's value after an object key at `i` (`"key" ws : ws`), or -1 when there is
 * no valid key and colon there.
 */
function skipMemberKey(b: Uint8Array, i: number, n: number): number {
  if (i >= n || b[i] !== QUOTE) return -1;
  let j = skipString(b, i, n);
  if (j < 0) return -1;
  j = skipWs(b, j, n);
  if (j >= n || b[j] !== COLON) return -1;
  return skipWs(b, j + 1, n);
}

/** Position after the string whose opening quote is at `i`, or -1 when it is not a valid string. */
function skipString(b: Uint8Array, i: number, n: number): number {
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (i + 1 >= n) return -1;
      const e = b[i + 1]!;
      if (SIMPLE_ESCAPE[e] === 1) i += 2;
      else if (e === 0x75 && i + 5 < n && HEX[b[i + 2]!] && HEX[b[i + 3]!] && HEX[b[i + 4]!] && HEX[b[i + 5]!]) i += 6;
      else return -1;
    } else if (c < 0x20) {
      return -1; // raw control characters are not allowed in strings
    } else {
      i++; // any other byte, UTF-8 sequences included (invalid ones decode to U+FFFD, still a string)
    }
  }
  return -1;
}

/** Position after the number starting at `i` (RFC 8259 §6), or -1 when it is not a valid number. */
function skipNumber(b: Uint8Array, i: number, n: number): number {
  if (b[i] === MINUS) i++;
  if (i >= n) return -1;
  const first = b[i]!;
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) {
    i++;
    while (i < n && b[i]! >= ZERO && b[i]! <= NINE) i++;
  } else return -1;
  if (i < n && b[i] === DOT) {
    i++;
    const start = i;
    while (i < n && b[i]! >= ZERO && b[i]! <= NINE) i++;
    if (i === start) return -1;
  }
  if (i < n && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    i++;
    if (i < n && (b[i] === PLUS || b[i] === MINUS)) i++;
    const start = i;
    while (i < n && b[i]! >= ZERO && b[i]! <= NINE) i++;
    if (i === start) return -1;
  }
  return i;
}

/** Position after `word` (ASCII) at `i`, or -1. */
function skipLiteral(b: Uint8Array, i: number, n: number, word: string): number {
  if (i + word.length > n) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/**
 * Whether `bytes` holds exactly one JSON text (RFC 8259 §2: whitespace, one value, whitespace):
 * true exactly when `JSON.parse(Buffer.from(bytes).toString('utf8'))` would succeed, without
 * decoding or building anything (a few µs per KiB less, and no garbage). Bytes ≥ 0x80 are
 * accepted inside strings only, as the UTF-8 decoding would make them string characters (an
 * invalid sequence becomes U+FFFD); a byte-order mark is refused, as JSON.parse refuses U+FEFF.
 * Nesting depth is bounded by memory only (an explicit stack, no recursion). Never throws.
 */
export function isJsonText(bytes: Uint8Array): boolean {
  const b = bytes;
  const n = b.length;
  const stack: number[] = [];
  let i = skipWs(b, 0, n);
  for (;;) {
    // ---- a value starts at i
    if (i >= n) return false;
    const c = b[i]!;
    if (c === OPEN_OBJECT) {
      i = skipWs(b, i + 1, n);
      if (i < n && b[i] === CLOSE_OBJECT) {
        i++;
      } else {
        // first member: "key" ws : ws value
        i = skipMemberKey(b, i, n);
        if (i < 0) return false;
        stack.push(IN_OBJECT);
        continue;
      }
    } else if (c === OPEN_ARRAY) {
      i = skipWs(b, i + 1, n);
      if (i < n && b[i] === CLOSE_ARRAY) {
        i++;
      } else {
        stack.push(IN_ARRAY);
        continue;
      }
    } else if (c === QUOTE) {
      i = skipString(b, i, n);
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = skipNumber(b, i, n);
    } else if (c === 0x74) {
      i = skipLiteral(b, i, n, 'true');
    } else if (c === 0x66) {
      i = skipLiteral(b, i, n, 'false');
    } else if (c === 0x6e) {
      i = skipLiteral(b, i, n, 'null');
    } else {
      return false;
    }
    if (i < 0) return false;
    // ---- after a value: close containers, or a comma and the next value
    for (;;) {
      i = skipWs(b, i, n);
      const depth = stack.length;
      if (depth === 0) return i === n;
      if (i >= n) return false;
      const d = b[i]!;
      const top = stack[depth - 1];
      if (d === COMMA) {
        i = skipWs(b, i + 1, n);
        if (top === IN_OBJECT) {
          i = skipMemberKey(b, i, n);
          if (i < 0) return false;
        }
        break; // the next value
      }
      if ((top === IN_ARRAY && d === CLOSE_ARRAY) || (top === IN_OBJECT && d === CLOSE_OBJECT)) {
        stack.pop();
        i++;
        continue;
      }
      return false;
    }
  }
}
