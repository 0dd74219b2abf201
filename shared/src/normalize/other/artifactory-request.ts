/**
 * Source `artifactory-request`: JFrog Artifactory `artifactory-request.log`.
 *
 * Format (FORMATS.md §1d "JFrog Artifactory", JFrog docs "Request Log"; FORMAT-EDGE-CASES #54):
 * `Timestamp|Trace ID|Remote Address|Username|Request method|Request URL|Return Status|
 * Request Content Length|Response Content Length|Request Duration|Request User Agent`
 * — 11 `|`-separated fields, the user agent last (split with a limit so a `|` in it is kept);
 * timestamp `yyyy-MM-dd'T'HH:mm:ss.SSSZ` UTC; `anonymous` user; lengths `-1` when unknown;
 * duration in **milliseconds** (→ `event.duration` ns).
 *
 * Docker requests use `api/docker/<repo-key>/v2/<name>/…`; the prefix is stripped to classify the
 * route (../other/route-action.ts). Requests outside the Docker API (e.g. `api/v1/cert/root`) are
 * returned as `ignored`. `event.id` = `<trace id>@<timestamp>` (FORMATS.md dedupe keys);
 * `event.dataset: artifactory.request`.
 */
import type { RegistryEvent } from '../../model/registry-event.ts';
import { actorKind } from '../common/actor.ts';
import { parseAddress } from '../common/address.ts';
import { splitUri } from '../common/repository.ts';
import { classifyUserAgent } from '../common/useragent.ts';
import type { TextSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { accept, actorFields, prune, reject, timeToUtc } from '../harbor/build.ts';
import { classifyRequest, routeContainerImage, routeOciFields } from './route-action.ts';

const LINE_START_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)\|/;
/** `api/docker/<repo-key>/v2/…`: group 1 = repository key (kept in `url.path`), group 2 = API path. */
const DOCKER_PREFIX_RE = /^\/?api\/docker\/([^/]+)(\/v2(?:\/.*)?)$/;

/** Splits on the first `n - 1` separators; the last element keeps any further separators. */
function splitLimit(line: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < n - 1) {
    const i = line.indexOf(sep, start);
    if (i < 0) break;
    out.push(line.slice(start, i));
    start = i + 1;
  }
  out.push(line.slice(start));
  return out;
}

function intField(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n < 0 ? undefined : n;
}

function normalize(line: string, ctx: NormalizeContext): NormalizeResult[] {
  const f = splitLimit(line.trimEnd(), '|', 11);
  if (f.length !== 11) {
    return [reject('schema_mismatch', `artifactory request log: expected 11 fields, got ${f.length}`, line)];
  }
  const [ts, traceId, remote, username, method, url, statusText, , respLen, durationMs, ua] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const timestamp = timeToUtc(ts);
  if (!timestamp) return [reject('invalid_timestamp', `artifactory request log: timestamp "${ts.slice(0, 40)}"`, line)];
  const status = intField(statusText);
  if (status === undefined || status < 100 || status > 599) {
    return [reject('schema_mismatch', `artifactory request log: status "${statusText.slice(0, 16)}"`, line)];
  }
  const uri = splitUri(url.startsWith('/') ? url : `/${url}`);
  const docker = DOCKER_PREFIX_RE.exec(uri.path);
  if (!docker) return [{ kind: 'ignored', reason: 'artifactory request outside the Docker registry API' }];
  const apiPath = docker[2] ?? '/v2/';
  const user = username === 'anonymous' || username === '' ? undefined : username;
  const route = classifyRequest(method, apiPath, uri.params, status, user !== undefined);
  if (!route) return [{ kind: 'ignored', reason: 'artifactory request outside the Docker registry API' }];
  const addr = parseAddress(remote);
  const { user: userField, actor } = actorFields(user, actorKind(user));
  const durMs = intField(durationMs);
  const bytes = intField(respLen);
  const client = classifyUserAgent(ua);

  const event: RegistryEvent = {
    '@timestamp': timestamp,
    event: {
      kind: 'event',
      category: route.category,
      type: route.type,
      action: route.action,
      outcome: route.outcome,
      id: `${traceId}@${ts}`,
      dataset: 'artifactory.request',
      duration: durMs === undefined ? undefined : durMs * 1_000_000,
    },
    ...(userField ? { user: userField } : {}),
    source: addr,
    user_agent: { original: ua },
    http: {
      request: { id: traceId, method },
      response: { status_code: status, ...(bytes === undefined ? {} : { body: { bytes } }) },
    },
    url: { path: uri.path, query: uri.safeQuery, original: url },
    container: { image: routeContainerImage(route) },
    service: { type: 'artifactory' },
    oci_registry: routeOciFields(route, actor, 'artifactory-request', client.family, user),
  };
  applyContext(event, line, ctx);
  return [accept(prune(event))];
}

/** Artifactory request log source (`event.dataset: artifactory.request`). */
export const artifactoryRequestSource: TextSource = {
  id: 'artifactory-request',
  matches: (line) => LINE_START_RE.test(line),
  normalize,
};
