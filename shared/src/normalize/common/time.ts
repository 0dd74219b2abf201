import { DateTime } from 'luxon';

/** A timestamp normalised to UTC, keeping every fraction digit the source wrote. */
export interface UtcTimestamp {
  /** `YYYY-MM-DDTHH:MM:SS.fffZ` in UTC; the fraction has 3–9 digits (the source's digits, right-padded to 3). */
  timestamp: string;
  /** The input exactly as written (numbers are stringified). */
  original: string;
}

export interface TimeOptions {
  /** IANA zone for inputs without an offset (Quay naive ISO, Artifactory access log). Default `UTC`. */
  naiveZone?: string;
  /** Unit of numeric epochs. Default: `ms` when |value| ≥ 1e11, else `s`. */
  epochUnit?: 's' | 'ms';
}

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

// RFC 3339 / ISO 8601 and Go's default `time.Time.String()` (`2022-07-19 06:54:41.148677825 +0000 UTC`).
// Groups: y m d H M S fraction zone.
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?(?:\s+([A-Za-z]{1,5}))?$/;
// Apache/NCSA `[10/Oct/2000:13:55:36 -0700]` (brackets optional).
const APACHE_RE = /^\[?(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s+([+-]\d{4})\]?$/;
// RFC 2822 / RFC 1123 (`Tue, 18 Jun 2024 18:59:13 -0000`, `… GMT`).
const RFC2822_RE =
  /^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s+([+-]\d{4}|GMT|UTC|UT|Z)$/;
const EPOCH_RE = /^-?\d+(?:\.\d+)?$/;
const GO_MONOTONIC_RE = /\s+m=[+-]\d+(?:\.\d+)?$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/**
 * Days in month `m` (1–12) of year `y`, as `Date.UTC(y, m, 0)` computes them: note that Date.UTC
 * reads years 0–99 as 1900–1999 (so `0000-02-29` is invalid), kept for compatibility.
 */
function daysInMonth(y: number, m: number): number {
  if (m !== 2) return MONTH_DAYS[m - 1] ?? 31;
  const yy = y >= 0 && y <= 99 ? 1900 + y : y;
  return (yy % 4 === 0 && yy % 100 !== 0) || yy % 400 === 0 ? 29 : 28;
}

/** Offset text (`Z`, `+08:00`, `-0800`, `+05`) → seconds east of UTC; null when malformed. */
function offsetSeconds(zone: string): number | null {
  if (zone === 'Z' || zone === 'z' || zone === 'GMT' || zone === 'UTC' || zone === 'UT') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hh = Number(digits.slice(0, 2));
  const mm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (!Number.isInteger(hh) || !Number.isInteger(mm) || hh > 23 || mm > 59) return null;
  return sign * (hh * 3600 + mm * 60);
}

/**
 * Whole-second UTC rendering of epoch seconds plus the given fraction digits; null outside years
 * 0000–9999. The fraction never passes through a JS number, so nanoseconds survive.
 */
function render(epochSeconds: number, fraction: string): string | null {
  let base: string;
  if (Number.isInteger(epochSeconds) && epochSeconds >= MIN_EPOCH_S && epochSeconds <= MAX_EPOCH_S) {
    // Log streams are time-ordered, and interleaved sources revisit a few recent seconds: a small
    // direct-mapped table by the low bits of the second keeps their whole-second prefixes.
    const slot = epochSeconds & (BASE_SLOTS - 1);
    if (baseKeys[slot] === epochSeconds) base = baseValues[slot] ?? isoSeconds(epochSeconds);
    else {
      base = isoSeconds(epochSeconds);
      baseKeys[slot] = epochSeconds;
      baseValues[slot] = base;
    }
  } else {
    const d = new Date(epochSeconds * 1000);
    const y = d.getUTCFullYear();
    if (!Number.isFinite(epochSeconds) || y < 0 || y > 9999) return null;
    base = d.toISOString().slice(0, 19);
  }
  return `${base}.${fraction.length >= 3 ? fraction : fraction.padEnd(3, '0')}Z`;
}
/** Whole-second prefixes of {@link render} by epoch second (direct-mapped; a power of two). */
const BASE_SLOTS = 64;
const baseKeys: number[] = new Array<number>(BASE_SLOTS).fill(Number.NaN);
const baseValues: string[] = new Array<string>(BASE_SLOTS).fill('');

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds. */
const MIN_EPOCH_S = -62167219200;
const MAX_EPOCH_S = 253402300799;

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

/**
 * `YYYY-MM-DDTHH:MM:SS` of integer Unix seconds in years 0000–9999, as `Date#toISOString` writes it,
 * by integer arithmetic (proleptic Gregorian; H. Hinnant's civil-from-days algorithm).
 */
function isoSeconds(epochSeconds: number): string {
  const days = Math.floor(epochSeconds / 86400);
  let sod = epochSeconds - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(sod / 3600);
  sod -= h * 3600;
  const mi = Math.floor(sod / 60);
  const sec = sod - mi * 60;
  const yy = PAD2[Math.floor(y / 100)] ?? '';
  return `${yy}${PAD2[y % 100] ?? ''}-${PAD2[m] ?? ''}-${PAD2[d] ?? ''}T${PAD2[h] ?? ''}:${PAD2[mi] ?? ''}:${PAD2[sec] ?? ''}`;
}

/** Days since 1970-01-01 of a proleptic-Gregorian date (inverse of the algorithm in {@link isoSeconds}). */
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Value of the 2 ASCII digits at `s[i]`, or -1. */
function dig2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Fast path for the forms registries write (RFC 3339 `YYYY-MM-DDTHH:MM:SS[.f{1,9}]` then `Z` or
 * `±HH:MM`), scanned by hand instead of with the general regexes below.
 * @returns the UTC text, null when such a time is invalid (e.g. month 13), or undefined when the
 *   text is not exactly of this form (the caller then takes the general path, whose results for
 *   these forms this matches).
 */
function fastRfc3339(s: string): string | null | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(10) !== 84 /* T */) return undefined;
  if (s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const y1 = dig2(s, 0);
  const y2 = dig2(s, 2);
  const mo = dig2(s, 5);
  const d = dig2(s, 8);
  const h = dig2(s, 11);
  const mi = dig2(s, 14);
  const sec = dig2(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return undefined;
  let i = 19;
  let fracEnd = 19;
  if (s.charCodeAt(19) === 46 /* . */) {
    i = 20;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i++;
    }
    if (i === 20 || i > 29) return undefined;
    fracEnd = i;
  }
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ && i + 1 === n) {
    // A few integer comparisons: cheaper than remembering the last validated prefix (a slice per
    // new second and a `startsWith` call per line), which interleaved sources rarely repeat.
    if (!validFields(y1 * 100 + y2, mo, d, h, mi, sec)) return null;
    // With 3+ fraction digits the text is already in the output form: return it as is (no copy,
    // and later comparisons with the original are identity checks).
    if (fracEnd - 20 >= 3) return s;
    return `${s.slice(0, 19)}.${(fracEnd === 19 ? '' : s.slice(20, fracEnd)).padEnd(3, '0')}Z`;
  }
  const frac = fracEnd === 19 ? '' : s.slice(20, fracEnd);
  if ((z === 43 || z === 45) /* + - */ && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = dig2(s, i + 1);
    const om = dig2(s, i + 4);
    if (oh < 0 || om < 0) return undefined;
    if (oh > 23 || om > 59) return null;
    const off = (z === 45 ? -1 : 1) * (oh * 3600 + om * 60);
    return fromFields(y1 * 100 + y2, mo, d, h, mi, sec, frac, off, 'UTC');
  }
  return undefined;
}

