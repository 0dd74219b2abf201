import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import {
  clientsCompatible,
  copySourceOf,
  durationMs,
  requestLineKey,
  withinCopyTime,
} from '../../../shared/src/model/request-key.ts';

/**
 * Marks the later copies of one registry request so that stored documents count it once.
 *
 * A Distribution registry reports one HTTP request up to three times: its notification
 * (`oci_registry.notification`, carries `http.request.id`), its app-log `response completed` line
 * (`oci_registry.log`, carries `http.request.id`, status and bytes) and its access line
 * (`oci_registry.access`, combined or JSON: status and bytes, no request id) — shared CASES C12,
 * FORMATS.md "Dedupe and correlation keys". Copies are recognised by
 * - the same `http.request.id` from another source (notification ↔ app log), and
 * - for app-log and access lines, the C12 key: method, `url.path`, status, bytes written
 *   (`http.response.body.bytes`, missing = 0) and client (`source.ip`; a copy without a client, as
 *   the JSON access log writes it, matches any), at times at most 1 s + the request's duration
 *   apart (an access line carries the request's start to the second, the app log its end) —
 *   shared/src/model/request-key.ts, which the detector's request join uses too.
 *
 * The counting rule — three independent marks, each right in every arrival order:
 * - **`oci_registry.duplicate: true`** (leave out of request counts): every copy after the first
 *   to arrive. The documents without the mark count each request once — twice only when its
 *   access line (no request id) arrives after its notification and before its app-log line, which
 *   joins them; a registry prints the app-log line first.
 * - **`oci_registry.duplicate_bytes: true`** (leave out of sums of `http.response.body.bytes`): a
 *   copy with bytes (> 0) when an earlier copy already had them. The first copy may have none (a
 *   notification), so the bytes are summed over the copies without this mark, not over the
 *   counted ones: each request's bytes once, whichever copy brought them.
 * - **`oci_registry.image_pull`**: set to `false` on a later copy when an earlier copy already
 *   counted the pull, so exactly one stored document per pull has `image_pull: true`. That can be
 *   a duplicate: when the access line arrived first (access lines never set `image_pull`), the
 *   app-log line after it is a duplicate for requests and bytes but still the copy that counts the
 *   pull. Pull counts therefore filter on `oci_registry.image_pull : true` alone.
 *
 * Two lines of the same source (dataset + `source_format`) are never copies of each other: a
 * repeated delivery has the same `event.id` (one document), and two requests with the same C12 key
 * are two requests. Pure logic, no I/O; memory bounded by `maxRequests`: the last `maxRequests`
 * request ids and the last `maxRequests` C12 keys (each at most {@link MAX_PER_LINE_KEY} requests
 * apart), oldest forgotten first — copies further apart than that window (in requests seen) are
 * both counted. One instance per process: copies consumed by different ingest processes are not
 * joined.
 */
export class RequestCopies {
  readonly #max: number;
  readonly #byRequestId = new Map<string, CopyRecord>();
  readonly #byLine = new Map<string, CopyRecord[]>();

  /** @param maxRequests request ids (and C12 keys) remembered, at least 1. */
  constructor(maxRequests: number) {
    this.#max = Math.max(1, Math.floor(maxRequests));
  }

  /** Request ids plus C12 keys held (tests of the bound). */
  get size(): number {
    return this.#byRequestId.size + this.#byLine.size;
  }

