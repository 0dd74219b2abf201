/**
 * Harbor audit record → RegistryEvent, shared by the REST API source (`/api/v2.0/audit-logs`,
 * `/api/v2.0/auditlog-exts`) and the forwarded-syslog source.
 *
 * Source: ../shared/design/FORMATS.md §1c.5, §1c.6 and §1e "Harbor audit record"; Harbor
 * `src/pkg/audit/model/model.go`, `src/pkg/auditext/model/model.go`, `src/pkg/auditext/manager.go`,
 * `src/pkg/auditext/event/login/login.go`.
 *
 * Action mapping (`operation` + `resource_type`):
 *  - `pull` + artifact → `manifest-pull` (`image_pull: true` when the outcome is success)
 *  - `create` + artifact → `manifest-push`; `delete` + artifact → `manifest-delete`
 *  - `delete` + tag → `tag-delete`
 *  - `login` → `login-success`, or `login-failure` when `operation_result` is false. A failed
 *    login keeps the attempted name in `user.name` (ECS practice) and `oci_registry.attempted_user`.
 *  - everything else → `other` (category iam/configuration/web by resource type).
 * Outcome: `operation_result` when present; legacy `audit_log` rows have no result and are
 * written only for completed operations → `success`; forwarded syslog lines carry no result
 * (Harbor prints only action/resource/description), so their outcome is `unknown` for logins
 * (Harbor forwards failed logins too) and `success` for artifact operations.
 */
import type { EventAction, EventOutcome, RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { actorKind as classifyActor } from '../common/actor.ts';
import { isDigest, namespaceOf } from '../common/repository.ts';
import { accept, actorFields, prune } from './build.ts';
import { harborTag, splitArtifactRef } from './resource.ts';

export interface AuditRecord {
  /** Source id (API `id` / Harbor 1.x `log_id`); absent for syslog lines. */
  id?: string;
  username: string;
  operation: string;
  /** `artifact`, `tag`, `repository`, `user`, `project` …; absent on pre-2.6 syslog lines. */
  resourceType?: string;
  resource: string;
  description?: string;
  /** `operation_result`; undefined when the source does not record it. */
  result?: boolean;
  /** UTC ISO `@timestamp`. */
  timestamp: string;
  /** Source timestamp as written, when it differs from `@timestamp`. */
  originalTimestamp?: string;
  sourceFormat: string;
  eventId: string;
  /** True for syslog lines (no result field at all). */
  forwarded?: boolean;
}

const ARTIFACT_TYPES = new Set(['artifact', 'tag', 'repository']);
const IAM_TYPES = new Set(['user', 'robot', 'member', 'role', 'user_group', 'usergroup']);

function resourceKind(r: AuditRecord): string {
  if (r.resourceType) return r.resourceType.toLowerCase();
  const op = r.operation.toLowerCase();
  if (op === 'login' || op === 'logout') return 'user';
  // Pre-2.6 syslog lines: a repository path (`project/name[:ref]`) is an artifact/repository.
  if (!r.resource.includes('/')) return 'unknown';
  const ref = splitArtifactRef(r.resource);
  return ref?.tag || ref?.digest ? 'artifact' : 'repository';
}

interface Mapped {
  action: EventAction;
  category: string[];
  type: string[];
  outcome: EventOutcome;
}

function mapRecord(r: AuditRecord, kind: string): Mapped {
  const op = r.operation.toLowerCase();
  const resultOutcome: EventOutcome = r.result === undefined ? 'success' : r.result ? 'success' : 'failure';
  const failed = resultOutcome === 'failure';
  const web = (action: EventAction, type: string): Mapped => ({
    action,
    category: ['web'],
    type: failed ? [type, 'denied'] : [type],
    outcome: resultOutcome,
  });
  if (op === 'login') {
    const outcome: EventOutcome = r.result === undefined ? (r.forwarded ? 'unknown' : 'success') : resultOutcome;
    return {
      action: outcome === 'failure' ? 'login-failure' : 'login-success',
      category: ['authentication'],
      type: ['start'],
      outcome,
    };
  }
  if (op === 'logout') return { action: 'other', category: ['authentication'], type: ['end'], outcome: resultOutcome };
  if (kind === 'artifact') {
    if (op === 'pull') return web('manifest-pull', 'access');
    if (op === 'create') return web('manifest-push', 'creation');
    if (op === 'delete') return web('manifest-delete', 'deletion');
  }
  if (kind === 'tag' && op === 'delete') return web('tag-delete', 'deletion');
  const type = op === 'create' ? 'creation' : op === 'delete' ? 'deletion' : op === 'pull' ? 'access' : 'change';
  const category = ARTIFACT_TYPES.has(kind) ? ['web'] : IAM_TYPES.has(kind) ? ['iam'] : ['configuration'];
  return { action: 'other', category, type: failed ? [type, 'denied'] : [type], outcome: resultOutcome };
}

/** `pull artifact: team-a/app@sha256:…` → the digest, when the description names one. */
function digestFromDescription(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const m = /@([a-z0-9]+:[a-zA-Z0-9=_-]{32,})/.exec(description);
  return m?.[1] && isDigest(m[1]) ? m[1] : undefined;
}

/** Builds the event for one audit record. Never throws. */
export function auditEvent(r: AuditRecord, raw: string, ctx: NormalizeContext): NormalizeResult {
  const kind = resourceKind(r);
  const mapped = mapRecord(r, kind);
  const isArtifactish = ARTIFACT_TYPES.has(kind);
  const ref = isArtifactish ? splitArtifactRef(r.resource) : undefined;
  const digest = ref?.digest ?? (isArtifactish ? digestFromDescription(r.description) : undefined);
  const tag = harborTag(ref?.tag, digest);
  const repository = ref?.repository;
  const name = r.username;
  const { user, actor } = actorFields(name, classifyActor(name));
  const isLogin = mapped.action === 'login-success' || mapped.action === 'login-failure';

  const event: RegistryEvent = {
    '@timestamp': r.timestamp,
    event: {
      kind: 'event',
      category: mapped.category,
      type: mapped.type,
      action: mapped.action,
      outcome: mapped.outcome,
      id: r.eventId,
      dataset: 'harbor.audit',
    },
    message: r.description ?? `${r.operation} ${kind === 'unknown' ? '' : `${kind} `}${r.resource}`.trim(),
    ...(user ? { user } : {}),
    container: {
      image: {
        ...(repository ? { name: repository } : {}),
        ...(tag ? { tag: [tag] } : {}),
        ...(digest ? { hash: { all: [digest] } } : {}),
      },
    },
    service: { type: 'harbor', ...(ctx.harborHost ? { node: { name: ctx.harborHost } } : {}) },
    oci_registry: {
      image_pull: mapped.action === 'manifest-pull' && mapped.outcome === 'success',
      actor,
      source_format: r.sourceFormat,
      ...(r.originalTimestamp ? { original_timestamp: r.originalTimestamp } : {}),
      repository,
      namespace: repository ? namespaceOf(repository) : undefined,
      digest,
      tag,
      object_kind:
        kind === 'artifact' ? 'manifest' : kind === 'tag' ? 'tag' : kind === 'repository' ? 'repository' : undefined,
      event_id: r.id,
      attempted_user: isLogin && mapped.outcome === 'failure' ? name : undefined,
    },
  };
  applyContext(event, raw, ctx);
  return accept(prune(event));
}
