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

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
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
let lastEpoch = Number.NaN;
let lastBase = '';
function render(epochSeconds: number, fraction: string): string | null {
  if (epochSeconds !== lastEpoch) {
    // Log streams are time-ordered: the whole-second prefix is usually the same as the last one.
    const d = new Date(epochSeconds * 1000);
    const y = d.getUTCFullYear();
    if (!Number.isFinite(epochSeconds) || y < 0 || y > 9999) return null;
    lastBase = d.toISOString().slice(0, 19);
    lastEpoch = epochSeconds;
  }
  return `${lastBase}.${fraction.length >= 3 ? fraction : fraction.padEnd(3, '0')}Z`;
}

// Fast path: RFC 3339 already in UTC (`…Z`), the common case for container logs.
const UTC_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
let lastUtcPrefix = '';
function fastUtc(s: string): string | null | undefined {
  const m = UTC_RE.exec(s);
  if (!m) return undefined;
  const prefix = s.slice(0, 19);
  if (prefix !== lastUtcPrefix) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    if (
      mo < 1 ||
      mo > 12 ||
      d < 1 ||
      d > daysInMonth(y, mo) ||
      Number(m[4]) > 23 ||
      Number(m[5]) > 59 ||
      Number(m[6]) > 59
    )
      return null;
    lastUtcPrefix = prefix;
  }
  const frac = m[7] ?? '';
  return `${prefix}.${frac.length >= 3 ? frac : frac.padEnd(3, '0')}Z`;
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
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
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
  // Date.UTC treats years 0–99 as 1900+; setUTCFullYear avoids that.
  const dt = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  dt.setUTCFullYear(y);
  return render(dt.getTime() / 1000 - off, fraction);
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
    if (!Number.isFinite(input)) return null;
    const text = Number.isInteger(input) ? input.toFixed(0) : String(input);
    if (!EPOCH_RE.test(text)) return null;
    const ts = fromEpoch(text, opts.epochUnit);
    return ts === null ? null : { timestamp: ts, original: text };
  }
  if (typeof input !== 'string') return null;
  const original = input;
  let s = input.trim();
  if (s.length === 0 || s.length > 80) return null;
  const zone = opts.naiveZone ?? 'UTC';

  if (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57 && s[4] === '-') {
    const fast = fastUtc(s);
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

/** Epoch milliseconds of a timestamp produced by {@link toUtcTimestamp} (sub-ms digits truncated). */
export function timestampMs(timestamp: string): number {
  return Date.parse(timestamp);
}
