/**
 * Source `nexus-request`: Sonatype Nexus Repository `request.log` (logback-access).
 *
 * Pattern (FORMATS.md §1d "Sonatype Nexus Repository", `sonatype/nexus-public`
 * `etc/logback/logback-access.xml`, two stored versions; FORMAT-EDGE-CASES #54, sample 41):
 * `%clientHost %l %user [%date] "%requestURL" %statusCode %header{Content-Length} %bytesSent %elapsedTime "%header{User-Agent}"`
 * optionally followed by ` [%thread]` (newer versions). `%header{Content-Length}` is the **request**
 * length (`-` when absent), `%bytesSent` the response bytes, `%elapsedTime` milliseconds (→ ns),
 * `%user` the user id or `-` (anonymous).
 *
 * Docker requests arrive on a connector port as `/v2/…` or through `/repository/<name>/v2/…`
 * (prefix stripped to classify the route). Other requests (Maven, npm, UI) are `ignored`.
 * Lines have no id: `event.id` = stableId(line, file, offset), the access-log rule of FORMATS.md
 * "Dedupe and correlation keys". `event.dataset: nexus.request`.
 */
import type { RegistryEvent } from '../../model/registry-event.ts';
import { actorKind } from '../common/actor.ts';
import { parseAddress } from '../common/address.ts';
import { stableId } from '../common/hash.ts';
import { splitUri } from '../common/repository.ts';
import { classifyUserAgent } from '../common/useragent.ts';
import type { TextSource } from '../sources/types.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { accept, actorFields, prune, reject, timeToUtc } from '../harbor/build.ts';
import { classifyRequest, routeContainerImage, routeOciFields } from './route-action.ts';

const LINE_RE =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "([A-Z]+) (\S+)(?: (HTTP\/[\d.]+))?" (\d{3}) (-|\d+) (-|\d+) (-|\d+) "((?:[^"\\]|\\.)*)"(?: \[([^\]]*)\])?$/;
const NEXUS_PREFIX_RE = /^\/repository\/([^/]+)(\/v2(?:\/.*)?)$/;

function num(s: string | undefined): number | undefined {
  return s === undefined || s === '-' ? undefined : Number(s);
}

// The detector calls matches() then normalize() on the same line: keep the last match.
let lastLine: string | undefined;
let lastMatch: RegExpExecArray | null = null;
function exec(line: string): RegExpExecArray | null {
  if (line !== lastLine) {
    lastLine = line;
    lastMatch = LINE_RE.exec(line.trimEnd());
  }
  return lastMatch;
}

function normalize(line: string, ctx: NormalizeContext): NormalizeResult[] {
  const m = exec(line);
  if (!m) return [reject('schema_mismatch', 'nexus request log: line does not match the logback-access pattern', line)];
  const [
    ,
    host = '',
    ,
    userRaw = '-',
    date = '',
    method = '',
    target = '',
    version,
    statusText = '',
    ,
    sent,
    elapsed,
    ua = '',
  ] = m;
  const timestamp = timeToUtc(date);
  if (!timestamp) return [reject('invalid_timestamp', `nexus request log: date "${date.slice(0, 40)}"`, line)];
  const uri = splitUri(target);
  const prefixed = NEXUS_PREFIX_RE.exec(uri.path);
  const apiPath = prefixed?.[2] ?? uri.path;
  const user = userRaw === '-' || userRaw === '' ? undefined : userRaw;
  const status = Number(statusText);
  const route = classifyRequest(method, apiPath, uri.params, status, user !== undefined);
  if (!route) return [{ kind: 'ignored', reason: 'nexus request outside the Docker registry API' }];
  const { user: userField, actor } = actorFields(user, actorKind(user));
  const ms = num(elapsed);
  const bytes = num(sent);
  const client = classifyUserAgent(ua);
  const uaText = ua.replace(/\\"/g, '"');

  const event: RegistryEvent = {
    '@timestamp': timestamp,
    event: {
      kind: 'event',
      category: route.category,
      type: route.type,
      action: route.action,
      outcome: route.outcome,
      id: stableId(line, ctx.origin, ctx.lineRef ?? ctx.offset),
      dataset: 'nexus.request',
      duration: ms === undefined ? undefined : ms * 1_000_000,
    },
    ...(userField ? { user: userField } : {}),
    source: parseAddress(host),
    user_agent: { original: uaText },
    http: {
      version: version?.slice(5),
      request: { method },
      response: { status_code: status, ...(bytes === undefined ? {} : { body: { bytes } }) },
    },
    url: { path: uri.path, query: uri.safeQuery, original: target },
    container: { image: routeContainerImage(route) },
    service: { type: 'nexus' },
    oci_registry: {
      ...routeOciFields(route, actor, 'nexus-request', client.family, user),
      ...(date !== timestamp ? { original_timestamp: date } : {}),
    },
  };
  applyContext(event, line, ctx);
  return [accept(prune(event))];
}

/** Nexus request log source (`event.dataset: nexus.request`). */
export const nexusRequestSource: TextSource = {
  id: 'nexus-request',
  matches: (line) => exec(line) !== null,
  normalize,
};
