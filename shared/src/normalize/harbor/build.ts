/**
 * Small building blocks shared by the Harbor and other-registry sources: rejection results,
 * pruning of absent values, actor fields and timestamps (thin wrappers over ../common).
 */
import type { ActorKind, RegistryEvent } from '../../model/registry-event.ts';
import type { NormalizeResult, RejectReason } from '../types.ts';
import { toUtcTimestamp } from '../common/time.ts';

/** A typed rejection (never thrown). `detail` must not contain secrets. */
export function reject(reason: RejectReason, detail: string, original: string): NormalizeResult {
  return { kind: 'rejected', reason, detail, original };
}

/** Wraps a finished event. */
export function accept(event: RegistryEvent): NormalizeResult {
  return { kind: 'event', event };
}

/** Copy of `o` without `undefined`/`null`/`''` values, empty arrays and empty objects; undefined when nothing is left. */
function clean(o: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    let v = o[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object') {
      if (Array.isArray(v)) {
        if (v.length === 0) continue;
      } else {
        v = clean(v as Record<string, unknown>);
        if (v === undefined) continue;
      }
    }
    (out ??= {})[k] = v;
  }
  return out;
}

/**
 * A freshly built event without absent values (registry-event.ts: "Absent values are omitted,
 * never `""`"): `undefined`, `null`, `''`, empty arrays and empty objects are dropped. Builds a new
 * object (no `delete`, which would push V8 objects into slow dictionary mode).
 */
export function prune<T extends object>(obj: T): T {
  return (clean(obj as Record<string, unknown>) ?? {}) as T;
}

/** Upper bound for plausible event times: 2200-01-01T00:00:00Z in Unix seconds. */
const MAX_UNIX_SECONDS = 7258118400;

/**
 * Unix seconds (Harbor `occur_at`) → UTC ISO 8601 as common/time.ts writes it
 * (`2024-02-15T01:38:29.000Z`). Returns `undefined` for non-finite, negative or implausibly large
 * values (milliseconds sent by mistake are rejected, not guessed: Harbor documents seconds).
 */
export function unixSecondsToIso(seconds: number): string | undefined {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= MAX_UNIX_SECONDS) return undefined;
  return toUtcTimestamp(seconds, { epochUnit: 's' })?.timestamp;
}

/**
 * Any date-time text a Harbor/Quay/Artifactory/Nexus source writes (RFC 3339, Go `Time.String()`
 * with monotonic suffix, RFC 2822, Apache `[dd/Mon/yyyy:…]`, naive ISO in `naiveZone`) → UTC ISO
 * via common/time.ts. Returns `undefined` when unparseable.
 */
export function timeToUtc(raw: string, naiveZone?: string): string | undefined {
  return toUtcTimestamp(raw, naiveZone ? { naiveZone } : {})?.timestamp;
}

/** `user` + `oci_registry.actor` for a name (anonymous → no `user.name`). */
export function actorFields(
  name: string | undefined,
  kind: ActorKind,
): { user?: { name: string }; actor: { kind: ActorKind; anonymous: boolean } } {
  const anonymous = kind === 'anonymous';
  return anonymous || !name
    ? { actor: { kind: 'anonymous', anonymous: true } }
    : { user: { name }, actor: { kind, anonymous: false } };
}
