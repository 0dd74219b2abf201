import type { JsonSource } from './types.ts';
import type { EventAction, ObjectKind, OciRegistryFields, RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import type { NotificationEvent } from '../distribution/schemas.ts';
import { NotificationEventSchema, isNotificationEvent } from '../distribution/schemas.ts';
import { actorKind } from '../common/actor.ts';
import { cachedAddress, cachedUserAgent } from '../common/cache.ts';
import { toUtcTimestamp } from '../common/time.ts';
import { applyContext, emit, reject } from '../common/event.ts';
import { hasLineTerminator, namespaceOf } from '../common/repository.ts';
import { isIndexMediaType, isManifestMediaType } from '../distribution/classify.ts';
import { eventCategories, eventTypes } from '../distribution/request-event.ts';

/**
 * CNCF Distribution webhook notifications (`application/vnd.docker.distribution.events.v1+json`
 * in 2.x, `…events.v2+json` from v3.0.0; FORMATS.md 1a). An envelope `{events:[…]}` or a bare event
 * object; every event becomes one RegistryEvent with `event.id` = the notification `id` (stable across
 * retries) and `event.outcome: success` (only successful operations are notified).
 *
 * Action mapping (1a.4): `pull` → `manifest-pull`/`blob-pull`, or `manifest-head`/`blob-head` when
 * `request.method` is HEAD (never a pull, FORMAT-EDGE-CASES 2); `push` → `manifest-push`/`blob-push`;
 * `mount` → `blob-mount`; `delete` with a tag → `tag-delete` (v3 fan-out), with a digest →
 * `manifest-delete` (a blob delete event carries the same fields and cannot be told apart; manifest
 * deletes are the documented fan-out case), with neither → repository delete (`other`).
 * Manifest vs blob: `target.url` route, else the media type (blob events are `application/octet-stream`).
 * v3 zero values (`""`, `0`) are treated as absent (FORMAT-EDGE-CASES 8); `size` falls back to `length`.
 */
export const distributionNotificationSource: JsonSource = {
  id: 'distribution-notification',
  matches(obj) {
    return (
      Array.isArray(obj.events) ||
      (typeof obj.action === 'string' &&
        typeof obj.target === 'object' &&
        obj.target !== null &&
        typeof obj.id === 'string')
    );
  },
  matchesProbe(p) {
    return (
      Array.isArray(p.events) ||
      (typeof p.action === 'string' && typeof p.target === 'object' && p.target !== null && typeof p.id === 'string')
    );
  },
  normalize(obj, _raw, ctx, probe) {
    // `original` (the event re-serialized) is only built when needed: rejections and keepOriginal.
    const events = probe === undefined ? obj.events : probe.events;
    if (!Array.isArray(events)) return [normalizeNotificationEvent(obj, undefined, ctx)];
    // A plain object whose `events` is an array always satisfies NotificationEnvelopeSchema (each
    // element is validated on its own below), so the envelope needs no further check here.
    const out = new Array<NormalizeResult>(events.length);
    for (let i = 0; i < events.length; i++) out[i] = normalizeNotificationEvent(events[i], undefined, ctx);
    return out;
  },
};

function nonEmpty(s: string | undefined | null): string | undefined {
  return s === undefined || s === null || s.length === 0 ? undefined : s;
}

function sourceFormatOf(ctx: NormalizeContext): string {
  const ct = ctx.contentType?.toLowerCase() ?? '';
  if (ct.includes('events.v2+json')) return 'notification-v2';
  if (ct.includes('events.v1+json')) return 'notification-v1';
  return 'notification';
}

function targetKind(url: string | undefined, mediaType: string | undefined): 'manifest' | 'blob' | undefined {
  if (url !== undefined) {
    if (url.includes('/manifests/')) return 'manifest';
    if (url.includes('/blobs/')) return 'blob';
  }
  if (mediaType === undefined) return undefined;
  return isManifestMediaType(mediaType) ? 'manifest' : 'blob';
}

const BRACKET_END_RE = /\](?=:|$)/;

/**
 * Sets `url.domain`/`url.port` from `host[:port]` (brackets already removed), as the regex
 * `/^(.*?)(?::(\d{1,5}))?$/` splits it: the port is a final `:` plus 1–5 ASCII digits; a value with a
 * line terminator sets nothing.
 */
