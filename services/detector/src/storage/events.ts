/**
 * Fallback when neither statfs nor a quota API is available: usage reconstructed from events.
 * Unique blob digests pushed (size from the notification's descriptor) minus blobs deleted;
 * a blob mounted or pushed again into another repository is stored once (content-addressed).
 * This ignores GC timing (Distribution frees bytes only when GC runs) and files outside blobs,
 * so every sample is marked `estimate: true`. Pure.
 */
import type { RegistryEvent } from '../../../../shared/src/model/registry-event.ts';
import type { StorageSampleRecord } from './types.ts';

/**
 * Rebuilds a usage series from events in event-time order (sorted here).
 * @param events normalized events; only `blob-push`, `blob-mount` and `blob-delete` with a digest count.
 * @param scope scope id, e.g. `events:registry.example.com`.
 * @param capacityBytes capacity to attach to each sample (0 if unknown).
 * @param stepMs one sample per this many ms of event time (default 1 h), at the end of each step.
 * @returns samples with `estimate: true`, source `events_estimate`.
 */
export function reconstructUsage(
  events: readonly RegistryEvent[],
  scope: string,
  capacityBytes = 0,
  stepMs = 3_600_000,
): StorageSampleRecord[] {
  const relevant = events
    .filter(
      (e) =>
        (e.event.action === 'blob-push' || e.event.action === 'blob-mount' || e.event.action === 'blob-delete') &&
        e.oci_registry.digest,
    )
    .map((e) => ({ t: Date.parse(e['@timestamp']), e }))
    .filter((x) => Number.isFinite(x.t))
    .sort((a, b) => a.t - b.t);
  const sizes = new Map<string, number>();
  const out: StorageSampleRecord[] = [];
  let used = 0;
  let bucket: number | undefined;
  const emit = (b: number): void => {
    out.push({
      timestamp: new Date(b + stepMs).toISOString(),
      used_bytes: used,
      capacity_bytes: capacityBytes,
      scope,
      source: 'events_estimate',
      estimate: true,
    });
  };
  for (const { t, e } of relevant) {
    const b = Math.floor(t / stepMs) * stepMs;
    if (bucket !== undefined && b !== bucket) emit(bucket);
    bucket = b;
    const digest = e.oci_registry.digest as string;
    if (e.event.action === 'blob-delete') {
      const s = sizes.get(digest);
      if (s !== undefined) {
        used -= s;
        sizes.delete(digest);
      }
    } else if (!sizes.has(digest)) {
      const size = e.oci_registry.size ?? 0;
      sizes.set(digest, size);
      used += size;
    }
  }
  if (bucket !== undefined) emit(bucket);
  return out;
}
