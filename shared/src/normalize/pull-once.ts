import type { RegistryEvent } from '../model/registry-event.ts';
import { identityOf } from '../model/registry-event.ts';

/**
 * Cross-event rules of the stream normalizer (pure state machine, no I/O):
 *
 * 1. **Multi-arch pull counts once** (FORMAT-EDGE-CASES 1, sample 09). A `docker pull` of a
 *    multi-arch tag GETs the index/list and then the platform manifest by digest. For the same
 *    client (identity + source IP) and repository within `windowMs`, a successful manifest GET that
 *    follows an index GET does not set `oci_registry.image_pull` again. When the media type is
 *    unknown (access log), a by-digest manifest GET that follows another counted manifest GET of the
 *    same client+repository within the window is treated the same way.
 * 2. **Duplicate deliveries are dropped** (FORMAT-EDGE-CASES 14, sample 11): a notification or
 *    app-log event whose `event.id` was already emitted (bounded memory of recent ids) is reported as
 *    a duplicate. Access-log ids are hashes of second-precision lines, so they are exempt.
 */
export class StreamRules {
  private readonly windowMs: number;
  private readonly lastPull = new Map<
    string,
    { ms: number; index: boolean | undefined; refs: Set<string> | undefined }
  >();
  private readonly seenIds = new Map<string, true>();
  private readonly maxIds: number;
  private readonly maxKeys: number;
  private readonly dropDuplicates: boolean;

  constructor(windowMs: number, maxIds = 50_000, maxKeys = 50_000, dropDuplicates = true) {
    this.windowMs = windowMs;
    this.dropDuplicates = dropDuplicates;
    this.maxIds = maxIds;
    this.maxKeys = maxKeys;
  }

  /** Applies the rules to one event (may clear `image_pull`). @returns false when the event is a duplicate to drop. */
  apply(ev: RegistryEvent): boolean {
    if (this.dropDuplicates && ev.event.dataset !== 'oci_registry.access') {
      if (this.seenIds.has(ev.event.id)) return false;
      if (this.seenIds.size >= this.maxIds) {
        // Drop the oldest half (Map iterates in insertion order).
        let n = this.maxIds >> 1;
        for (const k of this.seenIds.keys()) {
          if (n-- <= 0) break;
          this.seenIds.delete(k);
        }
      }
      this.seenIds.set(ev.event.id, true);
    }
    if (!ev.oci_registry.image_pull) return true;
    const repo = ev.oci_registry.repository ?? '';
    const key = `${identityOf(ev)}|${ev.source?.ip ?? ev.source?.address ?? ''}|${repo}`;
    const ms = Date.parse(ev['@timestamp']);
    const kind = ev.oci_registry.object_kind;
    const isIndex = kind === 'index' ? true : ev.oci_registry.media_type !== undefined ? false : undefined;
    const prev = this.lastPull.get(key);
    const byDigest = ev.oci_registry.tag === undefined && ev.oci_registry.digest !== undefined;
    if (prev !== undefined && Math.abs(ms - prev.ms) <= this.windowMs) {
      const digest = ev.oci_registry.digest;
      const followsIndex =
        prev.index === true &&
        isIndex !== true &&
        (prev.refs === undefined || digest === undefined || prev.refs.has(digest));
      const unknownPair = prev.index === undefined && isIndex === undefined && byDigest;
      if (followsIndex || unknownPair) {
        ev.oci_registry.image_pull = false;
        return true;
      }
    }
    if (this.lastPull.size >= this.maxKeys) this.sweep(ms);
    const refs = ev.oci_registry.references?.flatMap((r) => (r.digest === undefined ? [] : [r.digest]));
    this.lastPull.set(key, {
      ms,
      index: isIndex,
      refs: refs !== undefined && refs.length > 0 ? new Set(refs) : undefined,
    });
    return true;
  }

  private sweep(nowMs: number): void {
    for (const [k, v] of this.lastPull) if (Math.abs(nowMs - v.ms) > this.windowMs) this.lastPull.delete(k);
    if (this.lastPull.size >= this.maxKeys) this.lastPull.clear();
  }
}