  /**
   * Records `e` as a copy of its request and returns it, marked when it is a later copy (a new
   * object: `oci_registry.duplicate: true`, and `oci_registry.duplicate_bytes: true` and/or
   * `oci_registry.image_pull: false` when an earlier copy counted those; `e` itself is never
   * mutated). Returns `e` unchanged when it is the first copy or has no correlation key.
   * Events must be passed in arrival order. Never throws.
   */
  mark(e: RegistryEvent): RegistryEvent {
    const src = copySourceOf(e);
    const rid = e.http?.request?.id || undefined;
    const line = requestLineKey(e);
    const ms = Date.parse(e['@timestamp']);
    const durMs = durationMs(e.event.duration);
    const ip = e.source?.ip;

    const byRid = rid !== undefined ? this.#byRequestId.get(rid) : undefined;
    if (byRid?.sources.includes(src)) return e; // another line of a request this source already gave
    const byLine = line !== undefined ? this.#findLine(line, src, ms, durMs, ip) : undefined;
    let rec = byRid ?? byLine;
    if (byRid && byLine && byRid !== byLine) {
      rec = merge(byRid, byLine);
      this.#replaceLine(byLine, rec);
    }

    const pull = e.oci_registry.image_pull === true;
    const bytes = e.http?.response?.body?.bytes;
    const hasBytes = typeof bytes === 'number' && bytes > 0;
    if (!rec) {
      rec = { sources: [src], pull, bytes: hasBytes, ms: Number.isFinite(ms) ? ms : 0, durMs, ip };
      if (rid !== undefined) this.#setRequestId(rid, rec);
      if (line !== undefined) this.#addLine(line, rec);
      return e;
    }

    const clearPull = pull && rec.pull;
    const duplicateBytes = hasBytes && rec.bytes;
    rec.sources.push(src);
    rec.pull ||= pull;
    rec.bytes ||= hasBytes;
    rec.durMs = Math.max(rec.durMs, durMs);
    rec.ip ??= ip;
    if (rid !== undefined && byRid === undefined) this.#setRequestId(rid, rec);
    if (line !== undefined && byLine === undefined) this.#addLine(line, rec);
    return {
      ...e,
      oci_registry: {
        ...e.oci_registry,
        ...(clearPull ? { image_pull: false } : {}),
        duplicate: true,
        ...(duplicateBytes ? { duplicate_bytes: true } : {}),
      },
    };
  }

  /** The best-matching earlier request under `key`: not from `src`, client compatible, nearest in time. */
  #findLine(key: string, src: string, ms: number, durMs: number, ip: string | undefined): CopyRecord | undefined {
    const list = this.#byLine.get(key);
    if (!list) return undefined;
    let best: CopyRecord | undefined;
    let bestGap = Infinity;
    for (const r of list) {
      const gap = Math.abs(ms - r.ms);
      if (!withinCopyTime(ms, r.ms, durMs, r.durMs) || gap >= bestGap) continue;
      if (!clientsCompatible(ip, r.ip)) continue;
      if (r.sources.includes(src)) continue;
      {
        best = r;
        bestGap = gap;
      }
    }
    return best;
  }

  #setRequestId(rid: string, rec: CopyRecord): void {
    this.#byRequestId.set(rid, rec);
    if (this.#byRequestId.size > this.#max) {
      const oldest = this.#byRequestId.keys().next().value;
      if (oldest !== undefined) this.#byRequestId.delete(oldest);
    }
  }

  #addLine(key: string, rec: CopyRecord): void {
    rec.line ??= key;
    const list = this.#byLine.get(key);
    if (list) {
      list.push(rec);
      if (list.length > MAX_PER_LINE_KEY) list.shift();
      // Most recently used key last, so eviction forgets the key idle longest.
      this.#byLine.delete(key);
      this.#byLine.set(key, list);
    } else {
      this.#byLine.set(key, [rec]);
    }
    if (this.#byLine.size > this.#max) {
      const oldest = this.#byLine.keys().next().value;
      if (oldest !== undefined) this.#byLine.delete(oldest);
    }
  }

  /** After a merge, the C12 list that held `from` holds `to` instead. */
  #replaceLine(from: CopyRecord, to: CopyRecord): void {
    if (from.line === undefined) return;
    const list = this.#byLine.get(from.line);
    if (!list) return;
    const i = list.indexOf(from);
    if (i >= 0) list[i] = to;
    to.line ??= from.line;
  }
}

/** Requests kept per C12 key (identical requests of one client in the same second or so). */
export const MAX_PER_LINE_KEY = 16;

/** What the stored copies of one request already counted. */
interface CopyRecord {
  /** `event.dataset/source_format` of every copy seen. */
  sources: string[];
  /** A copy with `image_pull: true` was counted. */
  pull: boolean;
  /** A copy with `http.response.body.bytes` > 0 was counted. */
  bytes: boolean;
  /** Event time of the first copy (epoch ms). */
  ms: number;
  /** The longest request duration a copy gave (ms), widening the C12 time match. */
  durMs: number;
  /** The client (`source.ip`) a copy gave. */
  ip?: string | undefined;
  /** The C12 key the record is listed under, if any. */
  line?: string | undefined;
}

function merge(a: CopyRecord, b: CopyRecord): CopyRecord {
  a.sources.push(...b.sources.filter((s) => !a.sources.includes(s)));
  a.pull ||= b.pull;
  a.bytes ||= b.bytes;
  a.ms = Math.min(a.ms, b.ms);
  a.durMs = Math.max(a.durMs, b.durMs);
  a.ip ??= b.ip;
  return a;
}
