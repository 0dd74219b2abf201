/**
 * Explicit Elasticsearch mappings for everything regwatch writes. These objects are the single
 * source of truth: `templates.ts` wraps them in component templates, and the dashboard checks
 * read them to prove every field a panel uses exists with a compatible type.
 *
 * Types: ECS 8.x (elastic/ecs `schemas/*.yml`) for ECS fields; custom fields under
 * `oci_registry.*`. Only core mapping types are used (keyword, text, long, double, boolean, ip,
 * date, date_nanos, nested, object, alias) so the templates install on minimal distributions
 * too (no mapper-extras `match_only_text`/`scaled_float`, no `wildcard`, no `constant_keyword`).
 * Durations are `long` nanoseconds (ECS `event.duration`), sizes `long` bytes.
 */

export type MappingProperty = Record<string, unknown>;
export type Properties = Record<string, MappingProperty>;

/** keyword with ECS' default `ignore_above` (over-long values are kept in _source, not indexed). */
export const kw = (ignoreAbove = 1024): MappingProperty => ({ type: 'keyword', ignore_above: ignoreAbove });
const long = (): MappingProperty => ({ type: 'long' });
const dbl = (): MappingProperty => ({ type: 'double' });
const bool = (): MappingProperty => ({ type: 'boolean' });
const ip = (): MappingProperty => ({ type: 'ip' });
const date = (): MappingProperty => ({ type: 'date' });
const obj = (properties: Properties): MappingProperty => ({ properties });

/** `data_stream.*` (ECS): keyword here because constant_keyword needs an x-pack mapper module. */
const dataStreamFields: Properties = {
  data_stream: obj({ type: kw(), dataset: kw(), namespace: kw() }),
};

/** Mappings of the normalized RegistryEvent (shared/src/model/registry-event.ts). */
export const EVENT_MAPPINGS = {
  dynamic: false,
  date_detection: false,
  properties: {
    '@timestamp': { type: 'date_nanos' },
    message: { type: 'text' },
    ...dataStreamFields,
    event: obj({
      kind: kw(),
      category: kw(),
      type: kw(),
      action: kw(),
      outcome: kw(),
      id: kw(),
      dataset: kw(),
      duration: long(),
      original: { type: 'keyword', index: false, doc_values: false },
      created: { type: 'date_nanos' },
      ingested: { type: 'date_nanos' },
    }),
    log: obj({ level: kw(), logger: kw(), file: obj({ path: kw() }), offset: long() }),
    user: obj({ name: kw(), roles: kw() }),
    source: obj({ ip: ip(), port: long(), address: kw() }),
    client: obj({ ip: ip(), address: kw() }),
    user_agent: obj({
      original: { type: 'keyword', ignore_above: 1024, fields: { text: { type: 'text' } } },
      name: kw(),
      version: kw(),
    }),
    http: obj({
      version: kw(),
      request: obj({ id: kw(), method: kw(), referrer: kw(8191), mime_type: kw() }),
      response: obj({ status_code: long(), body: obj({ bytes: long() }), mime_type: kw() }),
    }),
    url: obj({
      path: kw(8191),
      query: kw(8191),
      original: { type: 'keyword', ignore_above: 8191, fields: { text: { type: 'text' } } },
      domain: kw(),
      port: long(),
      full: kw(8191),
    }),
    container: obj({ image: obj({ name: kw(), tag: kw(), hash: obj({ all: kw() }) }) }),
    service: obj({
      type: kw(),
      name: kw(),
      environment: kw(),
      version: kw(),
      node: obj({ name: kw() }),
      ephemeral_id: kw(),
    }),
    error: obj({ message: { type: 'text' }, code: kw() }),
    oci_registry: obj({
      image_pull: bool(),
      actor: obj({ kind: kw(), anonymous: bool() }),
      source_format: kw(),
      original_timestamp: kw(),
      repository: kw(),
      namespace: kw(),
      digest: kw(),
      media_type: kw(),
      object_kind: kw(),
      size: long(),
      tag: kw(),
      from_repository: kw(),
      upload_id: kw(),
      references: {
        type: 'nested',
        properties: {
          digest: kw(),
          media_type: kw(),
          size: long(),
          platform: obj({ os: kw(), architecture: kw() }),
        },
      },
      instance_id: kw(),
      request_host: kw(),
      head: bool(),
      event_id: kw(),
      forwarded_for: kw(),
      ip_trust: kw(),
      client_family: kw(),
      error: obj({ code: kw(), message: kw(8191), detail: kw(8191) }),
      quota: obj({ used_bytes: long(), limit_bytes: long(), percent: dbl() }),
      repo_visibility: kw(),
      webhook_policy: kw(),
      go_version: kw(),
      attempted_user: kw(),
      transfer: obj({ partial: bool(), expected_bytes: long() }),
      duplicate: bool(),
      duplicate_bytes: bool(),
    }),
  },
} as const satisfies Record<string, unknown>;

