import type { ActorKind, EventAction, RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { identityOf } from '../../../shared/src/model/registry-event.ts';
import { copySourceOf, requestLineKey } from '../../../shared/src/model/request-key.ts';

/**
 * The compact projection of a RegistryEvent that the detector keeps and reasons about. Field
 * meanings follow the event model (shared/src/model/registry-event.ts); times are ms since epoch
 * (event time, `@timestamp`), sizes in bytes, durations in ns.
 */
export interface DetectorEvent {
  ts: number;
  /** `@timestamp` as written (kept for findings). */
  time: string;
  id: string;
  action: EventAction;
  outcome: 'success' | 'failure' | 'unknown';
  dataset: string;
  /** `identityOf(event)`: `user.name`, else `ip:<source.ip>`. */
  identity: string;
  user: string | undefined;
  ip: string | undefined;
  /**
   * `source.ip` is a client's claim (`oci_registry.ip_trust: claimed`: X-Forwarded-For / X-Real-Ip
   * without a trusted proxy, FORMATS.md 1b.5), not the socket peer: anyone can write it.
   */
  ipClaimed?: boolean | undefined;
  actorKind: ActorKind;
  anonymous: boolean;
  repository: string | undefined;
  namespace: string | undefined;
  tag: string | undefined;
  digest: string | undefined;
  /** Bytes sent in the response (`http.response.body.bytes`), 0 when unknown. */
  bytes: number;
  status: number | undefined;
  userAgent: string | undefined;
  imagePull: boolean;
  head: boolean;
  requestId: string | undefined;
  /** `event.duration`, ns. */
  durationNs: number | undefined;
  attemptedUser: string | undefined;
  /**
   * App-log and access lines: the C12 key (method, `url.path`, status, bytes —
   * shared/src/model/request-key.ts) that pairs an access line, which has no request id, with the
   * app-log line of the same request. Undefined for other events (and in events saved before it existed).
   */
  lineKey?: string | undefined;
  /**
   * With `lineKey`: the sources (`<event.dataset>/<oci_registry.source_format>`) of the request's
   * lines merged into this event — one for a single line, two once its app-log and access lines
   * are joined. Two lines of one source are never copies of each other.
   */
  copySources?: readonly string[] | undefined;
}

/**
 * Projects a normalized event. Returns undefined when `@timestamp` does not parse (the caller
 * counts it as rejected; the normalizer should never produce one).
 */
export function toDetectorEvent(e: RegistryEvent): DetectorEvent | undefined {
  const ts = Date.parse(e['@timestamp']);
  if (!Number.isFinite(ts)) return undefined;
  const o = e.oci_registry;
  const blobBytes = e.http?.response?.body?.bytes;
  const d: DetectorEvent = {
    ts,
    time: e['@timestamp'],
    id: e.event.id,
    action: e.event.action,
    outcome: e.event.outcome,
    dataset: e.event.dataset,
    identity: identityOf(e),
    user: e.user?.name,
    ip: e.source?.ip,
    ...(o.ip_trust === 'claimed' ? { ipClaimed: true } : {}),
    actorKind: o.actor?.kind ?? (e.user?.name ? 'user' : 'anonymous'),
    anonymous: o.actor?.anonymous ?? !e.user?.name,
    repository: o.repository,
    namespace: o.namespace ?? (o.repository?.includes('/') ? o.repository.split('/')[0] : undefined),
    tag: o.tag,
    digest: o.digest,
    bytes: typeof blobBytes === 'number' && blobBytes > 0 ? blobBytes : 0,
    status: e.http?.response?.status_code,
    userAgent: e.user_agent?.original,
    imagePull: o.image_pull === true,
    head: o.head === true,
    requestId: e.http?.request?.id,
    durationNs: e.event.duration,
    attemptedUser: o.attempted_user,
    lineKey: undefined,
    copySources: undefined,
  };
  const key = requestLineKey(e);
  if (key !== undefined) {
    d.lineKey = key;
    d.copySources = [copySourceOf(e)];
  }
  return d;
}

const NOTIFICATION_DATASETS = new Set(['oci_registry.notification', 'harbor.webhook']);

/** True for events that come from registry notifications/webhooks (successes, user known). */
export function isNotification(e: DetectorEvent): boolean {
  return NOTIFICATION_DATASETS.has(e.dataset);
}

/**
 * Merges two events of the same HTTP request (`http.request.id`): a notification carries the
 * user (2.x registries), the log line carries status, outcome, bytes and latency. The result
 * keeps the earliest time and the first event id, the user from whichever has one, and the
 * log's status/outcome/bytes/duration/action; the identity is recomputed. Two log events of one
 * request (same `event.id`, e.g. Distribution's two lines for a rejected password, one of them
 * naming the attempted user) merge field by field, the first one's values winning.
 */
export function mergeSameRequest(a: DetectorEvent, b: DetectorEvent): DetectorEvent {
  const log = isNotification(a) && !isNotification(b) ? b : isNotification(b) && !isNotification(a) ? a : undefined;
  const other = log === a ? b : log === b ? a : b;
  const m: DetectorEvent = { ...(log ?? a) };
  m.ts = Math.min(a.ts, b.ts);
  m.time = a.ts <= b.ts ? a.time : b.time;
  m.id = a.id;
  m.user = a.user ?? b.user;
  if (m.ip === undefined && other.ip !== undefined) {
    m.ip = other.ip;
    m.ipClaimed = other.ipClaimed;
  }
  m.repository = m.repository ?? other.repository;
  m.namespace = m.namespace ?? other.namespace;
  m.tag = m.tag ?? other.tag;
  m.digest = m.digest ?? other.digest;
  m.userAgent = m.userAgent ?? other.userAgent;
  m.bytes = Math.max(a.bytes, b.bytes);
  m.durationNs = m.durationNs ?? other.durationNs;
  m.status = m.status ?? other.status;
  m.attemptedUser = m.attemptedUser ?? other.attemptedUser;
  m.imagePull = log ? log.imagePull || (other.imagePull && log.outcome !== 'failure') : a.imagePull || b.imagePull;
  if (m.user) {
    m.anonymous = false;
    if (m.actorKind === 'anonymous') m.actorKind = other.actorKind === 'anonymous' ? 'user' : other.actorKind;
  }
  m.identity = m.user ?? `ip:${m.ip ?? 'unknown'}`;
  return m;
}

/**
 * Merges the app-log line and the access line of one request (C12 key, no common request id):
 * the app-log copy's facts win — user, request id, event id, status, bytes, duration, action —
 * whichever of the two is passed first; the access line fills what the app log lacks. Time is
 * the earlier of the two (the access line's request start). Either argument may already be a
 * merged event (e.g. notification + app-log line, dataset `oci_registry.log`).
 */
export function mergeLineCopies(a: DetectorEvent, b: DetectorEvent): DetectorEvent {
  const [first, second] = a.dataset === 'oci_registry.access' && b.dataset !== 'oci_registry.access' ? [b, a] : [a, b];
  const m = mergeSameRequest(first, second);
  const mine = first.copySources ?? [];
  const theirs = second.copySources ?? [];
  m.copySources = [...mine, ...theirs.filter((x) => !mine.includes(x))];
  m.lineKey = first.lineKey ?? second.lineKey;
  return m;
}

/** The network of an IP for first-seen checks: IPv4 /24, IPv6 /48 (textual prefix). */
export function networkOf(ip: string): string {
  if (ip.includes(':')) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return networkOf(mapped[1]!);
    const parts = ip.split(':');
    return `${parts.slice(0, 3).join(':')}::/48`;
  }
  const p = ip.split('.');
  return p.length === 4 ? `${p[0]}.${p[1]}.${p[2]}.0/24` : ip;
}