function splitHostPort(h: string, url: NonNullable<RegistryEvent['url']>): void {
  if (hasLineTerminator(h)) return;
  // The trailing ASCII digit run, scanned from the end (a port when a `:` precedes it: that is then
  // the last colon); no `lastIndexOf` call and no number parse of a sliced string.
  const n = h.length;
  let i = n;
  let port = 0;
  let scale = 1;
  while (i > 0) {
    const c = h.charCodeAt(i - 1);
    if (c < 48 || c > 57) break;
    if (n - i < 5) port += (c - 48) * scale;
    scale *= 10;
    i--;
  }
  const colon = i - 1;
  const portOk = n - i >= 1 && n - i <= 5 && colon >= 0 && h.charCodeAt(colon) === 58; /* : */
  const domain = portOk ? h.slice(0, colon) : h;
  if (domain.length > 0) url.domain = domain;
  if (portOk) url.port = port;
}

/**
 * One notification event object → one result (`event`, or `rejected` with the event re-serialized
 * as `original` so the receiver can dead-letter just that event).
 * @param original the event's text; when undefined it is `JSON.stringify(input)`, built only when
 *   needed (a rejection or `ctx.keepOriginal`).
 */
export function normalizeNotificationEvent(
  input: unknown,
  original: string | undefined,
  ctx: NormalizeContext,
): NormalizeResult {
  const text = (): string => original ?? JSON.stringify(input) ?? 'null';
  let e: NotificationEvent;
  if (isNotificationEvent(input)) {
    // Hand check passed: the zod schema accepts it too (schemas.ts), no copy needed.
    e = input;
  } else {
    const parsed = NotificationEventSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reject(
        'schema_mismatch',
        text(),
        issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'invalid event',
      );
    }
    e = parsed.data;
  }
  const time =
    e.timestamp !== undefined
      ? toUtcTimestamp(e.timestamp)
      : ctx.receivedAt !== undefined
        ? toUtcTimestamp(ctx.receivedAt)
        : null;
  if (time === null)
    return reject(
      'invalid_timestamp',
      text(),
      e.timestamp === undefined ? 'timestamp: missing' : 'timestamp: unparseable',
    );

  const t = e.target;
  const method = nonEmpty(e.request?.method);
  const head = method !== undefined && (method === 'HEAD' || (method !== 'GET' && method.toUpperCase() === 'HEAD'));
  const mediaType = nonEmpty(t.mediaType);
  const digest = nonEmpty(t.digest);
  const tag = nonEmpty(t.tag);
  const repository = nonEmpty(t.repository);
  const url = nonEmpty(t.url);
  const kind = targetKind(url, mediaType);
  let action: EventAction;
  let objectKind: ObjectKind | undefined;
  const manifestKind: ObjectKind = isIndexMediaType(mediaType) ? 'index' : 'manifest';
  switch (e.action) {
    case 'pull':
      if (kind === 'blob') {
        action = head ? 'blob-head' : 'blob-pull';
        objectKind = 'blob';
      } else {
        action = head ? 'manifest-head' : 'manifest-pull';
        objectKind = manifestKind;
      }
      break;
    case 'push':
      action = kind === 'blob' ? 'blob-push' : 'manifest-push';
      objectKind = kind === 'blob' ? 'blob' : manifestKind;
      break;
    case 'mount':
      action = 'blob-mount';
      objectKind = 'blob';
      break;
    case 'delete':
      if (tag !== undefined) {
        action = 'tag-delete';
        objectKind = 'tag';
      } else if (digest !== undefined) {
        action = kind === 'blob' ? 'blob-delete' : 'manifest-delete';
        objectKind = kind === 'blob' ? 'blob' : 'manifest';
      } else {
        action = 'other';
        objectKind = 'repository';
      }
      break;
    default:
      return reject('unsupported_event', text(), `action: "${e.action.slice(0, 40)}" is not pull/push/mount/delete`);
  }

  const actorName = nonEmpty(e.actor?.name);
  const ak = actorKind(actorName);
  const size =
    t.size !== undefined && t.size > 0 ? t.size : t.length !== undefined && t.length > 0 ? t.length : undefined;
  const o: OciRegistryFields = {
    image_pull: action === 'manifest-pull',
    actor: { kind: ak, anonymous: ak === 'anonymous' },
    source_format: sourceFormatOf(ctx),
    event_id: e.id,
  };
  if (repository !== undefined) {
    o.repository = repository;
    o.namespace = namespaceOf(repository);
  }
  if (digest !== undefined) o.digest = digest;
  if (mediaType !== undefined) o.media_type = mediaType;
  if (objectKind !== undefined) o.object_kind = objectKind;
  if (size !== undefined) o.size = size;
  if (tag !== undefined) o.tag = tag;
  const from = nonEmpty(t.fromRepository);
  if (from !== undefined) o.from_repository = from;
  if (t.references && t.references.length > 0) {
    o.references = t.references.map((r) => {
      const ref: NonNullable<OciRegistryFields['references']>[number] = {};
      if (nonEmpty(r.digest) !== undefined) ref.digest = r.digest;
      if (nonEmpty(r.mediaType) !== undefined) ref.media_type = r.mediaType;
      if (r.size !== undefined) ref.size = r.size;
      if (r.platform && (r.platform.os !== undefined || r.platform.architecture !== undefined)) {
        ref.platform = {};
        if (r.platform.os !== undefined) ref.platform.os = r.platform.os;
        if (r.platform.architecture !== undefined) ref.platform.architecture = r.platform.architecture;
      }
      return ref;
    });
  }
  const instanceId = nonEmpty(e.source?.instanceID);
  if (instanceId !== undefined) o.instance_id = instanceId;
  const reqHost = nonEmpty(e.request?.host);
  if (reqHost !== undefined) o.request_host = reqHost;
  if (head) o.head = true;

  const ev: RegistryEvent = {
    '@timestamp': time.timestamp,
    event: {
      kind: 'event',
      category: eventCategories(action),
      type: eventTypes(action, 'success', undefined),
      action,
      outcome: 'success',
      id: e.id,
      dataset: 'oci_registry.notification',
    },
    oci_registry: o,
  };
  if (time.original !== time.timestamp) o.original_timestamp = time.original;
  if (actorName !== undefined) ev.user = { name: actorName };

  const addr = cachedAddress(nonEmpty(e.request?.addr));
  if (addr.address !== undefined) {
    ev.source = { address: addr.address };
    if (addr.ip !== undefined) ev.source.ip = addr.ip;
    if (addr.port !== undefined) ev.source.port = addr.port;
    // `request.addr` without a port is the first X-Forwarded-For element or X-Real-Ip (1b.5): a claim.
    if (addr.ip !== undefined && addr.port === undefined) {
      o.forwarded_for = [addr.address];
      o.ip_trust = 'claimed';
    } else if (addr.ip !== undefined) o.ip_trust = 'peer';
  }
  const uaRaw = e.request?.useragent;
  if (uaRaw !== undefined && uaRaw !== null && uaRaw.length > 0) {
    const ua = cachedUserAgent(uaRaw);
    ev.user_agent = { original: uaRaw, name: ua.family };
    if (ua.version !== undefined) ev.user_agent.version = ua.version;
    o.client_family = ua.family;
  }
  const reqId = nonEmpty(e.request?.id);
  if (reqId !== undefined || method !== undefined) {
    ev.http = { request: {} };
    if (reqId !== undefined) ev.http.request!.id = reqId;
    if (method !== undefined) ev.http.request!.method = method;
  }
  if (url !== undefined || reqHost !== undefined) {
    ev.url = {};
    if (url !== undefined) ev.url.full = url;
    if (reqHost !== undefined) {
      splitHostPort(reqHost.startsWith('[') ? reqHost.slice(1).replace(BRACKET_END_RE, '') : reqHost, ev.url);
    }
  }
  if (repository !== undefined) {
    ev.container = { image: { name: repository } };
    if (tag !== undefined) ev.container.image!.tag = [tag];
    if (digest !== undefined && (objectKind === 'manifest' || objectKind === 'index'))
      ev.container.image!.hash = { all: [digest] };
  }
  const node = nonEmpty(e.source?.addr);
  ev.service = { type: 'distribution' };
  if (node !== undefined) ev.service.node = { name: node };
  if (instanceId !== undefined) ev.service.ephemeral_id = instanceId;
  applyContext(ev, ctx.keepOriginal === true ? text() : '', ctx);
  return emit(ev);
}
