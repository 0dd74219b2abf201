/**
 * Go string-literal escapes and logfmt scanning.
 * - logrus text quotes values with `fmt.Sprintf("%q")` when they hold anything outside
 *   `[A-Za-z0-9-._/@^+]` (`sirupsen/logrus` `text_formatter.go` `needsQuoting`), so quoted values carry
 *   Go escapes `\" \\ \a \b \f \n \r \t \v \xNN \NNN \uNNNN \UNNNNNNNN` (Go `strconv.Unquote`).
 * - gorilla/handlers `appendQuoted` (combined access log) escapes `"`, `\` and control runes the same way.
 */

const SIMPLE: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/**
 * Decodes Go escapes in `body` (the text between the quotes). `\xNN`/octal escapes are bytes and
 * are decoded together as UTF-8 (invalid sequences become U+FFFD).
 * @returns the decoded string, or null when an escape is malformed.
 */
export function unescapeGo(body: string): string | null {
  if (body.indexOf('\\') < 0) return body;
  let out = '';
  let bytes: number[] | null = null;
  const flush = (): void => {
    if (bytes !== null) {
      out += Buffer.from(bytes).toString('utf8');
      bytes = null;
    }
  };
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c !== '\\') {
      flush();
      const next = body.indexOf('\\', i);
      const end = next < 0 ? body.length : next;
      out += body.slice(i, end);
      i = end;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return null;
    const simple = SIMPLE[e];
    if (simple !== undefined) {
      flush();
      out += simple;
      i += 2;
    } else if (e === 'x') {
      const hex = body.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      (bytes ??= []).push(parseInt(hex, 16));
      i += 4;
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return null;
      const v = parseInt(oct, 8);
      if (v > 255) return null;
      (bytes ??= []).push(v);
      i += 4;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + n);
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) return null;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return null;
      flush();
      out += String.fromCodePoint(cp);
      i += 2 + n;
    } else {
      return null;
    }
  }
  flush();
  return out;
}

/**
 * Reads a double-quoted Go string starting at `s[start] === '"'`.
 * @returns the decoded value and the index just after the closing quote, or null if unterminated/malformed.
 */
export function readQuoted(s: string, start: number): { value: string; end: number } | null {
  let i = start + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) {
      i += 2;
      continue;
    }
    if (c === 34 /* " */) {
      const value = unescapeGo(s.slice(start + 1, i));
      return value === null ? null : { value, end: i + 1 };
    }
    i++;
  }
  return null;
}

/**
 * Parses logfmt `key=value key="quoted value" …` as written by logrus `TextFormatter`, starting at
 * `from`. Keys are `[A-Za-z0-9_.@/-]+`; values are bare (up to the next space) or Go-quoted.
 * A bare key without `=` gets the value `""` (never produced by logrus; tolerated).
 * @returns the fields in order (later duplicates win), or null on an unterminated quote / bad escape.
 */
export function parseLogfmt(s: string, from = 0): Map<string, string> | null {
  const out = new Map<string, string>();
  let i = from;
  const n = s.length;
  while (i < n) {
    while (i < n && s.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 61 /* = */ || c === 32) break;
      i++;
    }
    const key = s.slice(keyStart, i);
    if (key.length === 0) return null;
    if (i >= n || s.charCodeAt(i) === 32) {
      out.set(key, '');
      continue;
    }
    i++; // '='
    if (s.charCodeAt(i) === 34) {
      // Inline readQuoted: find the closing quote; only values with escapes need unescapeGo.
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 92 /* \ */) {
          escaped = true;
          i += 2;
          continue;
        }
        if (c === 34 /* " */) break;
        i++;
      }
      if (i >= n) return null;
      const body = s.slice(start + 1, i);
      const value = escaped ? unescapeGo(body) : body;
      if (value === null) return null;
      out.set(key, value);
      i++;
    } else {
      const vStart = i;
      while (i < n && s.charCodeAt(i) !== 32) i++;
      out.set(key, s.slice(vStart, i));
    }
  }
  return out;
}
