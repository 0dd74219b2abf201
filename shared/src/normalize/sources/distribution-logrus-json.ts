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

/** Messages that complete a request (FORMATS.md 1b.3). */
const COMPLETION = new Set(['response completed', 'response completed with error']);

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
  const gitlab = r.obj.correlation_id !== undefined;
  const auth = COMPLETION.has(msg) ? null : classifyAuthMessage(msg);
  const isGitlabError = gitlab && typeof r.obj.code === 'string' && r.obj.code.length > 0;
  if (!COMPLETION.has(msg) && auth === null && !isGitlabError) {
    if (msg === 'authorized request')
      return [ignore('authorized request: the completion line of the same request is the event')];
    return [ignore(`not a request completion line: ${msg.slice(0, 80)}`)];
  }
  const method = r.str('http.request.method');
  if (auth !== null && method === undefined && r.str('http.request.uri') === undefined) {
    return [ignore(`auth message without request fields: ${msg.slice(0, 80)}`)];
  }

  const timeRaw = r.obj.time ?? r.obj['@timestamp'];
  let time = typeof timeRaw === 'string' || typeof timeRaw === 'number' ? toUtcTimestamp(timeRaw) : null;
  if (timeRaw === undefined && ctx.receivedAt !== undefined) time = toUtcTimestamp(ctx.receivedAt);
  if (time === null)
    return [reject('invalid_timestamp', raw, timeRaw === undefined ? 'time: missing' : 'time: unparseable')];

  const requestId = r.str('http.request.id') ?? r.str('correlation_id');
  const instanceId = r.str('instance.id');
  const errCode = r.str('err.code') ?? (gitlab ? r.str('code') : undefined);
  const version = r.str('version');
  const f: RequestFacts = {
    time,
    dataset: 'oci_registry.log',
    sourceFormat: gitlab ? 'gitlab-labkit' : sourceFormat,
    id: '',
    serviceType: gitlab || (version?.includes('gitlab') ?? false) ? 'gitlab-registry' : 'distribution',
    message: msg,
  };
  // Assign only present values: RegistryEvent omits absent fields rather than storing undefined.
  const inMethod = method;
  if (inMethod !== undefined) f.method = inMethod;
  const inUri = r.str('http.request.uri');
  if (inUri !== undefined) f.uri = inUri;
  const inStatus = r.int('http.response.status');
  if (inStatus !== undefined) f.status = inStatus;
  const inBytes = r.int('http.response.written');
  if (inBytes !== undefined) f.bytes = inBytes;
  const inRemoteAddr = r.str('http.request.remoteaddr');
  if (inRemoteAddr !== undefined) f.remoteAddr = inRemoteAddr;
  const inHost = r.str('http.request.host');
  if (inHost !== undefined) f.host = inHost;
  const inUserAgent = r.str('http.request.useragent');
  if (inUserAgent !== undefined) f.userAgent = inUserAgent;
  const inReferrer = r.str('http.request.referer');
  if (inReferrer !== undefined) f.referrer = inReferrer;
  const inRequestId = requestId;
  if (inRequestId !== undefined) f.requestId = inRequestId;
  const inRequestContentType = r.str('http.request.contenttype');
  if (inRequestContentType !== undefined) f.requestContentType = inRequestContentType;
  const inResponseContentType = r.str('http.response.contenttype');
  if (inResponseContentType !== undefined) f.responseContentType = inResponseContentType;
  const inVarsName = r.str('vars.name') ?? r.str('vars_name');
  if (inVarsName !== undefined) f.varsName = inVarsName;
  const inVarsReference = r.str('vars.reference') ?? r.str('vars_reference');
  if (inVarsReference !== undefined) f.varsReference = inVarsReference;
  const inVarsDigest = r.str('vars.digest') ?? r.str('vars_digest');
  if (inVarsDigest !== undefined) f.varsDigest = inVarsDigest;
  const inVarsUuid = r.str('vars.uuid') ?? r.str('vars_uuid');
  if (inVarsUuid !== undefined) f.varsUuid = inVarsUuid;
  const inErrCode = errCode;
  if (inErrCode !== undefined) f.errCode = inErrCode;
  const inErrMessage = r.str('err.message') ?? (gitlab ? (r.str('error') ?? msg) : undefined);
  if (inErrMessage !== undefined) f.errMessage = inErrMessage;
  const inErrDetail = r.any('err.detail') ?? (gitlab ? r.any('detail') : undefined);
  if (inErrDetail !== undefined) f.errDetail = inErrDetail;
  const inInstanceId = instanceId;
  if (inInstanceId !== undefined) f.instanceId = inInstanceId;
  const inGoVersion = r.str('go.version') ?? r.str('go_version');
  if (inGoVersion !== undefined) f.goVersion = inGoVersion;
  const inVersion = version;
  if (inVersion !== undefined) f.version = inVersion;
  const inServiceName = r.str('service');
  if (inServiceName !== undefined) f.serviceName = inServiceName;
  const inEnvironment = r.str('environment');
  if (inEnvironment !== undefined) f.environment = inEnvironment;
  const inLevel = r.str('level');
  if (inLevel !== undefined) f.level = inLevel;
  const durationRaw = r.any('http.response.duration');
  if (durationRaw !== undefined) {
    const ns = durationToNs(durationRaw);
    if (ns === undefined)
      r.problem ??= `http.response.duration: not a Go duration: ${JSON.stringify(durationRaw).slice(0, 40)}`;
    else f.durationNs = ns;
  }
  if (isGitlabError) f.failed = true;

  let userName = r.str('auth.user.name');
  if (auth !== null) {
    f.authAction = auth.action;
    const attempted = r.str('username') ?? auth.attemptedUser;
    if (attempted !== undefined) {
      f.attemptedUser = attempted;
      userName ??= attempted;
    }
    const authError = r.str('error');
    if (authError !== undefined) f.errMessage = authError;
  }
  if (userName !== undefined) f.userName = userName;
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
