import type { EventAction, EventDataset, EventOutcome, ObjectKind, RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeContext } from '../types.ts';
import type { UtcTimestamp } from '../common/time.ts';
import type { SplitUri, V2Path } from '../common/repository.ts';
import { actorKind } from '../common/actor.ts';
import { cachedAddress, cachedUserAgent } from '../common/cache.ts';
import { isDigest, namespaceOf, parseV2Path, splitUri } from '../common/repository.ts';
import { apiErrorCode, classifyRequest, isIndexMediaType, upperMethod as upperMethodOf } from './classify.ts';
import { applyContextAfterCreated } from '../common/event.ts';

/**
 * Everything a Distribution-family log line can say about one HTTP request, already decoded from
 * its format (logrus JSON/text, logstash, combined access log, JSON access log). Field names follow
 * FORMATS.md 1b.2; all optional except time, dataset, format and id.
 */
export interface RequestFacts {
  time: UtcTimestamp;
  dataset: EventDataset;
  sourceFormat: string;
  /** Dedupe key (already derived per FORMATS.md "Dedupe and correlation keys"). */
  id: string;
  method?: string;
  /** Raw request URI incl. query (`http.request.uri`). */
  uri?: string;
  status?: number;
  /** Response body bytes actually written. */
  bytes?: number;
  durationNs?: number;
  remoteAddr?: string;
  host?: string;
  userAgent?: string;
  referrer?: string;
  requestId?: string;
  requestContentType?: string;
  responseContentType?: string;
  httpVersion?: string;
  /** `auth.user.name`; `""` means an anonymous token. */
  userName?: string;
  varsName?: string;
  varsReference?: string;
  varsDigest?: string;
  varsUuid?: string;
  /** Error code in any spelling (`manifest unknown` or `MANIFEST_UNKNOWN`). */
  errCode?: string;
  errMessage?: string;
  /** `err.detail` — string or object; stringified here. */
  errDetail?: unknown;
  instanceId?: string;
  goVersion?: string;
  version?: string;
  serviceName?: string;
  serviceType?: string;
  environment?: string;
  level?: string;
  message?: string;
  /** Set for auth lines: overrides route classification. */
  authAction?: 'auth-challenge' | 'login-failure' | 'access-denied';
  attemptedUser?: string;
  /** True when the line is a completion line without HTTP status (outcome then from level/err). */
  failed?: boolean;
}

const TYPE_OF: Partial<Record<EventAction, string[]>> = {
  'manifest-pull': ['access'],
  'manifest-head': ['access'],
  'blob-pull': ['access'],
  'blob-head': ['access'],
  'manifest-push': ['creation'],
  'blob-push': ['creation'],
  'blob-mount': ['creation'],
  upload: ['creation'],
  'manifest-delete': ['deletion'],
  'blob-delete': ['deletion'],
  'tag-delete': ['deletion'],
  catalog: ['access'],
  'tags-list': ['access'],
  ping: ['access'],
  'auth-challenge': ['info'],
  'login-failure': ['start'],
  'login-success': ['start'],
  'access-denied': ['access', 'denied'],
  'quota-warning': ['info'],
  'quota-exceeded': ['denied'],
  'scan-completed': ['info'],
  'scan-failed': ['error'],
  replication: ['change'],
  other: ['info'],
};

/** ECS `event.type` for an action plus outcome facts (`error` for 5xx and non-404 client errors). */
export function eventTypes(action: EventAction, outcome: EventOutcome, status: number | undefined): string[] {
  const base = TYPE_OF[action] ?? ['info'];
  if (outcome !== 'failure' || action === 'auth-challenge' || action === 'access-denied') return base.slice();
  if (action === 'login-failure') return [...base, 'denied'];
  // A 404 is a miss (blob existence check during a push, unknown tag), not an error (C11).
  if (status === 404) return base.slice();
  return [...base, 'error'];
}