/**
 * Fast path for the Apache/NCSA access-log time without brackets or fraction,
 * `DD/Mon/YYYY:HH:MM:SS ±HHMM` (26 characters), scanned by hand; same results as APACHE_RE below.
 * @returns the UTC text, null for an invalid time, undefined when not exactly this form.
 */
function fastApache(s: string, zone: string): string | null | undefined {
  if (s.charCodeAt(6) !== 47 || s.charCodeAt(11) !== 58 || s.charCodeAt(14) !== 58 || s.charCodeAt(17) !== 58)
    return undefined;
  if (s.charCodeAt(20) !== 32) return undefined;
  const sign = s.charCodeAt(21);
  if (sign !== 43 && sign !== 45) return undefined;
  const d = dig2(s, 0);
  const y1 = dig2(s, 7);
  const y2 = dig2(s, 9);
  const h = dig2(s, 12);
  const mi = dig2(s, 15);
  const sec = dig2(s, 18);
  const oh = dig2(s, 22);
  const om = dig2(s, 24);
  if (d < 0 || y1 < 0 || y2 < 0 || h < 0 || mi < 0 || sec < 0 || oh < 0 || om < 0) return undefined;
  const c3 = s.charCodeAt(3);
  const c4 = s.charCodeAt(4);
  const c5 = s.charCodeAt(5);
  if (!isAsciiLetter(c3) || !isAsciiLetter(c4) || !isAsciiLetter(c5)) return undefined;
  const month = MONTHS[String.fromCharCode(c3 | 0x20, c4 | 0x20, c5 | 0x20)];
  if (month === undefined || oh > 23 || om > 59) return null;
  return fromFields(y1 * 100 + y2, month, d, h, mi, sec, '', (sign === 45 ? -1 : 1) * (oh * 3600 + om * 60), zone);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Calendar and clock range checks shared by all forms. */
function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  return !(mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59);
}