/** User-agent patterns (on the lower-cased string) → client family, interactive/scripting or not. */
const CLIENT_FAMILIES: readonly (readonly [RegExp, string, boolean])[] = [
  [/^curl\//, 'curl', true],
  [/^wget\//, 'wget', true],
  [/python-requests|python-urllib|aiohttp/, 'python', true],
  [/^go-http-client/, 'go-http-client', true],
  [/^postmanruntime/, 'postman', true],
  [/^docker\//, 'docker', true],
  [/^podman\//, 'podman', true],
  [/skopeo/, 'skopeo', false],
  [/^containerd\//, 'containerd', false],
  [/cri-o/, 'cri-o', false],
  [/^buildkit/, 'buildkit', false],
  [/^kaniko|kaniko/, 'kaniko', false],
  [/^crane|go-containerregistry/, 'crane', false],
  [/trivy/, 'trivy', false],
  [/^helm\//, 'helm', false],
  [/^oras\//, 'oras', false],
];

/** Client family of a user agent, for robot→client checks. */
export function clientFamily(ua: string | undefined): { family: string; interactive: boolean } {
  if (!ua) return { family: 'unknown', interactive: false };
  const s = ua.toLowerCase();
  for (const [re, family, interactive] of CLIENT_FAMILIES) if (re.test(s)) return { family, interactive };
  return { family: s.split(/[/ ]/)[0] ?? 'unknown', interactive: false };
}
