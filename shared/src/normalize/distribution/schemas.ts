import { z } from 'zod';

/**
 * zod schemas for every raw Distribution-family input shape. They are the documented contract:
 * notification envelopes and events are validated with them at run time; the per-line log sources
 * use hand-checked reads (common/fields.ts) for throughput, and the tests check that both agree on
 * the sample corpus. Objects are loose: registries add fields between versions.
 */

const str = z.string();
const size = z.number().int().nonnegative();

/** OCI descriptor inside `target.references` (image-spec descriptor.md; notifications `includereferences`). */
export const NotificationDescriptorSchema = z.looseObject({
  mediaType: str.optional(),
  digest: str.optional(),
  size: size.optional(),
  platform: z.looseObject({ os: str.optional(), architecture: str.optional(), variant: str.optional() }).optional(),
});

/**
 * One notification event (distribution `notifications/event.go`; FORMATS.md 1a.3). v3 writes
 * zero values (`""`, `0`) on deletes; 2.x omits them. `actor` is `{}` for anonymous requests
 * (`null` tolerated). `timestamp` had `omitempty` in 2.x.
 */
export const NotificationEventSchema = z.looseObject({
  id: str.min(1),
  timestamp: str.optional(),
  action: str,
  target: z.looseObject({
    mediaType: str.optional(),
    digest: str.optional(),
    size: size.optional(),
    length: size.optional(),
    repository: str.optional(),
    fromRepository: str.optional(),
    url: str.optional(),
    tag: str.optional(),
    references: z.array(NotificationDescriptorSchema).nullable().optional(),
  }),
  request: z
    .looseObject({
      id: str.optional(),
      addr: str.optional(),
      host: str.optional(),
      method: str.optional(),
      useragent: str.optional(),
    })
    .nullable()
    .optional(),
  actor: z.looseObject({ name: str.optional() }).nullable().optional(),
  source: z.looseObject({ addr: str.optional(), instanceID: str.optional() }).nullable().optional(),
});
export type NotificationEvent = z.infer<typeof NotificationEventSchema>;

// Hand-written checks for the hot path. Each accepts a SUBSET of what the zod schema above accepts
// (callers fall back to `NotificationEventSchema.safeParse` when it says no, which also produces the
// error text), and for accepted input the fields read are the input's own: zod's loose objects only copy.

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function optStr(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}
function optSize(v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}
function isDescriptor(v: unknown): boolean {
  if (!isObj(v) || !optStr(v.mediaType) || !optStr(v.digest) || !optSize(v.size)) return false;
  const p = v.platform;
  return p === undefined || (isObj(p) && optStr(p.os) && optStr(p.architecture) && optStr(p.variant));
}

/**
 * Fast structural check equivalent to (never looser than) {@link NotificationEventSchema}: true means
 * the zod schema accepts `v` too and `v` can be read as a {@link NotificationEvent} directly.
 */
export function isNotificationEvent(v: unknown): v is NotificationEvent {
  if (!isObj(v) || typeof v.id !== 'string' || v.id.length === 0) return false;
  if (!optStr(v.timestamp) || typeof v.action !== 'string') return false;
  const t = v.target;
  if (!isObj(t)) return false;
  if (!optStr(t.mediaType) || !optStr(t.digest) || !optSize(t.size) || !optSize(t.length)) return false;
  if (!optStr(t.repository) || !optStr(t.fromRepository) || !optStr(t.url) || !optStr(t.tag)) return false;
  const refs = t.references;
  if (refs !== undefined && refs !== null) {
    if (!Array.isArray(refs)) return false;
    for (const r of refs) if (!isDescriptor(r)) return false;
  }
  const q = v.request;
  if (q !== undefined && q !== null) {
    if (!isObj(q) || !optStr(q.id) || !optStr(q.addr) || !optStr(q.host)) return false;
    if (!optStr(q.method) || !optStr(q.useragent)) return false;
  }
  const a = v.actor;
  if (a !== undefined && a !== null && (!isObj(a) || !optStr(a.name))) return false;
  const src = v.source;
  if (src !== undefined && src !== null && (!isObj(src) || !optStr(src.addr) || !optStr(src.instanceID))) return false;
  return true;
}