function fromFields(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  fraction: string,
  offset: number | null,
  naiveZone: string,
): string | null {
  if (!validFields(y, mo, d, h, mi, s)) return null;
  let off = offset;
  if (off === null) {
    if (naiveZone === 'UTC') off = 0;
    else {
      const local = DateTime.fromObject(
        { year: y, month: mo, day: d, hour: h, minute: mi, second: s },
        { zone: naiveZone },
      );
      if (!local.isValid) return null;
      off = local.offset * 60;
    }
  }
  // Fields are validated above, so this is a real calendar date (years 0000–9999).
  return render(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off, fraction);
}

function fromEpoch(text: string, unit: 's' | 'ms' | undefined): string | null {
  const neg = text.startsWith('-');
  const [intPart = '', frac = ''] = (neg ? text.slice(1) : text).split('.');
  const whole = Number(intPart);
  if (!Number.isSafeInteger(whole)) return null;
  const u = unit ?? (whole >= 1e11 ? 'ms' : 's');
  if (neg) {
    // Negative epochs are not produced by any registry; accept whole values only.
    if (frac !== '') return null;
    return u === 's'
      ? render(-whole, '')
      : render(Math.floor(-whole / 1000), String(((whole % 1000) + 1000) % 1000).padStart(3, '0'));
  }
  if (u === 's') return render(whole, frac.slice(0, 9));
  const secs = Math.floor(whole / 1000);
  const ms = String(whole % 1000).padStart(3, '0');
  return render(secs, (ms + frac).slice(0, 9));
}

/**
 * Parses a source timestamp and returns it in UTC with its full precision.
 *
 * Accepts: RFC 3339 / ISO 8601 with `Z` or `±hh:mm`/`±hhmm`/`±hh` offsets and 0–9 fraction digits
 * (`.` or `,`), space instead of `T`; Go's default `Time.String()` form including the monotonic
 * suffix (`2022-07-19 06:54:41.148677825 +0000 UTC m=+104056.78`); logrus `time="…"` values
 * (RFC3339Nano); Apache/NCSA `[10/Oct/2000:13:55:36 -0700]`; RFC 2822 (`Tue, 18 Jun 2024 18:59:13 -0000`);
 * naive ISO (interpreted in `opts.naiveZone`, default UTC); epoch seconds or milliseconds as a
 * number or digit string (`opts.epochUnit`, default by magnitude).
 *
 * Offsets are applied to whole seconds only; the fraction is copied digit for digit.
 * @returns `{ timestamp, original }`, or null when the input is not a recognisable time (never throws).
 */