/** Strings nobody declared become keyword (aggregatable) instead of text + keyword. */
const STRINGS_AS_KEYWORD = [{ strings_as_keyword: { match_mapping_type: 'string', mapping: kw() } }];

/**
 * Mapping of a regwatch plain index: explicit `properties`, other strings mapped as keyword,
 * no date detection (every date field is declared).
 */
function plainIndex(properties: Properties): Record<string, unknown> {
  return { dynamic: true, date_detection: false, dynamic_templates: STRINGS_AS_KEYWORD, properties };
}

const measure = (): MappingProperty => obj({ value: dbl(), unit: kw(), lower: dbl(), upper: dbl() });

/**
 * Findings (shared/src/model/finding.ts, `findingSchema`). `user.name` and `source.ip` are field
 * aliases of `entity.id`, so a dashboard filter on an identity (`user.name: alice`) also selects
 * that identity's findings.
 */
export const FINDING_MAPPINGS = plainIndex({
  id: kw(),
  rule: kw(),
  severity: kw(),
  score: dbl(),
  status: kw(),
  entity: obj({ type: kw(), id: kw() }),
  window: obj({ start: date(), end: date() }),
  observed: measure(),
  expected: measure(),
  evidence: obj({
    repositories: obj({ name: kw(), count: long() }),
    source_ips: obj({ ip: kw(), count: long() }),
    user_agents: obj({ name: kw(), count: long() }),
    sample_event_ids: kw(),
    extra: { type: 'object', enabled: false },
  }),
  message: { type: 'keyword', ignore_above: 4096, fields: { text: { type: 'text' } } },
  links: obj({ discover: { type: 'keyword', index: false, doc_values: false } }),
  labels: { type: 'object', dynamic: true },
  detected_at: date(),
  user: obj({ name: { type: 'alias', path: 'entity.id' } }),
  source: obj({ ip: { type: 'alias', path: 'entity.id' } }),
});

/**
 * One alert delivery attempt. Document shape (written by the alerts service):
 * `@timestamp` (attempt time), `event.action` (`notify` | `resolve`), `event.outcome`
 * (`success` | `failure`), `event.duration` (ns), `oci_registry.alert.{finding_id, rule,
 * severity, status, receiver, channel, group_key, attempt, result (ok|retryable|failed),
 * retry_after_s}`, `http.response.status_code`, `error.message`.
 */
export const DELIVERY_MAPPINGS = plainIndex({
  '@timestamp': date(),
  event: obj({ action: kw(), outcome: kw(), duration: long(), id: kw() }),
  oci_registry: obj({
    alert: obj({
      finding_id: kw(),
      rule: kw(),
      severity: kw(),
      status: kw(),
      receiver: kw(),
      channel: kw(),
      group_key: kw(),
      attempt: long(),
      result: kw(),
      retry_after_s: dbl(),
    }),
  }),
  http: obj({ response: obj({ status_code: long() }) }),
  error: obj({ message: kw(4096), code: kw() }),
});