/** Envelope `{ "events": [...] }` (`events` has omitempty). Each element is validated separately so one bad event does not sink the rest. */
export const NotificationEnvelopeSchema = z.looseObject({ events: z.array(z.unknown()).optional() });

/** Go duration string, or integer nanoseconds (Go's JSON encoding of `time.Duration`). */
const goDuration = z.union([str, z.number().int()]);

/**
 * logrus JSON / logstash line (FORMATS.md 1b.1–1b.2). Keys are the literal dotted names.
 * `err.detail` has no stable type (string or object). Lines need `level` plus `msg` (or v2 logstash `message`).
 */
export const LogrusJsonLineSchema = z
  .looseObject({
    time: str.optional(),
    '@timestamp': str.optional(),
    '@version': str.optional(),
    level: str,
    msg: str.optional(),
    message: str.optional(),
    'go.version': str.optional(),
    'instance.id': str.optional(),
    version: str.optional(),
    service: str.optional(),
    environment: str.optional(),
    'http.request.id': str.optional(),
    'http.request.method': str.optional(),
    'http.request.host': str.optional(),
    'http.request.uri': str.optional(),
    'http.request.referer': str.optional(),
    'http.request.useragent': str.optional(),
    'http.request.remoteaddr': str.optional(),
    'http.request.contenttype': str.optional(),
    'http.response.status': z.number().int().optional(),
    'http.response.written': size.optional(),
    'http.response.contenttype': str.optional(),
    'http.response.duration': goDuration.optional(),
    'auth.user.name': str.optional(),
    'vars.name': str.optional(),
    'vars.reference': str.optional(),
    'vars.digest': str.optional(),
    'vars.uuid': str.optional(),
    'err.code': str.optional(),
    'err.message': str.optional(),
    'err.detail': z.unknown().optional(),
    username: str.optional(),
    error: str.optional(),
    // GitLab LabKit (snake_case) variants.
    correlation_id: str.optional(),
    code: str.optional(),
    detail: z.unknown().optional(),
    go_version: str.optional(),
    vars_name: str.optional(),
    vars_reference: str.optional(),
  })
  .refine((o) => o.msg !== undefined || o.message !== undefined, { message: 'msg or message is required' });

/** JSON access-log line (distribution PR #4221 proposal; CASES C12). */
export const AccessJsonLineSchema = z.looseObject({
  timestamp: z.union([str, z.number()]),
  method: str,
  path: str,
  status: z.number().int(),
  size: size.optional(),
  referer: str.optional(),
  user_agent: str.optional(),
  remote_addr: str.optional(),
});

/** Fields of one Apache combined line after splitting (gorilla/handlers logging.go). */
export const CombinedLineSchema = z.object({
  host: str.min(1),
  user: str,
  time: str.regex(/^\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/),
  request: str,
  status: z.number().int().min(100).max(999),
  bytes: size.optional(),
  referer: str.optional(),
  ua: str.optional(),
});

/** Docker `json-file` log driver line: `log` (with `\n` unless split at 16 KiB), `stream`, `time` (RFC3339Nano). */
export const DockerJsonFileLineSchema = z.looseObject({
  log: str,
  stream: z.enum(['stdout', 'stderr']),
  time: str,
});

/** CRI container log line (kubelet/containerd/CRI-O): `<RFC3339Nano> <stdout|stderr> <P|F> <message>`. */
export const CriLineSchema = z.object({
  time: str,
  stream: z.enum(['stdout', 'stderr']),
  tag: z.enum(['P', 'F']),
  message: str,
});

/** fluentd/td-agent wrapper: the original line in `message`, plus collector metadata (`tag`, `hostname`, …). */
export const FluentdLineSchema = z.looseObject({
  message: str,
  tag: str.optional(),
  hostname: str.optional(),
  fqdn: str.optional(),
  environment: str.optional(),
});