export function toUtcTimestamp(input: string | number, opts: TimeOptions = {}): UtcTimestamp | null {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) {
      // Common case (Harbor `occur_at`): skips the text round trip of the general path below.
      const text = String(input);
      const unit = opts.epochUnit ?? (input >= 1e11 ? 'ms' : 's');
      const ts =
        unit === 's' ? render(input, '') : render(Math.floor(input / 1000), String(input % 1000).padStart(3, '0'));
      return ts === null ? null : { timestamp: ts, original: text };
    }
    if (!Number.isFinite(input)) return null;
    const text = Number.isInteger(input) ? input.toFixed(0) : String(input);
    if (!EPOCH_RE.test(text)) return null;
    const ts = fromEpoch(text, opts.epochUnit);
    return ts === null ? null : { timestamp: ts, original: text };
  }
  if (typeof input !== 'string') return null;
  const original = input;
  // trim() copies: skip it when both ends are printable ASCII.
  const c0 = input.charCodeAt(0);
  const cN = input.charCodeAt(input.length - 1);
  let s = c0 > 32 && c0 < 127 && cN > 32 && cN < 127 ? input : input.trim();
  if (s.length === 0 || s.length > 80) return null;
  const zone = opts.naiveZone ?? 'UTC';

  if (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57 && s[4] === '-') {
    const fast = fastRfc3339(s);
    if (fast !== undefined) return fast === null ? null : { timestamp: fast, original };
    s = s.replace(GO_MONOTONIC_RE, '');
    const m = ISO_RE.exec(s);
    if (!m) return null;
    const [, y, mo, d, h, mi, sec, frac = '', off, abbr] = m;
    let offset: number | null = null;
    if (off !== undefined) {
      offset = offsetSeconds(off);
      if (offset === null) return null;
    } else if (abbr !== undefined) {
      // A zone abbreviation without a numeric offset is only unambiguous for UTC/GMT.
      if (abbr !== 'UTC' && abbr !== 'GMT' && abbr !== 'Z') return null;
      offset = 0;
    }
    const ts = fromFields(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec), frac, offset, zone);
    return ts === null ? null : { timestamp: ts, original };
  }
  if (s.length === 26 && s.charCodeAt(2) === 47 /* / */) {
    // Access logs write second-precision times: every request of one second repeats the same text.
    // A small direct-mapped memo (slot by the date and time digits; hit = same text, same
    // zone) returns the earlier result. Results are never mutated by callers, so they are shared.
    // The slot is the top bits of a multiplicative hash of the day, month and time characters:
    // times a few seconds or minutes apart land in unrelated slots.
    let x = Math.imul(s.charCodeAt(19) ^ (s.charCodeAt(18) << 8) ^ (s.charCodeAt(16) << 16), 0x9e3779b1);
    x = Math.imul(x ^ s.charCodeAt(15) ^ (s.charCodeAt(13) << 8) ^ (s.charCodeAt(12) << 16), 0x85ebca6b);
    x = Math.imul(
      x ^ s.charCodeAt(10) ^ (s.charCodeAt(4) << 8) ^ (s.charCodeAt(1) << 16) ^ (s.charCodeAt(0) << 24),
      0xc2b2ae35,
    );
    const slot = x >>> (32 - APACHE_MEMO_BITS);
    const hit = apacheMemo[slot];
    // Untrimmed input (`s` is `original`) was stored with `text` and `original` the same string:
    // then one string comparison answers both.
    if (
      hit !== undefined &&
      hit.zone === zone &&
      (s === original && hit.text === hit.result.original
        ? hit.text === s
        : hit.text === s && hit.result.original === original)
    )
      return hit.result;
    const fast = fastApache(s, zone);
    if (fast !== undefined) {
      if (fast === null) return null;
      const result: UtcTimestamp = { timestamp: fast, original };
      apacheMemo[slot] = { text: s, zone, result };
      return result;
    }
  }
  if (EPOCH_RE.test(s)) {
    const ts = fromEpoch(s, opts.epochUnit);
    return ts === null ? null : { timestamp: ts, original };
  }
  let m = APACHE_RE.exec(s);
  if (m) {
    const [, d, mon, y, h, mi, sec, frac = '', off = ''] = m;
    const month = MONTHS[(mon ?? '').toLowerCase()];
    const offset = offsetSeconds(off);
    if (month === undefined || offset === null) return null;
    const ts = fromFields(Number(y), month, Number(d), Number(h), Number(mi), Number(sec), frac, offset, zone);
    return ts === null ? null : { timestamp: ts, original };
  }
  m = RFC2822_RE.exec(s);
  if (m) {
    const [, d, mon, y, h, mi, sec, frac = '', off = ''] = m;
    const month = MONTHS[(mon ?? '').toLowerCase()];
    const offset = offsetSeconds(off);
    if (month === undefined || offset === null) return null;
    const ts = fromFields(Number(y), month, Number(d), Number(h), Number(mi), Number(sec), frac, offset, zone);
    return ts === null ? null : { timestamp: ts, original };
  }
  return null;
}

/** Memo of {@link fastApache} results by time text (see toUtcTimestamp). */
const APACHE_MEMO_BITS = 9;
const APACHE_MEMO_SLOTS = 1 << APACHE_MEMO_BITS;
const apacheMemo: ({ text: string; zone: string; result: UtcTimestamp } | undefined)[] = new Array<
  { text: string; zone: string; result: UtcTimestamp } | undefined
>(APACHE_MEMO_SLOTS).fill(undefined);

/** Epoch milliseconds of a timestamp produced by {@link toUtcTimestamp} (sub-ms digits truncated). */
export function timestampMs(timestamp: string): number {
  return Date.parse(timestamp);
}