/** ECS `event.category` for an action. */
export function eventCategories(action: EventAction): string[] {
  return action === 'auth-challenge' || action === 'login-failure' || action === 'login-success'
    ? ['authentication', 'web']
    : ['web'];
}

function outcomeOf(f: RequestFacts): EventOutcome {
  if (f.authAction !== undefined) return 'failure';
  if (f.status !== undefined) return f.status >= 200 && f.status < 400 ? 'success' : 'failure';
  if (f.failed === true || f.errCode !== undefined) return 'failure';
  return f.failed === false ? 'success' : 'unknown';
}

function stringifyDetail(d: unknown): string | undefined {
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'string') return d.length > 0 ? d : undefined;
  try {
    return JSON.stringify(d);
  } catch {
    return String(d);
  }
}

/** `url.domain`/`url.port` of a Host header value; the last value is memoized (one host per registry). */
function splitHost(host: string | undefined): { domain?: string; port?: number } {
  if (host === undefined || host.length === 0) return {};
  if (host === lastHost) return lastHostParts;
  lastHostParts = splitHostUncached(host);
  lastHost = host;
  return lastHostParts;
}
let lastHost: string | undefined;
let lastHostParts: { domain?: string; port?: number } = {};

function splitHostUncached(host: string): { domain?: string; port?: number } {
  const a = cachedAddress(host);
  if (a.ip !== undefined) return a.port === undefined ? { domain: a.ip } : { domain: a.ip, port: a.port };
  // `name:port` when the text after the last colon is 1–5 ASCII digits (`/^\d{1,5}$/`).
  let i = host.length;
  while (i > 0) {
    const c = host.charCodeAt(i - 1);
    if (c < 48 || c > 57) break;
    i--;
  }
  const digits = host.length - i;
  const colon = i - 1;
  if (colon > 0 && digits >= 1 && digits <= 5 && host.charCodeAt(colon) === 58 /* : */)
    return { domain: host.slice(0, colon), port: Number(host.slice(i)) };
  return { domain: host };
}

/** The only query parameters classification and the event read (upload/mount routes). */
const CLASSIFY_PARAMS: ReadonlySet<string> = new Set(['digest', 'mount', 'from']);
const NO_PARAMS: ReadonlyMap<string, string> = new Map<string, string>();
const UNKNOWN_ROUTE: V2Path = Object.freeze({ route: 'unknown' });

/** A request URI split ({@link splitUri} with {@link CLASSIFY_PARAMS}) and its API route. */
interface ParsedUri {
  readonly uri: SplitUri;
  readonly route: V2Path;
  /** `isDigest(route.reference)`, computed once per URI. */
  readonly referenceIsDigest: boolean;
}

const ROUTE_SLOTS = 512;
const routeKeys: (string | undefined)[] = new Array<string | undefined>(ROUTE_SLOTS).fill(undefined);
const routeValues: (ParsedUri | undefined)[] = new Array<ParsedUri | undefined>(ROUTE_SLOTS).fill(undefined);

/**
 * {@link splitUri} + {@link parseV2Path} of a raw request URI, memoized by the exact URI text: a
 * registry serves the same manifest and blob URIs over and over, so a small direct-mapped table
 * (slot by length and three characters, hit = `===`, a memory compare) skips the split, the query
 * decoding and the route scan for repeats. Results are shared and only ever read.
 */
function routeOf(raw: string): ParsedUri {
  const n = raw.length;
  const slot =
    (n * 131 + raw.charCodeAt(n - 1) * 31 + raw.charCodeAt(n - 6) * 7 + raw.charCodeAt(n >> 1)) & (ROUTE_SLOTS - 1);
  const key = routeKeys[slot];
  if (key === raw) {
    const hit = routeValues[slot];
    if (hit !== undefined) return hit;
  }
  const uri = splitUri(raw, CLASSIFY_PARAMS);
  const route = parseV2Path(uri.path);
  const out: ParsedUri = { uri, route, referenceIsDigest: isDigest(route.reference) };
  routeKeys[slot] = raw;
  routeValues[slot] = out;
  return out;
}