/** Alert state (dedupe, throttle, group and silence bookkeeping), one document per key. */
export const ALERT_STATE_MAPPINGS = plainIndex({
  '@timestamp': date(),
  key: kw(),
  kind: kw(),
  finding_id: kw(),
  rule: kw(),
  status: kw(),
  receiver: kw(),
  first_sent_at: date(),
  last_sent_at: date(),
  next_allowed_at: date(),
  send_count: long(),
  expires_at: date(),
  owner: kw(),
  /** Epoch ms when a group is due to flush (alerts service). */
  due_at: long(),
  /** Serialized group state: kept in _source only (can exceed the 32 KB keyword term limit). */
  state_json: { type: 'keyword', index: false, doc_values: false },
  firing_json: { type: 'keyword', index: false, doc_values: false },
});

/**
 * Storage samples. Shape: `@timestamp` (sample time), `oci_registry.storage.{scope (the sample's
 * scope id as the collector writes it: `fs:<storage root>`, `harbor:<project>`, `events:<…>`),
 * source (statfs|harbor_quota|events), used.bytes, capacity.bytes, used.pct (0–1),
 * gc.freed.bytes}`; a garbage collection drop is a sample with `gc.freed.bytes` > 0.
 */
export const STORAGE_MAPPINGS = plainIndex({
  '@timestamp': date(),
  oci_registry: obj({
    instance_id: kw(),
    namespace: kw(),
    repository: kw(),
    storage: obj({
      scope: kw(),
      source: kw(),
      used: obj({ bytes: long(), pct: dbl() }),
      capacity: obj({ bytes: long() }),
      gc: obj({ freed: obj({ bytes: long() }) }),
    }),
  }),
});

/**
 * Forecast points. Shape: `@timestamp` (the future time the point is for),
 * `oci_registry.instance_id`, `oci_registry.forecast.{scope, generated_at, method,
 * used.bytes, used.lower.bytes, used.upper.bytes, capacity.bytes, days_to_85, days_to_100}`
 * (`days_to_*` in days, absent when usage is not growing).
 */
export const FORECAST_MAPPINGS = plainIndex({
  '@timestamp': date(),
  oci_registry: obj({
    instance_id: kw(),
    namespace: kw(),
    forecast: obj({
      scope: kw(),
      generated_at: date(),
      method: kw(),
      used: obj({ bytes: long(), lower: obj({ bytes: long() }), upper: obj({ bytes: long() }) }),
      capacity: obj({ bytes: long() }),
      days_to_85: dbl(),
      days_to_100: dbl(),
    }),
  }),
});

/**
 * Pipeline health samples (periodic, written by the ingest service's pipeline-stats sampler,
 * services/ingest/src/pipeline-stats.ts). Shape: `@timestamp` (sample time), `service.{name,
 * node.name}`, `oci_registry.pipeline.{consumer_group, topic, partition, consumer_lag (messages
 * behind the log end offset), committed_offset, log_end_offset, messages_consumed, events_indexed,
 * events_duplicates (counts since the previous sample), dlq.reason, dlq.count}`. Three document
 * kinds share it: one per (group, topic, partition) with the lag and offsets; one per sample with
 * the counters; one per dead-letter reason with `dlq.*` (only when that reason's count > 0).
 */
export const PIPELINE_MAPPINGS = plainIndex({
  '@timestamp': date(),
  service: obj({ name: kw(), node: obj({ name: kw() }) }),
  oci_registry: obj({
    pipeline: obj({
      topic: kw(),
      partition: long(),
      consumer_group: kw(),
      consumer_lag: long(),
      committed_offset: long(),
      log_end_offset: long(),
      messages_consumed: long(),
      events_indexed: long(),
      events_duplicates: long(),
      dlq: obj({ reason: kw(), count: long() }),
    }),
  }),
});
