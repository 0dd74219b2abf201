import { createHash } from 'node:crypto';
import { z } from 'zod';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { blobSizeOf, markTransfer } from './transfer.ts';

/**
 * A storage usage sample as posted to `/v1/storage` or published to `regwatch.storage` by the
 * collector: `timestamp` ISO 8601 with offset (or epoch ms), sizes in bytes, `capacity_bytes`
 * 0 when unlimited/unknown (as the collectors publish, services/detector/src/storage/types.ts),
 * `scope` = registry|namespace|repository name the sample covers. Optional `source`
 * (statfs | harbor_quota | events_estimate | api), `instance_id`.
 */
export const storageSampleSchema = z.object({
  timestamp: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]),
  used_bytes: z.number().int().nonnegative(),
  capacity_bytes: z.number().int().nonnegative(),
  scope: z.string().min(1),
  source: z.string().min(1).optional(),
  instance_id: z.string().min(1).optional(),
  gc_freed_bytes: z.number().int().nonnegative().optional(),
});
export type StorageSample = z.infer<typeof storageSampleSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; detail: string };

const issuesText = (e: z.ZodError): string =>
  e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

/**
 * Validates a `/v1/storage` body (already parsed JSON): one sample object or a non-empty array of
 * samples (at most 1000). Unknown extra fields are kept by the caller (raw bytes) but not checked.
 * @param opts.now processing time (epoch ms): when given, a sample more than `opts.maxFutureMs`
 *   (default 86,400,000 = 1 day) ahead of it is a problem — a collector with a wrong clock would
 *   otherwise make its scope look fresh for years and pause the stale-data finding.
 * @returns the samples, or every problem as `path: message` (array items as `[i].field`).
 */
export function parseStorageSamples(
  value: unknown,
  opts: { now?: number; maxFutureMs?: number } = {},
): { ok: true; samples: StorageSample[] } | { ok: false; problems: string[] } {
  if (Array.isArray(value)) {
    if (value.length === 0) return { ok: false, problems: ['(root): empty array, expected at least one sample'] };
    if (value.length > 1000)
      return { ok: false, problems: [`(root): ${value.length} samples, at most 1000 per request`] };
  }
  const parsed = Array.isArray(value)
    ? z.array(storageSampleSchema).safeParse(value)
    : storageSampleSchema.safeParse(value);
  if (parsed.success) {
    const samples = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    const now = opts.now;
    if (now === undefined) return { ok: true, samples };
    const maxFutureMs = opts.maxFutureMs ?? 86_400_000;
    const limit = now + maxFutureMs;
    const problems: string[] = [];
    samples.forEach((x, i) => {
      const t = typeof x.timestamp === 'number' ? x.timestamp : Date.parse(x.timestamp);
      if (t > limit)
        problems.push(
          `${Array.isArray(value) ? `[${i}].` : ''}timestamp: ${new Date(t).toISOString()} is more than ${Math.round(maxFutureMs / 3_600_000)} h ahead of the receiver's clock (${new Date(now).toISOString()}); check the collector's clock`,
        );
    });
    return problems.length ? { ok: false, problems } : { ok: true, samples };
  }
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      const path = i.path
        .map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return `${path || '(root)'}: ${i.message}`;
    }),
  };
}

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
  storage['capacity'] = { bytes: s.capacity_bytes };
  if (s.capacity_bytes > 0) (storage['used'] as Record<string, unknown>)['pct'] = s.used_bytes / s.capacity_bytes;
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

/** What a notification told about one request: the actor, the blob's size (bytes) and digest. */
interface RequestFacts {
  name?: string;
  actor?: RegistryEvent['oci_registry']['actor'];
  blobSize?: number;
  digest?: string;
}

/**
 * Joins notifications to log lines of the same `http.request.id`. From a notification it
 * remembers the actor (Distribution 2.x success log lines carry no user name) and, for a blob,
 * its size in bytes (`target.size`/`length`); `enrich` fills the user in on a log line without
 * one and marks a blob GET that wrote fewer bytes than the size as `oci_registry.transfer.partial`
 * (shared CASES C10, see transfer.ts). Only notification-before-log order joins (a log line is
 * enriched when it is seen). Bounded: at most `maxEntries` request ids, the oldest forgotten
 * first; an entry holds a name, an actor and a digest reference.
 */
export class RequestActorCache {
  readonly #max: number;
  readonly #map = new Map<string, RequestFacts>();

  /** @param maxEntries request ids kept (at least 1). */
  constructor(maxEntries: number) {
    this.#max = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#map.size;
  }

  /**
   * Records what a notification event tells about its request: the user (when it has one) and,
   * for a blob, the size and digest. Events without a request id, or with neither, are ignored.
   */
  remember(e: RegistryEvent): void {
    const rid = e.http?.request?.id;
    if (!rid) return;
    const name = e.user?.name;
    const blobSize = blobSizeOf(e);
    if (!name && blobSize === undefined) return;
    // Several notifications of one request add up; the newest value of a fact wins.
    const facts: RequestFacts = { ...this.#map.get(rid) };
    if (name) {
      facts.name = name;
      facts.actor = e.oci_registry.actor;
    }
    if (blobSize !== undefined) {
      facts.blobSize = blobSize;
      if (e.oci_registry.digest) facts.digest = e.oci_registry.digest;
      else delete facts.digest;
    }
    this.#map.delete(rid);
    this.#map.set(rid, facts);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  /**
   * Returns `e` enriched from the remembered notification of its request id, else `e` unchanged
   * (the same object when nothing applies; `e` is never mutated):
   * - `user.name` and the actor, when `e` has no user (a user already present is never replaced);
   * - `oci_registry.transfer` (`partial`, `expected_bytes`) on a blob GET answered 200, when the
   *   notification gave the blob's size and names the same digest — or, without a joined size,
   *   from the event's own `oci_registry.size` (a source that carries both).
   */
  enrich(e: RegistryEvent): RegistryEvent {
    const rid = e.http?.request?.id;
    const hit = rid ? this.#map.get(rid) : undefined;
    let out = e;
    if (hit?.name && hit.actor && !e.user?.name) {
      out = {
        ...e,
        user: { ...e.user, name: hit.name },
        oci_registry: { ...e.oci_registry, actor: { ...hit.actor } },
      };
    }
    const digest = out.oci_registry.digest;
    const sameBlob = hit?.blobSize !== undefined && (!hit.digest || !digest || hit.digest === digest);
    return markTransfer(out, sameBlob ? hit.blobSize : blobSizeOf(out));
  }
}
