import type { JsonSource } from './types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import type { RequestFacts } from '../distribution/request-event.ts';
import { SlotReader, collectSlots } from '../common/fields.ts';
import { durationToNs } from '../common/duration.ts';
import { stableId } from '../common/hash.ts';
import { toUtcTimestamp } from '../common/time.ts';
import { emit, ignore, reject } from '../common/event.ts';
import { classifyAuthMessage } from '../distribution/classify.ts';
import { buildRequestEvent } from '../distribution/request-event.ts';

/**
 * Distribution application log, JSON forms (FORMATS.md 1b.1–1b.3, 1b.7, 1d):
 * - logrus `JSONFormatter` (`time`/`level`/`msg`, v2 HTML-escaped, v3 not — JSON.parse handles both);
 * - `logstash` formatter: v3 same keys as json; v2.x hook `@timestamp`/`@version`/`message`;
 * - Docker Trusted Registry (extra `payload`), GitLab before LabKit (dotted keys) and after
 *   (snake_case `vars_name`, `correlation_id`, upper-case `code`, `detail`, `msg` = error message).
 *
 * Which lines are events (one per completed request; FORMATS.md 1b.3, FORMAT-EDGE-CASES 46/49):
 * - `response completed` (success marker) and `response completed with error` (one line per error);
 * - `error authorizing context: …` (the only line of a 401 request) and `user failed to authenticate`
 *   (v3.1 htpasswd; carries `username`) → auth-challenge / login-failure / access-denied;
 * - GitLab LabKit error lines (`code` + `correlation_id`), because GitLab no longer logs
 *   `response completed`.
 * Everything else is `ignored`, not rejected: `authorized request` (the first half of a request
 * whose completion line is the event), start-up banners, debug traces, DTR `dispatching manifest put
 * payload`, the global `invalid remote IP address` warning, notification-delivery trouble.
 */
export const distributionLogrusJsonSource: JsonSource = {
  id: 'distribution-logrus-json',
  matches(obj) {
    return typeof obj.level === 'string' && (typeof obj.msg === 'string' || typeof obj.message === 'string');
  },
  matchesProbe(p) {
    return typeof p.level === 'string' && (typeof p.msg === 'string' || typeof p.message === 'string');
  },
  normalize(obj, raw, ctx, probe) {
    // Most app-log lines are not request completions: decide those from two fields, before
    // gathering the rest (same result as normalizeLogrusRecord's first branch for a string `msg`
    // without `correlation_id`).
    const msg = probe === undefined ? obj.msg : probe.msg;
    const correlationId = probe === undefined ? obj.correlation_id : probe.correlationId;
    if (typeof msg === 'string' && correlationId === undefined && !isCompletion(msg)) {
      const ignored = ignoredMessage(msg);
      if (ignored !== undefined) return [ignored];
    }
    const r = logrusReader(obj);
    return normalizeLogrusRecord(r, raw, ctx, r.any(K_VERSION_AT) !== undefined ? 'logstash-v2' : 'logrus-json');
  },
};

/**
 * The logrus/GitLab keys {@link normalizeLogrusRecord} reads, by slot index (FORMATS.md 1b.2, 1d).
 * Values are gathered in one pass over the record ({@link collectSlots}) instead of one lookup by
 * name per read.
 */
