import { createHash } from 'node:crypto';
import { z } from 'zod';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';

/**
 * A storage usage sample as posted to `/v1/storage` or published to `regwatch.storage` by the
 * collector: `timestamp` ISO 8601 (or epoch ms), sizes in bytes, `scope` = registry|namespace|repository
 * name the sample covers. Optional `source` (statfs | harbor-quota | reconstructed), `instance_id`.
 */
export const storageSampleSchema = z.object({
  timestamp: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]),
  used_bytes: z.number().int().nonnegative(),
  capacity_bytes: z.number().int().positive().optional(),
  scope: z.string().min(1),
  source: z.string().min(1).optional(),
  instance_id: z.string().min(1).optional(),
  gc_freed_bytes: z.number().int().nonnegative().optional(),
});
export type StorageSample = z.infer<typeof storageSampleSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; detail: string };

const issuesText = (e: z.ZodError): string =>
  e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

function parseJson(bytes: Buffer): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
}

/** Storage sample bytes → ES document (STORAGE_MAPPINGS shape) and its deterministic `_id`. */
export function storageDocument(bytes: Buffer): ParseResult<{ id: string; doc: Record<string, unknown> }> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const parsed = storageSampleSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, detail: issuesText(parsed.error) };
  const s = parsed.data;
  const ts =
    typeof s.timestamp === 'number' ? new Date(s.timestamp).toISOString() : new Date(s.timestamp).toISOString();
  const id = createHash('sha256')
    .update(`${s.instance_id ?? ''}\u0000${s.scope}\u0000${ts}`)
    .digest('hex')
    .slice(0, 32);
  const storage: Record<string, unknown> = { scope: s.scope, used: { bytes: s.used_bytes } };
  if (s.capacity_bytes !== undefined) {
    storage['capacity'] = { bytes: s.capacity_bytes };
    (storage['used'] as Record<string, unknown>)['pct'] = s.used_bytes / s.capacity_bytes;
  }
  if (s.source !== undefined) storage['source'] = s.source;
  if (s.gc_freed_bytes !== undefined) storage['gc'] = { freed: { bytes: s.gc_freed_bytes } };
  const oci: Record<string, unknown> = { storage };
  if (s.instance_id !== undefined) oci['instance_id'] = s.instance_id;
  return { ok: true, value: { id, doc: { '@timestamp': ts, oci_registry: oci } } };
}

/** Finding bytes → ES document. `_id` = finding id (findings are written with `index`, so a
 * resolved notice replaces the firing one under the same id). */
export function findingDocument(bytes: Buffer): ParseResult<{ id: string; doc: Finding & { '@timestamp': string } }> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const parsed = findingSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, detail: issuesText(parsed.error) };
  return { ok: true, value: { id: parsed.data.id, doc: { '@timestamp': parsed.data.window.end, ...parsed.data } } };
}

/**
 * Remembers who made a request, from notifications (which carry the actor), to fill in the user on
 * log lines of the same `http.request.id` (Distribution 2.x success log lines carry no user name).
 * Bounded: the oldest request ids are forgotten first.
 */
export class RequestActorCache {
  readonly #max: number;
  readonly #map = new Map<string, { name: string; actor: RegistryEvent['oci_registry']['actor'] }>();

  constructor(maxEntries: number) {
    this.#max = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Records the actor of a notification event that has both a request id and a user. */
  remember(e: RegistryEvent): void {
    const rid = e.http?.request?.id;
    const name = e.user?.name;
    if (!rid || !name) return;
    this.#map.delete(rid);
    this.#map.set(rid, { name, actor: e.oci_registry.actor });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  /**
   * Returns `e` with `user.name` and the actor filled in when `e` has no user but its request id is
   * known; otherwise `e` unchanged. Never overwrites a user already present.
   */
  enrich(e: RegistryEvent): RegistryEvent {
    const rid = e.http?.request?.id;
    if (!rid || e.user?.name) return e;
    const hit = this.#map.get(rid);
    if (!hit) return e;
    return { ...e, user: { ...e.user, name: hit.name }, oci_registry: { ...e.oci_registry, actor: { ...hit.actor } } };
  }
}
