/**
 * Harbor webhook `event_data` → RegistryEvent mapping shared by the Default and CloudEvents
 * formats (the CloudEvents `data` is the Default payload's `event_data`).
 *
 * Source: ../shared/design/FORMATS.md §1c.1–§1c.4 and §1e "Harbor webhook"; FORMAT-EDGE-CASES.md
 * #3, #19, #23, #31, #35, #37, #52; case C06. Harbor code: `src/pkg/notifier/model/event.go`,
 * `src/controller/event/handler/webhook/*`.
 *
 * One webhook body can list several `resources[]`: we emit **one event per resource** (each is one
 * artifact operation), all sharing time, operator and repository. A body with no resources
 * (replication, retention, some quota payloads) gives one event without artifact fields.
 */
import { z } from 'zod';
import type { EventAction, EventOutcome, RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { isObj, nullishNum, nullishRecord, nullishStr } from '../common/shape.ts';
import { actorKind } from '../common/actor.ts';
import { namespaceOf } from '../common/repository.ts';
import { accept, actorFields, prune } from './build.ts';
import { parseQuotaDetails } from './quota.ts';
import { harborTag, parseResourceUrl } from './resource.ts';

const ResourceSchema = z.looseObject({
  digest: z.string().nullish(),
  tag: z.string().nullish(),
  resource_url: z.string().nullish(),
  scan_overview: z.record(z.string(), z.unknown()).nullish(),
});

const RepositorySchema = z.looseObject({
  date_created: z.number().nullish(),
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  repo_full_name: z.string().nullish(),
  repo_type: z.string().nullish(),
});

/** `event_data` (Default) / `data` (CloudEvents). Go nil slices arrive as `null`. */
export const HarborEventDataSchema = z.looseObject({
  resources: z.array(ResourceSchema).nullish(),
  repository: RepositorySchema.nullish(),
  custom_attributes: z.record(z.string(), z.unknown()).nullish(),
  replication: z.record(z.string(), z.unknown()).nullish(),
  retention: z.record(z.string(), z.unknown()).nullish(),
  scan: z.looseObject({ scan_type: z.string().nullish() }).nullish(),
});
export type HarborEventData = z.infer<typeof HarborEventDataSchema>;

function isResource(v: unknown): boolean {
  return (
    isObj(v) &&
    nullishStr(v.digest) &&
    nullishStr(v.tag) &&
    nullishStr(v.resource_url) &&
    nullishRecord(v.scan_overview)
  );
}

/**
 * Hot-path stand-in for {@link HarborEventDataSchema}: true only for values the schema accepts too
 * (callers fall back to the schema, which also gives the error text), so `v` can be read directly.
 */
export function isHarborEventData(v: unknown): v is HarborEventData {
  if (!isObj(v)) return false;
  const rs = v.resources;
  if (rs !== undefined && rs !== null) {
    if (!Array.isArray(rs)) return false;
    for (const r of rs) if (!isResource(r)) return false;
  }
  const repo = v.repository;
  if (repo !== undefined && repo !== null) {
    if (!isObj(repo) || !nullishNum(repo.date_created) || !nullishStr(repo.name)) return false;
    if (!nullishStr(repo.namespace) || !nullishStr(repo.repo_full_name) || !nullishStr(repo.repo_type)) return false;
  }
  if (!nullishRecord(v.custom_attributes) || !nullishRecord(v.replication) || !nullishRecord(v.retention)) return false;
  const scan = v.scan;
  return scan === undefined || scan === null || (isObj(scan) && nullishStr(scan.scan_type));
}
type HarborResource = z.infer<typeof ResourceSchema>;

/** Harbor event type (`src/controller/event/topic.go`) → our mapping. */
interface TypeMapping {
  action: EventAction;
  category: string[];
  type: string[];
  outcome: EventOutcome;
  objectKind?: 'manifest' | 'tag' | 'repository';
}

const WEB = ['web'];
export const HARBOR_WEBHOOK_TYPES: Readonly<Record<string, TypeMapping>> = {
  PUSH_ARTIFACT: {
    action: 'manifest-push',
    category: WEB,
    type: ['creation'],
    outcome: 'success',
    objectKind: 'manifest',
  },
  PULL_ARTIFACT: {
    action: 'manifest-pull',
    category: WEB,
    type: ['access'],
    outcome: 'success',
    objectKind: 'manifest',
  },
  DELETE_ARTIFACT: {
    action: 'manifest-delete',
    category: WEB,
    type: ['deletion'],
    outcome: 'success',
    objectKind: 'manifest',
  },
  DELETE_TAG: { action: 'tag-delete', category: WEB, type: ['deletion'], outcome: 'success', objectKind: 'tag' },
  CREATE_TAG: { action: 'other', category: WEB, type: ['creation'], outcome: 'success', objectKind: 'tag' },
  DELETE_REPOSITORY: {
    action: 'other',
    category: WEB,
    type: ['deletion'],
    outcome: 'success',
    objectKind: 'repository',
  },
  QUOTA_WARNING: { action: 'quota-warning', category: WEB, type: ['info'], outcome: 'success' },
  QUOTA_EXCEED: { action: 'quota-exceeded', category: WEB, type: ['denied'], outcome: 'failure' },
  SCANNING_COMPLETED: { action: 'scan-completed', category: ['vulnerability'], type: ['info'], outcome: 'success' },
  SCANNING_FAILED: { action: 'scan-failed', category: ['vulnerability'], type: ['info', 'error'], outcome: 'failure' },
  SCANNING_STOPPED: { action: 'other', category: ['vulnerability'], type: ['info'], outcome: 'unknown' },
  REPLICATION: { action: 'replication', category: ['configuration'], type: ['change'], outcome: 'unknown' },
  TAG_RETENTION: { action: 'other', category: ['configuration'], type: ['deletion'], outcome: 'unknown' },
  ARTIFACT_LABELED: { action: 'other', category: ['configuration'], type: ['change'], outcome: 'success' },
  CREATE_PROJECT: { action: 'other', category: ['configuration'], type: ['creation'], outcome: 'success' },
  DELETE_PROJECT: { action: 'other', category: ['configuration'], type: ['deletion'], outcome: 'success' },
  CREATE_ROBOT: { action: 'other', category: ['iam'], type: ['creation'], outcome: 'success' },
  DELETE_ROBOT: { action: 'other', category: ['iam'], type: ['deletion'], outcome: 'success' },
  COMMON_API: { action: 'other', category: ['configuration'], type: ['info'], outcome: 'unknown' },
};

/** CloudEvents `type` (`src/pkg/notifier/formats/cloudevents.go`) → Harbor event type. */
export const CLOUDEVENTS_TYPES: Readonly<Record<string, string>> = {
  'harbor.artifact.pushed': 'PUSH_ARTIFACT',
  'harbor.artifact.pulled': 'PULL_ARTIFACT',
  'harbor.artifact.deleted': 'DELETE_ARTIFACT',
  'harbor.quota.exceeded': 'QUOTA_EXCEED',
  'harbor.quota.warned': 'QUOTA_WARNING',
  'harbor.scan.completed': 'SCANNING_COMPLETED',
  'harbor.scan.failed': 'SCANNING_FAILED',
  'harbor.scan.stopped': 'SCANNING_STOPPED',
  'harbor.replication.status.changed': 'REPLICATION',
  'harbor.tag_retention.finished': 'TAG_RETENTION',
};

/** Everything about one webhook delivery that is not in `event_data`. */
export interface WebhookEnvelope {
  /** Harbor event type (`PUSH_ARTIFACT` …), already known to be in HARBOR_WEBHOOK_TYPES. */
  harborType: string;
  /** UTC ISO `@timestamp`. */
  timestamp: string;
  /** Raw `operator` (may be `""`). */
  operator: string;
  sourceFormat: 'harbor-default' | 'harbor-cloudevents';
  /** Builds `event.id` for the resource at `index` (undefined resource when there are none). */
  idFor(resource: HarborResource | undefined, index: number, count: number): string;
  /** CloudEvents `id` (kept in `oci_registry.event_id`). */
  eventId?: string;
  requestId?: string;
  policy?: string;
}

function scanMessage(resource: HarborResource | undefined, harborType: string): string | undefined {
  const overview = resource?.scan_overview;
  if (!overview) return undefined;
  for (const [mime, value] of Object.entries(overview)) {
    if (!value || typeof value !== 'object') continue;
    const r = value as Record<string, unknown>;
    const summary = r.summary as Record<string, unknown> | undefined;
    const scanner = r.scanner as Record<string, unknown> | undefined;
    const parts = [`${harborType.toLowerCase()}: status ${String(r.scan_status ?? 'unknown')}`];
    if (typeof r.severity === 'string') parts.push(`severity ${r.severity}`);
    if (summary && typeof summary.total === 'number') {
      parts.push(
        `${summary.total} vulnerabilities${typeof summary.fixable === 'number' ? ` (${summary.fixable} fixable)` : ''}`,
      );
    }
    if (scanner && typeof scanner.name === 'string') {
      parts.push(`scanner ${scanner.name}${typeof scanner.version === 'string' ? ` ${scanner.version}` : ''}`);
    }
    parts.push(`report ${mime}`);
    return parts.join(', ');
  }
  return undefined;
}

function replicationOutcome(rep: Record<string, unknown> | null | undefined): EventOutcome {
  const status = typeof rep?.job_status === 'string' ? rep.job_status.toLowerCase() : '';
  if (status === 'success' || status === 'succeed' || status === 'finished') return 'success';
  if (status === 'failed' || status === 'failure' || status === 'error' || status === 'stopped') return 'failure';
  return 'unknown';
}

/**
 * Builds one event per resource of a validated `event_data`. Never throws; values are already
 * schema-checked. Returns `NormalizeResult[]` of kind `event`.
 */
export function webhookEvents(
  env: WebhookEnvelope,
  data: HarborEventData,
  raw: string,
  ctx: NormalizeContext,
): NormalizeResult[] {
  const mapping = HARBOR_WEBHOOK_TYPES[env.harborType];
  if (!mapping) return [];
  const repo = data.repository ?? undefined;
  const resources: (HarborResource | undefined)[] = data.resources?.length ? data.resources : [undefined];
  const details = data.custom_attributes?.Details;
  const detailsText = typeof details === 'string' ? details : undefined;
  const quota = detailsText ? parseQuotaDetails(detailsText) : undefined;
  const kind = actorKind(env.operator);
  const { user, actor } = actorFields(env.operator, kind);
  const isCacheFill = env.harborType === 'PUSH_ARTIFACT' && env.operator.startsWith('harbor#proxy-cache');
  const action: EventAction = isCacheFill ? 'cache-fill' : mapping.action;
  const outcome = env.harborType === 'REPLICATION' ? replicationOutcome(data.replication) : mapping.outcome;

  return resources.map((resource, index) => {
    const digest = resource?.digest ?? undefined;
    const url = resource?.resource_url ? parseResourceUrl(resource.resource_url) : undefined;
    // Repository from repo_full_name (C06: not parsed from the URL); URL only as a fallback.
    const repository = repo?.repo_full_name ?? url?.repository;
    const tag = harborTag(resource?.tag ?? undefined, digest) ?? harborTag(url?.tag, digest);
    const namespace = repo?.namespace ?? (repository ? namespaceOf(repository) : undefined);
    const message =
      detailsText ??
      (mapping.category[0] === 'vulnerability' ? scanMessage(resource, env.harborType) : undefined) ??
      undefined;

    const event: RegistryEvent = {
      '@timestamp': env.timestamp,
      event: {
        kind: 'event',
        category: [...mapping.category],
        type: [...mapping.type],
        action,
        outcome,
        id: env.idFor(resource, index, resources.length),
        dataset: 'harbor.webhook',
      },
      ...(message ? { message } : {}),
      ...(user ? { user } : {}),
      ...(env.requestId ? { http: { request: { id: env.requestId } } } : {}),
      ...(url?.host ? { url: { domain: url.host } } : {}),
      container: {
        image: {
          ...(repository ? { name: repository } : {}),
          ...(tag ? { tag: [tag] } : {}),
          ...(digest ? { hash: { all: [digest] } } : {}),
        },
      },
      service: { type: 'harbor' },
      oci_registry: {
        image_pull: env.harborType === 'PULL_ARTIFACT',
        actor,
        source_format: env.sourceFormat,
        repository,
        namespace,
        digest,
        tag,
        object_kind: resource ? mapping.objectKind : mapping.objectKind === 'repository' ? 'repository' : undefined,
        repo_visibility: repo?.repo_type ?? undefined,
        request_host: url?.host,
        event_id: env.eventId,
        webhook_policy: env.policy,
        quota: quota
          ? { used_bytes: quota.used_bytes, limit_bytes: quota.limit_bytes, percent: quota.percent }
          : undefined,
      },
    };
    applyContext(event, raw, ctx);
    return accept(prune(event));
  });
}