const LOGRUS_KEYS: readonly string[] = [
  'msg',
  'message',
  'correlation_id',
  'code',
  'http.request.method',
  'http.request.uri',
  'time',
  '@timestamp',
  'http.request.id',
  'instance.id',
  'err.code',
  'version',
  'http.response.status',
  'http.response.written',
  'http.request.remoteaddr',
  'http.request.host',
  'http.request.useragent',
  'http.request.referer',
  'http.request.contenttype',
  'http.response.contenttype',
  'vars.name',
  'vars_name',
  'vars.reference',
  'vars_reference',
  'vars.digest',
  'vars_digest',
  'vars.uuid',
  'vars_uuid',
  'err.message',
  'error',
  'err.detail',
  'detail',
  'go.version',
  'go_version',
  'service',
  'environment',
  'level',
  'http.response.duration',
  'auth.user.name',
  'username',
  '@version',
];
const K_MSG = 0;
const K_MESSAGE = 1;
const K_CORRELATION_ID = 2;
const K_CODE = 3;
const K_HTTP_REQUEST_METHOD = 4;
const K_HTTP_REQUEST_URI = 5;
const K_TIME = 6;
const K_TIMESTAMP_AT = 7;
const K_HTTP_REQUEST_ID = 8;
const K_INSTANCE_ID = 9;
const K_ERR_CODE = 10;
const K_VERSION = 11;
const K_HTTP_RESPONSE_STATUS = 12;
const K_HTTP_RESPONSE_WRITTEN = 13;
const K_HTTP_REQUEST_REMOTEADDR = 14;
const K_HTTP_REQUEST_HOST = 15;
const K_HTTP_REQUEST_USERAGENT = 16;
const K_HTTP_REQUEST_REFERER = 17;
const K_HTTP_REQUEST_CONTENTTYPE = 18;
const K_HTTP_RESPONSE_CONTENTTYPE = 19;
const K_VARS_NAME = 20;
const K_VARS_NAME_SNAKE = 21;
const K_VARS_REFERENCE = 22;
const K_VARS_REFERENCE_SNAKE = 23;
const K_VARS_DIGEST = 24;
const K_VARS_DIGEST_SNAKE = 25;
const K_VARS_UUID = 26;
const K_VARS_UUID_SNAKE = 27;
const K_ERR_MESSAGE = 28;
const K_ERROR = 29;
const K_ERR_DETAIL = 30;
const K_DETAIL = 31;
const K_GO_VERSION = 32;
const K_GO_VERSION_SNAKE = 33;
const K_SERVICE = 34;
const K_ENVIRONMENT = 35;
const K_LEVEL = 36;
const K_HTTP_RESPONSE_DURATION = 37;
const K_AUTH_USER_NAME = 38;
const K_USERNAME = 39;
const K_VERSION_AT = 40;
const EMPTY_SLOTS: readonly unknown[] = LOGRUS_KEYS.map(() => undefined);

/** Slot of a logrus key, or -1 (a string switch: JSON keys are internalized, so cases compare by identity). */
function logrusSlot(key: string): number {
  switch (key) {
    case 'msg':
      return K_MSG;
    case 'message':
      return K_MESSAGE;
    case 'correlation_id':
      return K_CORRELATION_ID;
    case 'code':
      return K_CODE;
    case 'http.request.method':
      return K_HTTP_REQUEST_METHOD;
    case 'http.request.uri':
      return K_HTTP_REQUEST_URI;
    case 'time':
      return K_TIME;
    case '@timestamp':
      return K_TIMESTAMP_AT;
    case 'http.request.id':
      return K_HTTP_REQUEST_ID;
    case 'instance.id':
      return K_INSTANCE_ID;
    case 'err.code':
      return K_ERR_CODE;
    case 'version':
      return K_VERSION;
    case 'http.response.status':
      return K_HTTP_RESPONSE_STATUS;
    case 'http.response.written':
      return K_HTTP_RESPONSE_WRITTEN;
    case 'http.request.remoteaddr':
      return K_HTTP_REQUEST_REMOTEADDR;
    case 'http.request.host':
      return K_HTTP_REQUEST_HOST;
    case 'http.request.useragent':
      return K_HTTP_REQUEST_USERAGENT;
    case 'http.request.referer':
      return K_HTTP_REQUEST_REFERER;
    case 'http.request.contenttype':
      return K_HTTP_REQUEST_CONTENTTYPE;
    case 'http.response.contenttype':
      return K_HTTP_RESPONSE_CONTENTTYPE;
    case 'vars.name':
      return K_VARS_NAME;
    case 'vars_name':
      return K_VARS_NAME_SNAKE;
    case 'vars.reference':
      return K_VARS_REFERENCE;
    case 'vars_reference':
      return K_VARS_REFERENCE_SNAKE;
    case 'vars.digest':
      return K_VARS_DIGEST;
    case 'vars_digest':
      return K_VARS_DIGEST_SNAKE;
    case 'vars.uuid':
      return K_VARS_UUID;
    case 'vars_uuid':
      return K_VARS_UUID_SNAKE;
    case 'err.message':
      return K_ERR_MESSAGE;
    case 'error':
      return K_ERROR;
    case 'err.detail':
      return K_ERR_DETAIL;
    case 'detail':
      return K_DETAIL;
    case 'go.version':
      return K_GO_VERSION;
    case 'go_version':
      return K_GO_VERSION_SNAKE;
    case 'service':
      return K_SERVICE;
    case 'environment':
      return K_ENVIRONMENT;
    case 'level':
      return K_LEVEL;
    case 'http.response.duration':
      return K_HTTP_RESPONSE_DURATION;
    case 'auth.user.name':
      return K_AUTH_USER_NAME;
    case 'username':
      return K_USERNAME;
    case '@version':
      return K_VERSION_AT;
    default:
      return -1;
  }
}

