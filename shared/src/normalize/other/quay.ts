/**
 * Quay audit ("usage") log entry → RegistryEvent, shared by the API source and the Kafka source.
 *
 * Source: ../shared/design/FORMATS.md §1d "Quay" and §1e "Quay"; FORMAT-EDGE-CASES #20, #24, #53;
 * `quay/quay` `util/audit.py` (`track_and_log`), `data/logs_model/elastic_logs.py`.
 *
 * Kind mapping (Quay `LogEntryKind` names): `pull_repo` → `manifest-pull` (image pull),
 * `pull_repo_failed` → `manifest-pull` failure, `push_repo` → `manifest-push`,
 * `push_repo_failed` → `manifest-push` failure, `delete_tag` / `permanently_delete_tag` /
 * `autoprune_tag_delete` → `tag-delete`, `login_success` / `login_failure`, everything else
 * (`revert_tag`, `create_tag`, `delete_repo`, org/team/robot changes …) → `other`.
 * Actor: `performer.name` (API) or `metadata.username`; robots by `performer.is_robot` or the
 * `namespace+name` robot form; no performer → anonymous.
 */
import type { EventAction, EventOutcome, RegistryEvent } from '../../model/registry-event.ts';
import { actorKind } from '../common/actor.ts';
import { parseAddress } from '../common/address.ts';
import { classifyUserAgent } from '../common/useragent.ts';
import type { NormalizeContext, NormalizeResult } from '../types.ts';
import { applyContext } from '../common/event.ts';
import { accept, actorFields, prune } from '../harbor/build.ts';

interface KindMapping {
  action: EventAction;
  category: string[];
  type: string[];
  outcome: EventOutcome;
  objectKind?: 'manifest' | 'tag' | 'repository';
}

const WEB = ['web'];
export const QUAY_KINDS: Readonly<Record<string, KindMapping>> = {
  pull_repo: { action: 'manifest-pull', category: WEB, type: ['access'], outcome: 'success', objectKind: 'manifest' },
  pull_repo_failed: {
    action: 'manifest-pull',
    category: WEB,
    type: ['access', 'error'],
    outcome: 'failure',
    objectKind: 'manifest',
  },
  push_repo: { action: 'manifest-push', category: WEB, type: ['creation'], outcome: 'success', objectKind: 'manifest' },
  push_repo_failed: {
    action: 'manifest-push',
    category: WEB,
    type: ['creation', 'error'],
    outcome: 'failure',
    objectKind: 'manifest',
  },
  delete_tag: { action: 'tag-delete', category: WEB, type: ['deletion'], outcome: 'success', objectKind: 'tag' },
  delete_tag_failed: {
    action: 'tag-delete',
    category: WEB,
    type: ['deletion', 'error'],
    outcome: 'failure',
    objectKind: 'tag',
  },
  permanently_delete_tag: {
    action: 'tag-delete',
    category: WEB,
    type: ['deletion'],
    outcome: 'success',
    objectKind: 'tag',
  },
  autoprune_tag_delete: {
    action: 'tag-delete',
    category: WEB,
    type: ['deletion'],
    outcome: 'success',
    objectKind: 'tag',
  },
  create_tag: { action: 'other', category: WEB, type: ['creation'], outcome: 'success', objectKind: 'tag' },
  move_tag: { action: 'other', category: WEB, type: ['change'], outcome: 'success', objectKind: 'tag' },
  revert_tag: { action: 'other', category: WEB, type: ['change'], outcome: 'success', objectKind: 'tag' },
  create_repo: { action: 'other', category: WEB, type: ['creation'], outcome: 'success', objectKind: 'repository' },
  delete_repo: { action: 'other', category: WEB, type: ['deletion'], outcome: 'success', objectKind: 'repository' },
  login_success: { action: 'login-success', category: ['authentication'], type: ['start'], outcome: 'success' },
  login_failure: { action: 'login-failure', category: ['authentication'], type: ['start'], outcome: 'failure' },
};

const FALLBACK: KindMapping = { action: 'other', category: ['configuration'], type: ['info'], outcome: 'unknown' };

/** One Quay log entry after format-specific decoding. */
export interface QuayEntry {
  /** LogEntryKind name; undefined when only an unknown `kind_id` is known. */
  kind?: string;
  kindId?: number;
  metadata: Record<string, unknown>;
  ip?: string;
  /** UTC ISO `@timestamp`. */
  timestamp: string;
  /** Source time as written, when it differs. */
  originalTimestamp?: string;
  performerName?: string;
  performerIsRobot?: boolean;
  /** True when the source says someone performed it although the name is unknown (Kafka `performer_id`). */
  performerKnown?: boolean;
  eventId: string;
  sourceFormat: 'quay-api' | 'quay-kafka';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Builds the event for one Quay entry. Never throws. */
export function quayEvent(e: QuayEntry, raw: string, ctx: NormalizeContext): NormalizeResult {
  const mapping = (e.kind ? QUAY_KINDS[e.kind] : undefined) ?? FALLBACK;
  const md = e.metadata;
  const ns = str(md.namespace);
  const repo = str(md.repo);
  const repository = repo ? (ns ? `${ns}/${repo}` : repo) : undefined;
  const tag = str(md.tag);
  const digest = str(md.manifest_digest);
  const ua = str(md['user-agent']);
  const name = e.performerName ?? str(md.username);
  const actorInfo = actorFields(
    name,
    actorKind(name, e.performerIsRobot === undefined ? {} : { isRobot: e.performerIsRobot }),
  );
  // Kafka entries name the performer only by id: someone authenticated, name unknown.
  if (!name && e.performerKnown) actorInfo.actor = { kind: 'user', anonymous: false };
  const isLogin = mapping.action === 'login-failure';
  const message = e.kind
    ? `${e.kind}${repository ? ` ${repository}` : ''}${tag ? `:${tag}` : digest ? `@${digest}` : ''}`
    : `quay log kind_id ${String(e.kindId)} (not in the configured kind table)`;
  const client = classifyUserAgent(ua);

  const event: RegistryEvent = {
    '@timestamp': e.timestamp,
    message,
    event: {
      kind: 'event',
      category: [...mapping.category],
      type: [...mapping.type],
      action: mapping.action,
      outcome: mapping.outcome,
      id: e.eventId,
      dataset: 'quay.audit',
    },
    ...(actorInfo.user ? { user: actorInfo.user } : {}),
    source: parseAddress(e.ip),
    user_agent: { original: ua },
    container: {
      image: {
        name: repository,
        tag: tag ? [tag] : undefined,
        hash: digest ? { all: [digest] } : undefined,
      },
    },
    service: { type: 'quay' },
    oci_registry: {
      image_pull: mapping.action === 'manifest-pull' && mapping.outcome === 'success',
      actor: actorInfo.actor,
      source_format: e.sourceFormat,
      ...(e.originalTimestamp ? { original_timestamp: e.originalTimestamp } : {}),
      repository,
      namespace: ns,
      digest,
      tag,
      object_kind: mapping.objectKind,
      client_family: client.family === 'unknown' ? undefined : client.family,
      attempted_user: isLogin ? name : undefined,
    },
  };
  applyContext(event, raw, ctx);
  return accept(prune(event));
}
