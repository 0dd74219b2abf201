/**
 * The one normalized event model: ECS 8.x field names, custom fields under `oci_registry.*`
 * (ECS `registry.*` is the Windows registry). One document per logical registry operation.
 * Source: ../shared/design/FORMATS.md §1e and ECS (elastic/ecs schemas/*.yml).
 *
 * Documents are nested objects exactly as indexed in Elasticsearch (`event.action` is
 * `doc.event.action`). Absent values are omitted, never `""`; anonymous actors have no
 * `user.name` and `oci_registry.actor.anonymous: true`.
 */

/** `event.action` vocabulary. Dashboards, rules and tests rely on these exact strings. */
export const EVENT_ACTIONS = [
  'manifest-pull', // GET manifest (by tag or digest)
  'manifest-head', // HEAD manifest: existence check, never an image pull
  'blob-pull', // GET blob (bytes in http.response.body.bytes)
  'blob-head', // HEAD blob: existence check (push flow or pull pre-check)
  'manifest-push', // PUT manifest
  'blob-push', // blob upload completed (PUT ?digest=, or notification push of a blob)
  'blob-mount', // cross-repository mount (POST ?mount=&from=)
  'upload', // upload session start/chunk (POST/PATCH/GET on /blobs/uploads/)
  'manifest-delete',
  'blob-delete',
  'tag-delete', // Distribution v3 fan-out / Harbor tag deletion
  'catalog', // GET /v2/_catalog
  'tags-list', // GET /v2/<name>/tags/list
  'ping', // GET/HEAD /v2/
  'auth-challenge', // 401 answered by authenticating (not a failed login)
  'login-failure', // credentials presented and rejected
  'login-success', // Harbor audit login records
  'access-denied', // 403 / insufficient scope
  'quota-warning',
  'quota-exceeded',
  'scan-completed',
  'scan-failed',
  'replication',
  'cache-fill', // Harbor proxy-cache project stored an upstream artifact (PUSH_ARTIFACT by `harbor#proxy-cache-service`, case C06): storage grows, no user pushed
  'other',
] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];

export const EVENT_DATASETS = [
  'oci_registry.notification',
  'oci_registry.log',
  'oci_registry.access',
  'harbor.webhook',
  'harbor.audit',
  'quay.audit',
  'artifactory.request',
  'artifactory.access',
  'nexus.request',
] as const;
export type EventDataset = (typeof EVENT_DATASETS)[number];

export type EventOutcome = 'success' | 'failure' | 'unknown';
export type ActorKind = 'user' | 'robot' | 'service' | 'anonymous';
export type ObjectKind = 'manifest' | 'index' | 'blob' | 'tag' | 'repository' | 'upload' | 'registry';

export interface RegistryEvent {
  /** Event time, UTC ISO 8601 with the source's full precision (up to ns, 9 fraction digits). */
  '@timestamp': string;
  message?: string;
  event: {
    kind: 'event';
    category: string[];
    type: string[];
    action: EventAction;
    outcome: EventOutcome;
    /** Deterministic dedupe key per source (FORMATS.md "Dedupe and correlation keys"). */
    id: string;
    dataset: EventDataset;
    /** Duration in nanoseconds (Go duration strings and ms sources converted). */
    duration?: number;
    /** Raw line or body (not indexed). */
    original?: string;
    /** When the collector read it (ISO 8601). */
    created?: string;
  };
  log?: { level?: string; logger?: string; file?: { path?: string }; offset?: number };
  user?: { name?: string; roles?: string[] };
  source?: { ip?: string; port?: number; address?: string };
  client?: { ip?: string; address?: string };
  user_agent?: { original?: string; name?: string; version?: string };
  http?: {
    version?: string;
    request?: { id?: string; method?: string; referrer?: string; mime_type?: string };
    response?: { status_code?: number; body?: { bytes?: number }; mime_type?: string };
  };
  url?: { path?: string; query?: string; original?: string; domain?: string; port?: number; full?: string };
  container?: { image?: { name?: string; tag?: string[]; hash?: { all?: string[] } } };
  service?: {
    type?: string;
    name?: string;
    environment?: string;
    version?: string;
    node?: { name?: string };
    ephemeral_id?: string;
  };
  error?: { message?: string; code?: string };
  oci_registry: OciRegistryFields;
}