/** A {@link SlotReader} over the logrus keys of a parsed JSON object or a logfmt Map. */
export function logrusReader(source: Record<string, unknown> | ReadonlyMap<string, unknown>): SlotReader {
  if (source instanceof Map) return new SlotReader(LOGRUS_KEYS, collectSlots(source, logrusSlot, EMPTY_SLOTS));
  // JSON objects (the hot path): the same gathering, with the key switch inlined in the loop.
  const obj = source as Record<string, unknown>;
  const vals = EMPTY_SLOTS.slice();
  for (const k in obj) {
    const i = logrusSlot(k);
    if (i >= 0) vals[i] = obj[k];
  }
  return new SlotReader(LOGRUS_KEYS, vals);
}

/** Messages that complete a request (FORMATS.md 1b.3). A comparison, not a Set: no string hashing. */
function isCompletion(msg: string): boolean {
  return msg === 'response completed' || msg === 'response completed with error';
}

/** The `ignored` result of a message that is neither a completion nor an auth line. */
function ignoreNonCompletion(msg: string): NormalizeResult {
  return msg === 'authorized request'
    ? ignore('authorized request: the completion line of the same request is the event')
    : ignore(`not a request completion line: ${msg.slice(0, 80)}`);
}

/** For a non-completion message outside GitLab: its `ignored` result, or undefined when it is an auth line. */
function ignoredMessage(msg: string): NormalizeResult | undefined {
  return classifyAuthMessage(msg) === null ? ignoreNonCompletion(msg) : undefined;
}

/**
 * Maps one logrus record (JSON object or parsed logfmt fields behind a {@link logrusReader}) to results.
 * Shared by the JSON and text sources.
 */
