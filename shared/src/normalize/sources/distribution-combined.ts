import type { TextSource } from './types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import type { RequestFacts } from '../distribution/request-event.ts';
import { unescapeGo } from '../common/gostring.ts';
import { stableId } from '../common/hash.ts';
import { toUtcTimestamp } from '../common/time.ts';
import { emit, reject } from '../common/event.ts';
import { buildRequestEvent } from '../distribution/request-event.ts';

/**
 * Distribution access log: Apache combined format written by gorilla/handlers
 * `CombinedLoggingHandler` (FORMATS.md 1b.6; `vendor/github.com/gorilla/handlers/logging.go`):
 * `<host> - <user> [<dd/Mon/yyyy:HH:MM:SS ±zzzz>] "<METHOD> <uri> <proto>" <status> <bytes> "<referer>" "<ua>"`.
 *
 * - `<host>` is the socket peer without port (IPv6 without brackets) — the proxy when behind one;
 *   X-Forwarded-For is not applied, so `oci_registry.forwarded_for` is never set here.
 * - `<user>` is URL user info, always `-` for registry clients: events are anonymous by construction
 *   (`oci_registry.actor.anonymous: true`); use the app log or notifications for attribution.
 * - Time is the request START, second precision.
 * - Quoted parts use gorilla's escaping (`\"`, `\\`, `\xNN`), decoded with Go rules.
 * - `-` for bytes is accepted (other servers); the common format (no referer/UA) is accepted too.
 * - A 401 here cannot be told apart from a failed login (no message), so it is `auth-challenge`.
 * Dedupe id: hash of the raw line + collector offset (FORMATS.md "Dedupe and correlation keys").
 *
 * The grammar of a combined line, as a regex (groups: host, ident, user, time, request, status,
 * bytes, referer, ua). {@link scanCombined} implements exactly this match by hand, with native
 * `indexOf` scans of the quoted parts instead of the regex's per-character alternation.
 */
export const COMBINED_RE =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?$/;

/** The parts of a combined line ({@link COMBINED_RE} groups 1 and 3–9); quoted parts still escaped. */
export interface CombinedParts {
  host: string;
  user: string;
  time: string;
  request: string;
  /** Three ASCII digits. */
  status: string;
  /** ASCII digits or `-`. */
  bytes: string;
  referer: string | undefined;
  ua: string | undefined;
}

/** ECMAScript `\s` (WhiteSpace and LineTerminator code points), as the regex's `\S` excludes them. */
function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** End of the `\S+` run at `from` when it is non-empty and followed by a space (0x20), else -1. */
function wordThenSpace(s: string, from: number): number {
  let i = from;
  while (i < s.length && !isJsSpace(s.charCodeAt(i))) i++;
  return i > from && s.charCodeAt(i) === 32 ? i : -1;
}

/**
 * Index of the `"` that closes a quoted part starting at `from` (`(?:[^"\\]|\\.)*"`: a backslash
 * escapes the next code unit unless that is a line terminator, where the match fails), or -1.
 */
function closingQuote(s: string, from: number, noBackslash: boolean): number {
  // Most lines hold no backslash at all: then the next `"` closes the part.
  if (noBackslash) return s.indexOf('"', from);
  let i = from;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return -1;
    const b = s.indexOf('\\', i);
    if (b < 0 || b > q) return q;
    const e = s.charCodeAt(b + 1);
    // Past the end, charCodeAt is NaN: no escaped unit, no match.
    if (!(e >= 0) || e === 10 || e === 13 || e === 0x2028 || e === 0x2029) return -1;
    i = b + 2;
  }
}

function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Splits a combined access line exactly as {@link COMBINED_RE} matches it (each part of that regex
 * has one possible extent, so a left-to-right scan with `indexOf` finds the same groups).
 * @returns the parts, or null when the line is not of this form.
 */
