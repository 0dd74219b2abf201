/**
 * Go `time.Duration` strings ↔ integer nanoseconds.
 * Grammar from Go `src/time/format.go` (`ParseDuration`, `unitMap`): `[-+]?(\d*(\.\d*)?unit)+` or a
 * bare `0`; units `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`. Distribution logs
 * `http.response.duration` with `Duration.String()` (`internal/dcontext/http.go`).
 */

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const INT64_MAX = 9_223_372_036_854_775_807n;
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
const GROUP_RE = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Fractional part exactly as Go's `leadingFraction` + `float64(f) * (float64(unit) / scale)`:
 * digits stop accumulating once the value would overflow int64, and the product is truncated.
 */
function fractionNs(frac: string, unit: bigint): bigint {
  let f = 0n;
  let scale = 1;
  for (let i = 0; i < frac.length; i++) {
    if (f > INT64_MAX / 10n) break;
    const y = f * 10n + BigInt(frac.charCodeAt(i) - 48);
    if (y > INT64_MAX + 1n) break;
    f = y;
    scale *= 10;
  }
  if (f === 0n) return 0n;
  return BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
}

/**
 * Parses a Go duration string (`1m51.900179248s`, `843.2µs`, `-1.5h`, `0`).
 * @returns nanoseconds as a number (exact up to 2^53 ns ≈ 104 days), or null when the text is not
 *   in Go's grammar or exceeds int64 nanoseconds. Never throws.
 */
export function parseGoDuration(s: string): number | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > 100) return null;
  const quick = quickDuration(s);
  if (quick !== undefined) return quick;
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (s.slice(i) === '0') return 0;
  if (i === s.length) return null;
  let total = 0n;
  while (i < s.length) {
    GROUP_RE.lastIndex = i;
    const m = GROUP_RE.exec(s);
    if (!m || m.index !== i) return null;
    const [, whole = '', frac, unit = ''] = m;
    if (whole === '' && (frac === undefined || frac === '')) return null; // "." or ".s" has no digits
    const scale = UNIT_NS[unit];
    if (scale === undefined) return null;
    let v: bigint;
    const unitNum = Number(scale);
    const pow = frac === undefined ? 1 : POW10[frac.length];
    const quick =
      whole.length <= 6 && pow !== undefined && unitNum % pow === 0
        ? Number(whole === '' ? '0' : whole) * unitNum +
          (frac === undefined || frac === '' ? 0 : Number(frac) * (unitNum / pow))
        : Number.NaN;
    if (Number.isSafeInteger(quick)) {
      // Exact in doubles: Go's Duration.String() never prints more digits than the unit resolves.
      v = BigInt(quick);
    } else {
      v = BigInt(whole === '' ? '0' : whole) * scale;
      if (frac !== undefined && frac !== '') v += fractionNs(frac, scale);
    }
    total += v;
    if (total > INT64_MAX + (neg ? 1n : 0n)) return null;
    i = GROUP_RE.lastIndex;
  }
  const n = Number(total);
  return neg ? -n : n;
}

/** Unit (ns) of the Go duration unit starting at `s[i]`, and its length; undefined when none. */
function unitAt(s: string, i: number): [ns: number, len: number] | undefined {
  const c = s.charCodeAt(i);
  const next = s.charCodeAt(i + 1);
  switch (c) {
    case 110 /* n */:
      return next === 115 ? NS_UNIT : undefined;
    case 117 /* u */:
    case 0xb5 /* µ micro sign */:
    case 0x3bc /* μ Greek mu */:
      return next === 115 ? US_UNIT : undefined;
    case 109 /* m */:
      return next === 115 ? MS_UNIT : MIN_UNIT;
    case 115 /* s */:
      return S_UNIT;
    case 104 /* h */:
      return H_UNIT;
    default:
      return undefined;
  }
}
const NS_UNIT: [number, number] = [1, 2];
const US_UNIT: [number, number] = [1_000, 2];
const MS_UNIT: [number, number] = [1_000_000, 2];
const S_UNIT: [number, number] = [1_000_000_000, 1];
const MIN_UNIT: [number, number] = [60_000_000_000, 1];
const H_UNIT: [number, number] = [3_600_000_000_000, 1];