export interface OciRegistryFields {
  /** True on exactly the one event that counts as one image pull (successful manifest GET;
   * a multi-arch pull — index then platform manifest by the same client — counts once). */
  image_pull: boolean;
  actor: { kind: ActorKind; anonymous: boolean };
  source_format: string;
  /**
   * The source's timestamp exactly as written, when it differs from `@timestamp` (a local zone
   * offset, an RFC 1123 date, more digits than kept): the full-precision original (shared CASES
   * C01). A custom field: ECS `event.reference` is a URL.
   */
  original_timestamp?: string;
  repository?: string;
  namespace?: string;
  digest?: string;
  media_type?: string;
  object_kind?: ObjectKind;
  /** Target size in bytes (descriptor size, not bytes sent). */
  size?: number;
  tag?: string;
  from_repository?: string;
  upload_id?: string;
  references?: {
    digest?: string;
    media_type?: string;
    size?: number;
    platform?: { os?: string; architecture?: string };
  }[];
  instance_id?: string;
  request_host?: string;
  /** True when the HTTP method was HEAD. */
  head?: boolean;
  /** Original event id from the source, when `event.id` is derived. */
  event_id?: string;
  /** Client address as claimed by X-Forwarded-For (client-controlled unless the proxy is trusted). */
  forwarded_for?: string[];
  /**
   * How far `source.ip` can be trusted (shared CASES C07): `peer` when it is the TCP peer the
   * registry saw (an address with a port, or the access log's socket peer), `claimed` when the
   * registry took it from X-Forwarded-For / X-Real-Ip (an address without a port: chosen by the
   * client unless a trusted proxy set it). Unset when the source does not say.
   */
  ip_trust?: 'peer' | 'claimed';
  client_family?: string;
  error?: { code?: string; message?: string; detail?: string };
  quota?: { used_bytes?: number; limit_bytes?: number; percent?: number };
  repo_visibility?: string;
  webhook_policy?: string;
  go_version?: string;
  /** Attempted user name of a failed login, when the registry logs it. */
  attempted_user?: string;
  /**
   * Whether a blob download finished (shared CASES C10): set on a `blob-pull` GET answered `200`
   * when the blob's size is known — from a notification of the same `http.request.id`
   * (Distribution `target.size`/`length`) or from the same event. `partial: true` when
   * `http.response.body.bytes` < `expected_bytes` (the client gave up; the status is still 200),
   * `false` when every byte was written. Absent when the size is unknown, for a `206` range
   * response, and on every other event: absent means "not known", never "complete".
   * The bytes written still count as bytes pulled.
   */
  transfer?: OciTransfer;
  /**
   * True on a later copy of one HTTP request that another stored document already counts
   * (shared CASES C12): the registry reports a request as a notification, an app-log line and an
   * access line; ingest joins them by `http.request.id`, and app-log with access lines by
   * (time to the second, method, path, status, bytes, client). The first copy to arrive counts;
   * every later copy gets `true`. Absent (never `false`) on counting copies, so documents written
   * before the field existed still count: exclude copies with KQL `not oci_registry.duplicate :
   * true` in every count of requests. Bytes: see `duplicate_bytes`. Pulls are counted by
   * `image_pull: true` alone: ingest keeps it on exactly one copy of a request, which may be a
   * duplicate (the app-log line of a manifest GET whose notification or access line arrived
   * first). See services/ingest/src/request-copies.ts.
   */
  duplicate?: boolean;
  /**
   * True on a later copy of one HTTP request whose `http.response.body.bytes` an earlier stored
   * copy already carries (an access line after its app-log line). Sum bytes over
   * `not oci_registry.duplicate_bytes : true` (not over the request-counting copies: the first copy
   * may be a notification, which has no bytes). Absent on every other document.
   */
  duplicate_bytes?: boolean;
}

/** `oci_registry.transfer.*`: see {@link OciRegistryFields.transfer}. */
export interface OciTransfer {
  /** True when fewer bytes were written than the blob's size. */
  partial: boolean;
  /** The blob's size in bytes (descriptor/notification `target.size`), the bytes a full download writes. */
  expected_bytes: number;
}

/** Identity used as the `regwatch.events` partition key and detector state key. */
export function identityOf(e: Pick<RegistryEvent, 'user' | 'source'>): string {
  const name = e.user?.name;
  if (name) return name;
  return `ip:${e.source?.ip ?? 'unknown'}`;
}