export function scanCombined(s: string): CombinedParts | null {
  const n = s.length;
  const e1 = wordThenSpace(s, 0);
  if (e1 < 0) return null;
  const e2 = wordThenSpace(s, e1 + 1);
  if (e2 < 0) return null;
  const e3 = wordThenSpace(s, e2 + 1);
  if (e3 < 0 || s.charCodeAt(e3 + 1) !== 91 /* [ */) return null;
  const s4 = e3 + 2;
  const e4 = s.indexOf(']', s4);
  if (e4 <= s4 || s.charCodeAt(e4 + 1) !== 32 || s.charCodeAt(e4 + 2) !== 34 /* " */) return null;
  const s5 = e4 + 3;
  const noBackslash = s.indexOf('\\', s5) < 0;
  scannedNoBackslash = noBackslash;
  const e5 = closingQuote(s, s5, noBackslash);
  if (e5 < 0 || s.charCodeAt(e5 + 1) !== 32) return null;
  if (!isAsciiDigit(s.charCodeAt(e5 + 2)) || !isAsciiDigit(s.charCodeAt(e5 + 3)) || !isAsciiDigit(s.charCodeAt(e5 + 4)))
    return null;
  if (s.charCodeAt(e5 + 5) !== 32) return null;
  const s7 = e5 + 6;
  let e7 = s7;
  if (s.charCodeAt(s7) === 45 /* - */) e7 = s7 + 1;
  else while (e7 < n && isAsciiDigit(s.charCodeAt(e7))) e7++;
  if (e7 === s7) return null;
  let referer: string | undefined;
  let ua: string | undefined;
  if (e7 !== n) {
    // The optional ` "referer" "ua"` must then run to the end of the line.
    if (s.charCodeAt(e7) !== 32 || s.charCodeAt(e7 + 1) !== 34) return null;
    const e8 = closingQuote(s, e7 + 2, noBackslash);
    if (e8 < 0 || s.charCodeAt(e8 + 1) !== 32 || s.charCodeAt(e8 + 2) !== 34) return null;
    const e9 = closingQuote(s, e8 + 3, noBackslash);
    if (e9 < 0 || e9 + 1 !== n) return null;
    referer = s.slice(e7 + 2, e8);
    ua = s.slice(e8 + 3, e9);
  }
  return {
    host: s.slice(0, e1),
    user: s.slice(e2 + 1, e3),
    time: s.slice(s4, e4),
    request: s.slice(s5, e5),
    status: s.slice(e5 + 2, e5 + 5),
    bytes: s.slice(s7, e7),
    referer,
    ua,
  };
}

/**
 * `Number(s)` of a non-empty ASCII digit string (what {@link scanCombined} returns for status and
 * bytes), by integer arithmetic up to 15 digits (exact below 2^53): `Number` of a freshly sliced
 * string takes the runtime's general string-to-double conversion.
 */
