import type { ActorKind } from '../../model/registry-event.ts';

/**
 * Service identities that act for the registry itself (not a person): Harbor's internal
 * components and system operators (`harbor-jobservice` in forwarded audit lines, `auto` for
 * scheduled scans, `harbor#proxy-cache-service` for proxy-cache fills; harbor issue #17201,
 * CASES C06), GC and replication jobs.
 */
const SERVICE_NAMES = new Set([
  'harbor-core',
  'harbor-jobservice',
  'harbor-registry',
  'harbor-registryctl',
  'harbor-registry-client',
  'harbor-exporter',
  'harbor-portal',
  'auto',
  'system',
  'gc',
  'garbage-collection',
  'replication',
  'registry',
]);

/** Names that mean "nobody logged in". */
const ANONYMOUS_NAMES = new Set(['', 'anonymous', '-', '<anonymous>']);

/**
 * Classifies an actor name as ECS-style `oci_registry.actor.kind`.
 * - absent, `""`, `anonymous`, `-` → `anonymous`;
 * - `hints.isRobot` (Quay `performer.is_robot`) → `robot`;
 * - Harbor robots `robot$…` (and `robot_`/`robot-`/`robot+` variants from a custom `robot_name_prefix`),
 *   Quay robots `namespace+name` → `robot`;
 * - registry-internal service accounts (`harbor-jobservice`, `auto`, `harbor#…`, `system:serviceaccount:…`) → `service`;
 * - anything else → `user`.
 */
export function actorKind(name: string | undefined, hints?: { isRobot?: boolean }): ActorKind {
  if (name === undefined || name === null) return 'anonymous';
  // Actor names repeat heavily: classify each distinct name once (bounded memo).
  let kind = KIND_BY_NAME.get(name);
  if (kind === undefined) {
    kind = classifyName(name);
    if (KIND_BY_NAME.size >= 4096) KIND_BY_NAME.clear();
    KIND_BY_NAME.set(name, kind);
  }
  return kind !== 'anonymous' && hints?.isRobot === true ? 'robot' : kind;
}
const KIND_BY_NAME = new Map<string, ActorKind>();

function classifyName(name: string): ActorKind {
  if (ANONYMOUS_NAMES.has(name.trim().toLowerCase())) return 'anonymous';
  const n = name.trim();
  const lower = n.toLowerCase();
  if (/^robot[$_+-]/.test(lower)) return 'robot';
  if (SERVICE_NAMES.has(lower) || lower.startsWith('harbor#') || lower.startsWith('system:serviceaccount:'))
    return 'service';
  // Quay robot accounts are `<namespace>+<shortname>`; an e-mail-like name with `+` is a person.
  if (/^[a-z0-9][a-z0-9._-]*\+[a-z0-9][a-z0-9._-]*$/.test(lower)) return 'robot';
  return 'user';
}