/**
 * Builds the normalized event for one HTTP request seen in a Distribution-family log, with the
 * caller's context applied as `applyContext` (common/event.ts) does (`event.created`, `event.original`,
 * `log.file.path`, `log.offset`). Pure apart from the bounded parse caches; never throws for
 * well-typed facts.
 */
export function buildRequestEvent(f: RequestFacts, raw: string, ctx: NormalizeContext): RegistryEvent {
  const parsedUri = f.uri === undefined ? undefined : routeOf(f.uri);
  const uri = parsedUri?.uri;
  const route: V2Path = parsedUri === undefined ? UNKNOWN_ROUTE : parsedUri.route;
  const params = uri?.params ?? NO_PARAMS;
  const code = f.errCode === undefined ? undefined : apiErrorCode(f.errCode);
  let action: EventAction;
  let objectKind: ObjectKind | undefined;
  if (f.method === undefined && f.uri === undefined) {
    // Lines without request fields (GitLab LabKit error lines): the route cannot be known.
    action = f.authAction ?? 'other';
    objectKind = f.varsReference !== undefined ? 'manifest' : f.varsDigest !== undefined ? 'blob' : undefined;
  } else {
    const c = classifyRequest(f.method, route, params, f.status, code);
    action = f.authAction ?? c.action;
    objectKind = c.objectKind;
  }
  const outcome = outcomeOf(f);

  const repository = f.varsName ?? route.name;
  const reference = f.varsReference ?? route.reference;
  let digest = f.varsDigest ?? route.digest;
  let tag: string | undefined;
  if (reference !== undefined && reference.length > 0) {
    // The route's reference (or an equal `vars.reference`) was classified once per URI.
    const refIsDigest =
      parsedUri !== undefined && reference === route.reference ? parsedUri.referenceIsDigest : isDigest(reference);
    if (refIsDigest) digest ??= reference;
    else tag = reference;
  }
  if (action === 'blob-push') digest ??= params.get('digest');
  if (action === 'blob-mount') digest ??= params.get('mount');
  const fromRepository = action === 'blob-mount' ? params.get('from') : undefined;
  const uploadId = f.varsUuid ?? route.uploadId;

  const upperMethod = f.method === undefined ? undefined : upperMethodOf(f.method);
  const mediaType = upperMethod === 'PUT' && route.route === 'manifest' ? f.requestContentType : f.responseContentType;
  if (objectKind === 'manifest' && isIndexMediaType(mediaType)) objectKind = 'index';
  if (route.route === 'blob' && digest === undefined) digest = route.digest;

  const userName = f.userName !== undefined && f.userName.length > 0 ? f.userName : undefined;
  const kind = actorKind(userName);
  const addr = cachedAddress(f.remoteAddr);
  const ua = f.userAgent !== undefined && f.userAgent.length > 0 ? cachedUserAgent(f.userAgent) : undefined;
  const host = splitHost(f.host);
  const status = f.status;

  // `event` as one literal in its final key order (`duration`, then the caller's `created`, are
  // otherwise added later): a store of a new key into objects of many shapes is a megamorphic
  // transition, where a literal site makes one shape per variant.
  const category = eventCategories(action);
  const type = eventTypes(action, outcome, status);
  const id = f.id;
  const dataset = f.dataset;
  const duration = f.durationNs;
  const created = ctx.receivedAt;
  const event: RegistryEvent['event'] =
    duration === undefined
      ? created === undefined
        ? { kind: 'event', category, type, action, outcome, id, dataset }
        : { kind: 'event', category, type, action, outcome, id, dataset, created }
      : created === undefined
        ? { kind: 'event', category, type, action, outcome, id, dataset, duration }
        : { kind: 'event', category, type, action, outcome, id, dataset, duration, created };
  const ev: RegistryEvent = {
    '@timestamp': f.time.timestamp,
    event,
    oci_registry: {
      // The access log repeats requests the app log already records (the registry writes both to
      // stdout, C12), without user or request id to join them: count image pulls from one format
      // only — the app log (and notifications) — so a mixed stream never doubles a pull.
      image_pull:
        f.dataset !== 'oci_registry.access' &&
        action === 'manifest-pull' &&
        outcome === 'success' &&
        (status === undefined || (status >= 200 && status < 300)),
      actor: { kind, anonymous: kind === 'anonymous' },
      source_format: f.sourceFormat,
    },
  };
  if (f.message !== undefined) ev.message = f.message;
  if (f.time.original !== f.time.timestamp) ev.oci_registry.original_timestamp = f.time.original;
  if (f.level !== undefined) ev.log = { level: f.level };
  if (userName !== undefined) ev.user = { name: userName };

  // Sub-objects are built as literals in their final key order (not grown key by key): each
  // literal site creates one shape, where conditional adds would make the stores polymorphic.
  const address = addr.address;
  if (address !== undefined) {
    const ip = addr.ip;
    const port = addr.port;
    ev.source =
      ip === undefined
        ? port === undefined
          ? { address }
          : { address, port }
        : port === undefined
          ? { address, ip }
          : { address, ip, port };
    // A remote address without a port came from X-Forwarded-For / X-Real-Ip (FORMATS.md 1b.5):
    // a client-controlled claim, recorded as the (one-element) forwarded chain. The access log
    // always prints the socket peer without port, so this only applies to app-log datasets.
    if (ip !== undefined && port === undefined && f.dataset === 'oci_registry.log') {
      ev.oci_registry.forwarded_for = [address];
      ev.oci_registry.ip_trust = 'claimed';
    } else if (ip !== undefined) ev.oci_registry.ip_trust = 'peer';
  }
  if (ua !== undefined && f.userAgent !== undefined) {
    const version = ua.version;
    ev.user_agent =
      version === undefined
        ? { original: f.userAgent, name: ua.family }
        : { original: f.userAgent, name: ua.family, version };
    ev.oci_registry.client_family = ua.family;
  }

  const method = f.method;
  const requestId = f.requestId;
  const referrer = f.referrer;
  const requestContentType = f.requestContentType;
  const responseContentType = f.responseContentType;
  const httpVersion = f.httpVersion;
  let request: NonNullable<NonNullable<RegistryEvent['http']>['request']> | undefined;
  if (method !== undefined || requestId !== undefined || referrer || requestContentType !== undefined) {
    if (requestId === undefined && !referrer && requestContentType === undefined) request = { method };
    else if (!referrer && requestContentType === undefined) {
      request = method === undefined ? { id: requestId } : { id: requestId, method };
    } else {
      request = {};
      if (requestId !== undefined) request.id = requestId;
      if (method !== undefined) request.method = method;
      if (referrer) request.referrer = referrer;
      if (requestContentType !== undefined) request.mime_type = requestContentType;
    }
  }
  let response: NonNullable<NonNullable<RegistryEvent['http']>['response']> | undefined;
  const bytes = f.bytes;
  if (status !== undefined || bytes !== undefined || responseContentType !== undefined) {
    if (status !== undefined && responseContentType === undefined) {
      response = bytes === undefined ? { status_code: status } : { status_code: status, body: { bytes } };
    } else {
      response = {};
      if (status !== undefined) response.status_code = status;
      if (bytes !== undefined) response.body = { bytes };
      if (responseContentType !== undefined) response.mime_type = responseContentType;
    }
  }
  if (request !== undefined || response !== undefined || httpVersion !== undefined) {
    if (httpVersion === undefined) {
      if (response === undefined) ev.http = { request };
      else ev.http = request === undefined ? { response } : { request, response };
    } else {
      const http: NonNullable<RegistryEvent['http']> = { version: httpVersion };
      if (request !== undefined) http.request = request;
      if (response !== undefined) http.response = response;
      ev.http = http;
    }
  }

  if (uri !== undefined || host.domain !== undefined) {
    if (uri !== undefined && host.domain === undefined) {
      const safeQuery = uri.safeQuery;
      const original = f.uri;
      ev.url =
        safeQuery === undefined
          ? original === undefined
            ? { path: uri.path }
            : { path: uri.path, original }
          : original === undefined
            ? { path: uri.path, query: safeQuery }
            : { path: uri.path, query: safeQuery, original };
    } else {
      const url: NonNullable<RegistryEvent['url']> = {};
      if (uri !== undefined) {
        url.path = uri.path;
        if (uri.safeQuery !== undefined) url.query = uri.safeQuery;
        if (f.uri !== undefined) url.original = f.uri;
      }
      if (host.domain !== undefined) url.domain = host.domain;
      if (host.port !== undefined) url.port = host.port;
      ev.url = url;
    }
  }
  if (f.host !== undefined && f.host.length > 0) ev.oci_registry.request_host = f.host;

  const o = ev.oci_registry;
  if (repository !== undefined && repository.length > 0) {
    o.repository = repository;
    o.namespace = namespaceOf(repository);
    const image: NonNullable<NonNullable<RegistryEvent['container']>['image']> = { name: repository };
    if (tag !== undefined) image.tag = [tag];
    if (digest !== undefined && (objectKind === 'manifest' || objectKind === 'index')) image.hash = { all: [digest] };
    ev.container = { image };
  }
  if (digest !== undefined && digest.length > 0) o.digest = digest;
  if (tag !== undefined) o.tag = tag;
  if (objectKind !== undefined) o.object_kind = objectKind;
  if (mediaType !== undefined && (route.route === 'manifest' || route.route === 'blob') && mediaType.length > 0) {
    o.media_type = mediaType;
  }
  if (fromRepository !== undefined && fromRepository.length > 0) o.from_repository = fromRepository;
  if (uploadId !== undefined && uploadId.length > 0) o.upload_id = uploadId;
  if (upperMethod === 'HEAD') o.head = true;
  if (f.instanceId !== undefined) o.instance_id = f.instanceId;
  if (f.goVersion !== undefined) o.go_version = f.goVersion;
  if (f.attemptedUser !== undefined && f.attemptedUser.length > 0) o.attempted_user = f.attemptedUser;

  const detail = stringifyDetail(f.errDetail);
  if (code !== undefined || f.errMessage !== undefined || detail !== undefined) {
    o.error = {};
    if (code !== undefined) o.error.code = code;
    if (f.errMessage !== undefined) o.error.message = f.errMessage;
    if (detail !== undefined) o.error.detail = detail;
    ev.error = {};
    if (f.errMessage !== undefined) ev.error.message = f.errMessage;
    if (code !== undefined) ev.error.code = code;
  }

  if (
    f.serviceType !== undefined ||
    f.serviceName !== undefined ||
    f.environment !== undefined ||
    f.version !== undefined ||
    f.instanceId !== undefined
  ) {
    const type = f.serviceType;
    const version = f.version;
    const instanceId = f.instanceId;
    if (type !== undefined && f.serviceName === undefined && f.environment === undefined) {
      // The usual sets as literals: access log `{type}`, app log `{type, version, ephemeral_id}`.
      if (version === undefined) ev.service = instanceId === undefined ? { type } : { type, ephemeral_id: instanceId };
      else ev.service = instanceId === undefined ? { type, version } : { type, version, ephemeral_id: instanceId };
    } else {
      const service: NonNullable<RegistryEvent['service']> = {};
      if (type !== undefined) service.type = type;
      if (f.serviceName !== undefined) service.name = f.serviceName;
      if (f.environment !== undefined) service.environment = f.environment;
      if (version !== undefined) service.version = version;
      if (instanceId !== undefined) service.ephemeral_id = instanceId;
      ev.service = service;
    }
  }
  // `event.created` is already in the `event` literal above.
  applyContextAfterCreated(ev, raw, ctx);
  return ev;
}
