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
 */
const COMBINED_RE =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?$/;

// The format detector calls `matches` then `normalize` on the same line: the match is kept for it.
let lastLine: string | undefined;
let lastMatch: RegExpExecArray | null = null;
function matchCombined(line: string): RegExpExecArray | null {
  if (line !== lastLine) {
    lastMatch = COMBINED_RE.exec(line);
    lastLine = line;
  }
  return lastMatch;
}

export const distributionCombinedSource: TextSource = {
  id: 'distribution-combined',
  matches(line) {
    return line.includes(' [') && matchCombined(line) !== null;
  },
  normalize(line, ctx) {
    const m = matchCombined(line);
    if (!m) return [reject('unknown_format', line)];
    const [, host = '', , user = '-', timeText = '', request = '', status = '', bytes = '', referer, ua] = m;
    return normalizeAccess(
      {
        host,
        user,
        time: timeText,
        request,
        status: Number(status),
        bytes: bytes === '-' ? undefined : Number(bytes),
        referer,
        ua,
      },
      line,
      ctx,
      'combined',
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

/** A quoted part of a combined line, Go-unescaped (kept as written when the escapes are malformed). */
function unquoted(s: string | undefined, combined: boolean): string | undefined {
  return s === undefined ? undefined : combined ? (unescapeGo(s) ?? s) : s;
}

/**
 * Access record → event (dataset `oci_registry.access`). Shared with the JSON access-log source.
 * Quoted parts of combined lines are Go-unescaped here; JSON values arrive unescaped already.
 */
export function normalizeAccess(
  a: AccessRecord,
  raw: string,
  ctx: NormalizeContext,
  sourceFormat: string,
): NormalizeResult[] {
  const time = toUtcTimestamp(a.time);
  if (time === null)
    return [reject('invalid_timestamp', raw, `access time unparseable: ${String(a.time).slice(0, 40)}`)];
  const combined = sourceFormat === 'combined';
  let method = a.method;
  let uri = a.uri;
  let proto = a.proto;
  if (a.request !== undefined) {
    const req = unquoted(a.request, combined) ?? '';
    const first = req.indexOf(' ');
    const last = req.lastIndexOf(' ');
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
    id: stableId(raw, ctx.offset),
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
    httpVersion: proto?.startsWith('HTTP/') ? proto.slice(5) : undefined,
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
