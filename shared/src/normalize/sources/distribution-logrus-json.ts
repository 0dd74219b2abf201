import type { JsonSource } from './types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import type { RequestFacts } from '../distribution/request-event.ts';
import { FieldReader } from '../common/fields.ts';
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
  normalize(obj, raw, ctx) {
    return normalizeLogrusRecord(
      new FieldReader(obj),
      raw,
      ctx,
      obj['@version'] !== undefined ? 'logstash-v2' : 'logrus-json',
    );
  },
};

/** Messages that complete a request (FORMATS.md 1b.3). A comparison, not a Set: no string hashing. */
function isCompletion(msg: string): boolean {
  return msg === 'response completed' || msg === 'response completed with error';
}

/**
 * Maps one logrus record (JSON object or parsed logfmt fields behind a {@link FieldReader}) to results.
 * Shared by the JSON and text sources.
 */
export function normalizeLogrusRecord(
  r: FieldReader,
  raw: string,
  ctx: NormalizeContext,
  sourceFormat: string,
): NormalizeResult[] {
  const msg = r.str('msg') ?? r.str('message') ?? '';
  const gitlab = r.any('correlation_id') !== undefined;
  const auth = isCompletion(msg) ? null : classifyAuthMessage(msg);
  const code = r.any('code');
  const isGitlabError = gitlab && typeof code === 'string' && code.length > 0;
  if (!isCompletion(msg) && auth === null && !isGitlabError) {
    if (msg === 'authorized request')
      return [ignore('authorized request: the completion line of the same request is the event')];
    return [ignore(`not a request completion line: ${msg.slice(0, 80)}`)];
  }
  const method = r.str('http.request.method');
  if (auth !== null && method === undefined && r.str('http.request.uri') === undefined) {
    return [ignore(`auth message without request fields: ${msg.slice(0, 80)}`)];
  }

  const timeRaw = r.any('time') ?? r.any('@timestamp');
  let time = typeof timeRaw === 'string' || typeof timeRaw === 'number' ? toUtcTimestamp(timeRaw) : null;
  if (timeRaw === undefined && ctx.receivedAt !== undefined) time = toUtcTimestamp(ctx.receivedAt);
  if (time === null)
    return [reject('invalid_timestamp', raw, timeRaw === undefined ? 'time: missing' : 'time: unparseable')];

  const requestId = r.str('http.request.id') ?? r.str('correlation_id');
  const instanceId = r.str('instance.id');
  const errCode = r.str('err.code') ?? (gitlab ? r.str('code') : undefined);
  const version = r.str('version');
  // Reads stay in this order: the first type problem found is the one reported.
  const uri = r.str('http.request.uri');
  const status = r.int('http.response.status');
  const bytes = r.int('http.response.written');
  const remoteAddr = r.str('http.request.remoteaddr');
  const host = r.str('http.request.host');
  const userAgent = r.str('http.request.useragent');
  const referrer = r.str('http.request.referer');
  const requestContentType = r.str('http.request.contenttype');
  const responseContentType = r.str('http.response.contenttype');
  const varsName = r.str('vars.name') ?? r.str('vars_name');
  const varsReference = r.str('vars.reference') ?? r.str('vars_reference');
  const varsDigest = r.str('vars.digest') ?? r.str('vars_digest');
  const varsUuid = r.str('vars.uuid') ?? r.str('vars_uuid');
  let errMessage = r.str('err.message') ?? (gitlab ? (r.str('error') ?? msg) : undefined);
  const errDetail = r.any('err.detail') ?? (gitlab ? r.any('detail') : undefined);
  const goVersion = r.str('go.version') ?? r.str('go_version');
  const serviceName = r.str('service');
  const environment = r.str('environment');
  const level = r.str('level');
  const durationRaw = r.any('http.response.duration');
  let durationNs: number | undefined;
  if (durationRaw !== undefined) {
    durationNs = durationToNs(durationRaw);
    if (durationNs === undefined)
      r.problem ??= `http.response.duration: not a Go duration: ${JSON.stringify(durationRaw).slice(0, 40)}`;
  }
  let userName = r.str('auth.user.name');
  let attemptedUser: string | undefined;
  if (auth !== null) {
    attemptedUser = r.str('username') ?? auth.attemptedUser;
    if (attemptedUser !== undefined) userName ??= attemptedUser;
    const authError = r.str('error');
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
  if (requestId === undefined) f.id = stableId(raw, ctx.offset);
  else if (auth?.action === 'login-failure') f.id = stableId(instanceId, requestId, 'login-failure');
  else f.id = stableId(instanceId, requestId, msg, errCode);
  return [emit(buildRequestEvent(f, raw, ctx))];
}