function digitsValue(s: string): number {
  const n = s.length;
  if (n > 15) return Number(s);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/** Set by {@link scanCombined}: the quoted parts of the last line scanned hold no backslash (no escapes). */
let scannedNoBackslash = false;

// The format detector calls `matches` then `normalize` on the same line: the match is kept for it.
let lastLine: string | undefined;
let lastMatch: CombinedParts | null = null;
/** Whether the quoted parts of {@link lastMatch} hold no backslash (then Go-unescaping leaves them as they are). */
let lastNoBackslash = false;
function matchCombined(line: string): CombinedParts | null {
  if (line !== lastLine) {
    lastMatch = scanCombined(line);
    lastNoBackslash = scannedNoBackslash;
    lastLine = line;
  }
  return lastMatch;
}

export const distributionCombinedSource: TextSource = {
  id: 'distribution-combined',
  matches(line) {
    // A combined line has ` [` after its third field: the scan itself checks it (and fails early).
    return matchCombined(line) !== null;
  },
  normalize(line, ctx) {
    const m = matchCombined(line);
    if (!m) return [reject('unknown_format', line)];
    return normalizeAccess(
      {
        host: m.host,
        user: m.user,
        time: m.time,
        request: m.request,
        status: digitsValue(m.status),
        bytes: m.bytes === '-' ? undefined : digitsValue(m.bytes),
        referer: m.referer,
        ua: m.ua,
      },
      line,
      ctx,
      'combined',
      lastNoBackslash,
    );
  },
};

/** One access-log record, already split (quoted parts still escaped when `escaped` is true). */
export interface AccessRecord {
  host: string;
  user?: string;
  time: string | number;
  /** `METHOD URI PROTO`, or give method/uri/proto directly. */
  request?: string;
  method?: string;
  uri?: string;
  proto?: string;
  status: number;
  bytes?: number;
  referer?: string | undefined;
  ua?: string | undefined;
}

/** The version of an `HTTP/<version>` protocol token (`proto.slice(5)`), else undefined; the usual ones are constants. */
function httpVersionOf(proto: string): string | undefined {
  if (proto === 'HTTP/1.1') return '1.1';
  if (proto === 'HTTP/2.0') return '2.0';
  if (proto === 'HTTP/1.0') return '1.0';
  return proto.startsWith('HTTP/') ? proto.slice(5) : undefined;
}

/** A quoted part of a combined line, Go-unescaped (kept as written when the escapes are malformed). */
function unquoted(s: string | undefined, combined: boolean): string | undefined {
  return s === undefined ? undefined : combined ? (unescapeGo(s) ?? s) : s;
}

/**
 * Access record → event (dataset `oci_registry.access`). Shared with the JSON access-log source.
 * Quoted parts of combined lines are Go-unescaped here; JSON values arrive unescaped already.
 * @param noEscapes true when the caller knows the quoted parts hold no backslash (unescaping is
 *   then skipped: it would return them unchanged).
 * @returns one `event`, or `rejected` (`invalid_timestamp`) when the time does not parse.
 */
export function normalizeAccess(
  a: AccessRecord,
  raw: string,
  ctx: NormalizeContext,
  sourceFormat: string,
  noEscapes = false,
): NormalizeResult[] {
  const time = toUtcTimestamp(a.time);
  if (time === null)
    return [reject('invalid_timestamp', raw, `access time unparseable: ${String(a.time).slice(0, 40)}`)];
  // `noEscapes`: the caller saw no backslash in the quoted parts, so unescaping would return them as is.
  const combined = sourceFormat === 'combined' && !noEscapes;
  let method = a.method;
  let uri = a.uri;
  let proto = a.proto;
  if (a.request !== undefined) {
    const req = unquoted(a.request, combined) ?? '';
    const first = req.indexOf(' ');
    // The last space, scanned from the end (the protocol is short; cheaper than lastIndexOf).
    let last = req.length - 1;
    while (last >= 0 && req.charCodeAt(last) !== 32) last--;
    if (first > 0 && last > first) {
      method = req.slice(0, first);
      uri = req.slice(first + 1, last);
      proto = req.slice(last + 1);
    } else {
      // Malformed request line (e.g. a TLS handshake on a plain port): keep it as the URI.
      uri = req;
    }
  }
  const referer = unquoted(a.referer, combined);
  const ua = unquoted(a.ua, combined);
  // One object literal with every field (absent ones undefined): a single hidden class keeps the
  // reads in buildRequestEvent monomorphic.
  const f: RequestFacts = {
    time,
    dataset: 'oci_registry.access',
    sourceFormat,
    id: stableId(raw, ctx.lineRef ?? ctx.offset),
    method: method !== undefined && method.length > 0 ? method : undefined,
    uri: uri !== undefined && uri.length > 0 ? uri : undefined,
    status: a.status,
    bytes: a.bytes,
    durationNs: undefined,
    remoteAddr: a.host,
    host: undefined,
    userAgent: ua !== undefined && ua.length > 0 && ua !== '-' ? ua : undefined,
    referrer: referer !== undefined && referer.length > 0 && referer !== '-' ? referer : undefined,
    requestId: undefined,
    requestContentType: undefined,
    responseContentType: undefined,
    httpVersion: proto === undefined ? undefined : httpVersionOf(proto),
    userName: a.user !== undefined && a.user !== '-' && a.user.length > 0 ? a.user : undefined,
    varsName: undefined,
    varsReference: undefined,
    varsDigest: undefined,
    varsUuid: undefined,
    errCode: undefined,
    errMessage: undefined,
    errDetail: undefined,
    instanceId: undefined,
    goVersion: undefined,
    version: undefined,
    serviceName: undefined,
    serviceType: 'distribution',
    environment: undefined,
    level: undefined,
    message: undefined,
    authAction: undefined,
    attemptedUser: undefined,
    failed: undefined,
  };
  return [emit(buildRequestEvent(f, raw, ctx))];
}