export function normalizeLogrusRecord(
  r: SlotReader,
  raw: string,
  ctx: NormalizeContext,
  sourceFormat: string,
): NormalizeResult[] {
  const msg = r.str(K_MSG) ?? r.str(K_MESSAGE) ?? '';
  const gitlab = r.any(K_CORRELATION_ID) !== undefined;
  const auth = isCompletion(msg) ? null : classifyAuthMessage(msg);
  const code = r.any(K_CODE);
  const isGitlabError = gitlab && typeof code === 'string' && code.length > 0;
  if (!isCompletion(msg) && auth === null && !isGitlabError) return [ignoreNonCompletion(msg)];
  const method = r.str(K_HTTP_REQUEST_METHOD);
  if (auth !== null && method === undefined && r.str(K_HTTP_REQUEST_URI) === undefined) {
    return [ignore(`auth message without request fields: ${msg.slice(0, 80)}`)];
  }

  const timeRaw = r.any(K_TIME) ?? r.any(K_TIMESTAMP_AT);
  let time = typeof timeRaw === 'string' || typeof timeRaw === 'number' ? toUtcTimestamp(timeRaw) : null;
  if (timeRaw === undefined && ctx.receivedAt !== undefined) time = toUtcTimestamp(ctx.receivedAt);
  if (time === null)
    return [reject('invalid_timestamp', raw, timeRaw === undefined ? 'time: missing' : 'time: unparseable')];

  const requestId = r.str(K_HTTP_REQUEST_ID) ?? r.str(K_CORRELATION_ID);
  const instanceId = r.str(K_INSTANCE_ID);
  const errCode = r.str(K_ERR_CODE) ?? (gitlab ? r.str(K_CODE) : undefined);
  const version = r.str(K_VERSION);
  // Reads stay in this order: the first type problem found is the one reported.
  const uri = r.str(K_HTTP_REQUEST_URI);
  const status = r.int(K_HTTP_RESPONSE_STATUS);
  const bytes = r.int(K_HTTP_RESPONSE_WRITTEN);
  const remoteAddr = r.str(K_HTTP_REQUEST_REMOTEADDR);
  const host = r.str(K_HTTP_REQUEST_HOST);
  const userAgent = r.str(K_HTTP_REQUEST_USERAGENT);
  const referrer = r.str(K_HTTP_REQUEST_REFERER);
  const requestContentType = r.str(K_HTTP_REQUEST_CONTENTTYPE);
  const responseContentType = r.str(K_HTTP_RESPONSE_CONTENTTYPE);
  const varsName = r.str(K_VARS_NAME) ?? r.str(K_VARS_NAME_SNAKE);
  const varsReference = r.str(K_VARS_REFERENCE) ?? r.str(K_VARS_REFERENCE_SNAKE);
  const varsDigest = r.str(K_VARS_DIGEST) ?? r.str(K_VARS_DIGEST_SNAKE);
  const varsUuid = r.str(K_VARS_UUID) ?? r.str(K_VARS_UUID_SNAKE);
  let errMessage = r.str(K_ERR_MESSAGE) ?? (gitlab ? (r.str(K_ERROR) ?? msg) : undefined);
  const errDetail = r.any(K_ERR_DETAIL) ?? (gitlab ? r.any(K_DETAIL) : undefined);
  const goVersion = r.str(K_GO_VERSION) ?? r.str(K_GO_VERSION_SNAKE);
  const serviceName = r.str(K_SERVICE);
  const environment = r.str(K_ENVIRONMENT);
  const level = r.str(K_LEVEL);
  const durationRaw = r.any(K_HTTP_RESPONSE_DURATION);
  let durationNs: number | undefined;
  if (durationRaw !== undefined) {
    durationNs = durationToNs(durationRaw);
    if (durationNs === undefined)
      r.problem ??= `http.response.duration: not a Go duration: ${JSON.stringify(durationRaw).slice(0, 40)}`;
  }
  let userName = r.str(K_AUTH_USER_NAME);
  let attemptedUser: string | undefined;
  if (auth !== null) {
    attemptedUser = r.str(K_USERNAME) ?? auth.attemptedUser;
    if (attemptedUser !== undefined) userName ??= attemptedUser;
    const authError = r.str(K_ERROR);
    if (authError !== undefined) errMessage = authError;
  }
  // One object literal with every field (absent ones undefined): a single hidden class keeps the
  // reads in buildRequestEvent monomorphic.
  const f: RequestFacts = {
    time,
    dataset: 'oci_registry.log',
    sourceFormat: gitlab ? 'gitlab-labkit' : sourceFormat,
    id: '',
    method,
    uri,
    status,
    bytes,
    durationNs,
    remoteAddr,
    host,
    userAgent,
    referrer,
    requestId,
    requestContentType,
    responseContentType,
    httpVersion: undefined,
    userName,
    varsName,
    varsReference,
    varsDigest,
    varsUuid,
    errCode,
    errMessage,
    errDetail,
    instanceId,
    goVersion,
    version,
    serviceName,
    serviceType: gitlab || (version?.includes('gitlab') ?? false) ? 'gitlab-registry' : 'distribution',
    environment,
    level,
    message: msg,
    authAction: auth === null ? undefined : auth.action,
    attemptedUser,
    failed: isGitlabError ? true : undefined,
  };
  if (r.problem !== undefined) return [reject('schema_mismatch', raw, r.problem)];

  // Dedupe key: instance.id + request id + msg (+ err.code). Both lines of one failed login
  // (`user failed to authenticate` then the `error authorizing context` warning) share one id so the
  // stream form and the index keep a single login-failure. Lines without a request id fall back to
  // the raw line + offset.
  if (requestId === undefined) f.id = stableId(raw, ctx.lineRef ?? ctx.offset);
  else if (auth?.action === 'login-failure') f.id = stableId(instanceId, requestId, 'login-failure');
  else f.id = stableId(instanceId, requestId, msg, errCode);
  return [emit(buildRequestEvent(f, raw, ctx))];
}