/**
 * Number-only parse of the durations Distribution actually writes (`843.2µs`, `1m51.900179248s`):
 * every group has at most 6 whole digits and no more fraction digits than its unit resolves, so
 * each value is an exact integer and no BigInt is needed. Same grammar and results as the general
 * path in {@link parseGoDuration}.
 * @returns nanoseconds, or undefined when the text needs the general path (or is invalid there).
 */
function quickDuration(s: string): number | undefined {
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i = 1;
  }
  if (i === s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const wStart = i;
    let whole = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      whole = whole * 10 + (c - 48);
      i++;
    }
    const wLen = i - wStart;
    let fLen = 0;
    let frac = 0;
    if (s.charCodeAt(i) === 46 /* . */) {
      i++;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c < 48 || c > 57) break;
        frac = frac * 10 + (c - 48);
        i++;
        fLen++;
      }
    }
    if ((wLen === 0 && fLen === 0) || wLen > 6 || fLen > 9) return undefined;
    const unit = unitAt(s, i);
    if (unit === undefined) return undefined;
    const pow = POW10[fLen] ?? 0;
    if (unit[0] % pow !== 0) return undefined;
    total += whole * unit[0] + frac * (unit[0] / pow);
    if (!Number.isSafeInteger(total)) return undefined;
    i += unit[1];
  }
  return neg ? -total : total;
}

/** `/^[+-]?\d+$/.test(s)` by char codes (no regex call on the per-line path). */
function isSignedDigits(s: string): boolean {
  const c0 = s.charCodeAt(0);
  let i = c0 === 43 || c0 === 45 ? 1 : 0;
  if (i === s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Converts any duration value a registry log may hold to nanoseconds: a Go duration string, a JSON
 * number (Go encodes `time.Duration` as integer nanoseconds), or a digit string (also nanoseconds).
 * @returns nanoseconds, or undefined when absent or unparseable.
 */
export function durationToNs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value !== 'string') return undefined;
  if (isSignedDigits(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return parseGoDuration(value) ?? undefined;
}

function fmtFrac(v: bigint, digits: number): string {
  // v is an integer scaled by 10^digits; print with trailing zeros removed.
  const p = 10n ** BigInt(digits);
  const whole = v / p;
  let frac = (v % p).toString().padStart(digits, '0').replace(/0+$/, '');
  if (frac.length > 0) frac = `.${frac}`;
  return `${whole.toString()}${frac}`;
}

/**
 * Formats nanoseconds exactly as Go's `Duration.String()`: `0s`, `850ns`, `524.5µs` (U+00B5),
 * `8.937191ms`, `1m3.5s`, `1h2m0.5s`. Accepts a number (must be an integer) or a bigint.
 */
export function formatGoDuration(ns: number | bigint): string {
  let v = typeof ns === 'bigint' ? ns : BigInt(Math.trunc(ns));
  if (v === 0n) return '0s';
  const neg = v < 0n;
  if (neg) v = -v;
  let out: string;
  if (v < 1_000_000_000n) {
    if (v < 1_000n) out = `${v.toString()}ns`;
    else if (v < 1_000_000n) out = `${fmtFrac(v, 3)}µs`;
    else out = `${fmtFrac(v, 6)}ms`;
  } else {
    const h = v / 3_600_000_000_000n;
    const rem = v % 3_600_000_000_000n;
    const m = rem / 60_000_000_000n;
    const sNs = rem % 60_000_000_000n;
    out = `${fmtFrac(sNs, 9)}s`;
    if (h > 0n || m > 0n) out = `${m.toString()}m${out}`;
    if (h > 0n) out = `${h.toString()}h${out}`;
  }
  return neg ? `-${out}` : out;
}
