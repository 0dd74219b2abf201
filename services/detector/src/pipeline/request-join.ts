import type { DetectorEvent } from '../event.ts';
import { isNotification, mergeLineCopies, mergeSameRequest } from '../event.ts';
import { clientsCompatible, durationMs, withinCopyTime } from '../../../../shared/src/model/request-key.ts';

/** Successful requests a Distribution registry reports in a notification too (its log line waits for it). */
const NOTIFIED_ACTIONS = new Set<string>([
  'manifest-pull',
  'manifest-head',
  'blob-pull',
  'blob-head',
  'manifest-push',
  'blob-push',
  'blob-mount',
  'manifest-delete',
  'blob-delete',
  'tag-delete',
]);

/** The two sources of one request: notifications/webhooks (0) and log lines (1). */
type Source = 0 | 1;
const NOTIFICATIONS: Source = 0;
const LOGS: Source = 1;

/** Options of a RequestJoiner. */
export interface RequestJoinOptions {
  /**
   * Live mode when finite: the shortest processing-time wait (ms) before an event goes without its
   * partner, used when the partner's source is absent (never heard from) or, for a partner from the
   * log, idle this long. Default Infinity (batch mode: event time alone decides).
   */
  holdMs?: number;
  /**
   * Live mode: a log line waiting for its notification goes when the notifications have been
   * silent this long (ms). Default `max(holdMs, 10 000)`.
   */
  quietMs?: number;
  /**
   * Live mode: hard cap (ms) on the wait when the partner's source is active but behind (a
   * registry's notification queue can lag its log by tens of seconds). Default `max(holdMs, 120 000)`.
   */
  maxHoldMs?: number;
  /** Live mode: at most this many events held; beyond it the oldest go at once. Default 200 000. */
  maxHeld?: number;
  /** Processing time (ms) at which `held` events (restored after a restart) count as arrived. Default 0. */
  now?: number;
  /**
   * Live mode: event-time reordering (ms of processing time). An arriving event first waits in a
   * reorder buffer until it arrived this long ago, and the buffer hands events to the join in
   * event-time order (`ts`, ties in arrival order): events of one burst that travel on different
   * partitions (the events topic is keyed by identity, so one IP's failed logins against many user
   * names spread over all partitions, delivered one partition batch after the other) reach the
   * rules in the order they happened, as in `regwatch analyze`. Costs `reorderMs` of latency.
   * 0 turns it off. Default `holdMs` (batch mode: off, its input is already in event-time order).
   */
  reorderMs?: number;
}

/** An event in the reorder buffer: `at` arrival (processing time, ms), `seq` arrival order. */
interface Pending {
  ev: DetectorEvent;
  at: number;
  seq: number;
}

/**
 * Min-heap of pending events by (event time, arrival order): the reorder buffer of live mode.
 * O(log n) per push/pop; memory: the events it holds.
 */
class ReorderBuffer {
  private readonly heap: Pending[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The earliest pending event (by event time), or undefined when empty. */
  peek(): Pending | undefined {
    return this.heap[0];
  }

  /** The pending events in event-time order (for snapshots); the buffer is unchanged. */
  ordered(): DetectorEvent[] {
    return [...this.heap].sort(before).map((p) => p.ev);
  }

  push(ev: DetectorEvent, at: number): void {
    const h = this.heap;
    h.push({ ev, at, seq: this.seq++ });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (before(h[parent]!, h[i]!) <= 0) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Pending | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!) < 0) m = l;
        if (r < h.length && before(h[r]!, h[m]!) < 0) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Order of the reorder buffer: event time, then arrival order. */
function before(a: Pending, b: Pending): number {
  return a.ev.ts - b.ev.ts || a.seq - b.seq;
}

/** A held event's place: its lane and absolute position there. */
type Ref = [Source, number];

/** Held events waiting for a partner from one source, in arrival order. */
class Lane {
  /**
   * Held events (null: released, merged away or moved to the other lane); `at[i]` arrival time,
   * `done[i]` has all the partners it waits for, `notified[i]` merged with its notification.
   */
  queue: (DetectorEvent | null)[] = [];
  at: number[] = [];
  done: boolean[] = [];
  notified: boolean[] = [];
  head = 0;
  count = 0;
  /** Absolute position of `queue[0]` (positions stay valid across compaction). */
  base = 0;

  push(ev: DetectorEvent, now: number): number {
    this.queue.push(ev);
    this.at.push(now);
    this.done.push(false);
    this.notified.push(false);
    this.count++;
    return this.base + this.queue.length - 1;
  }

  get(pos: number): DetectorEvent | null | undefined {
    return this.queue[pos - this.base];
  }

  compact(): void {
    if (this.head <= 4096 || this.head * 2 <= this.queue.length) return;
    const shift = this.head;
    this.queue.splice(0, shift);
    this.at.splice(0, shift);
    this.done.splice(0, shift);
    this.notified.splice(0, shift);
    this.head = 0;
    this.base += shift;
  }
}

/**
 * Counts each registry request once when both its notification and its log line(s) arrive: events
 * with the same `http.request.id` are merged (user from the notification; status, bytes, latency
 * from the log — see `mergeSameRequest`) when they come from different datasets (notification vs
 * log), or when they carry the same `event.id` (two log lines the normalizer identified as one
 * request, e.g. Distribution's "error authenticating user" and "authentication failure" lines,
 * which can reach a live detector through different partitions).
 *
 * A Distribution registry also prints every request as an access line (`oci_registry.access`, no
 * request id, usually no user) beside its app-log line (shared CASES C12). The two are joined by
 * the C12 key (shared/src/model/request-key.ts, the same rule the indexer's RequestCopies uses):
 * method, `url.path`, status, bytes, compatible client, times ≤ 1 s + the request duration apart,
 * never two lines of one source; the nearest held line in time wins, so two identical requests
 * stay two. The merged event keeps the app-log copy's facts (`mergeLineCopies`: user, request id,
 * event id, status, bytes, duration) and the earlier time; with a notification too, all three are
 * one event. An access line waits for its app-log line like any log line (lane of the log); an
 * access line with no app-log partner (app log at level warn, an nginx in front) goes alone when
 * its wait ends and counts as the request. Copies further apart than the wait (event time beyond
 * `windowMs` in batch mode, e.g. the access line of a request that took longer than the window;
 * processing time beyond the hold in live mode) are counted twice.
 *
 * Batch mode (`holdMs` Infinity, input in event-time order): an event is released once the newest
 * event time pushed is `windowMs` past it.
 *
 * Live mode (`holdMs` finite): the two sources arrive independently (different inputs and
 * partitions; a registry's notifications can lag its log by tens of seconds), so an event waits
 * for the source its partner comes from — the notifications for a successful log line of a
 * notified action, the log otherwise — in one of two lanes, so events waiting for a lagging source
 * never hold back the others. An app-log line with a C12 key also waits for its access line: once
 * it has its notification (or needs none) it waits in the log's lane, and once it has both it is
 * done (an access line merged into by its app-log line moves to the notifications' lane if that
 * line still waits for its notification). It is released as soon as (a) it was merged with every
 * partner it waits for, (b) that source's newest event time is `windowMs` past it (the partner would have
 * come), (c) it is `holdMs` old and that source is absent (never heard from) or silent (`holdMs`
 * for the log, `quietMs` for the notifications, whose sender may pause), (d) it is `maxHoldMs` old, or (e) more than
 * `maxHeld` events are held. Processing time is passed in as `now` (ms).
 *
 * Live mode first puts arrivals through a reorder buffer (`reorderMs`, default `holdMs`): each
 * event enters the join `reorderMs` after it arrived, earliest event time first, so partitions
 * delivered one after the other (a bulk `/v1/logs` POST, a consumer catching up) do not change
 * what the window rules see (first event of a burst, distinct values at the threshold) — the same
 * findings as `regwatch analyze` over the same input. Within a lane, events are released in the
 * order they entered. Memory: the events held (≤ `maxHeld`, reorder buffer included).
 */
export class RequestJoiner {
  private readonly windowMs: number;
  private readonly holdMs: number;
  private readonly quietMs: number;
  private readonly maxHoldMs: number;
  private readonly maxHeld: number;
  private readonly reorderMs: number;
  private readonly live: boolean;
  /** Live mode: events released by the join, waiting to leave in event-time order. */
  private readonly reorder = new ReorderBuffer();
  /** Lane per partner source (index = Source). Batch mode uses lane 1 only (event time alone decides). */
  private readonly lanes: [Lane, Lane] = [new Lane(), new Lane()];
  /** `http.request.id` → [lane, absolute position] of the first held event of the request. */
  private readonly byRequest = new Map<string, Ref>();
  /** C12 key → the held app-log and access lines with that key (shared/src/model/request-key.ts). */
  private readonly byLine = new Map<string, Ref[]>();
  private watermark = -Infinity;
  /** Per source: newest event time (ms) and last arrival (processing time, ms). */
  private readonly sourceWatermark: [number, number] = [-Infinity, -Infinity];
  private readonly lastArrival: [number, number] = [-Infinity, -Infinity];
  /** Number of events merged into another one (each is a request counted once instead of twice). */
  joined = 0;

  /**
   * @param windowMs join window in ms of event time (default 5 000).
   * @param held events returned by `held()` before a restart (a live detector keeps them in its
   *   state snapshot), taken back in their order as if they arrived at `options.now`.
   */
  constructor(windowMs = 5_000, held: readonly DetectorEvent[] = [], options: RequestJoinOptions = {}) {
    this.windowMs = windowMs;
    this.holdMs = options.holdMs ?? Infinity;
    this.quietMs = options.quietMs ?? Math.max(this.holdMs, 10_000);
    this.maxHoldMs = options.maxHoldMs ?? Math.max(this.holdMs, 120_000);
    this.maxHeld = options.maxHeld ?? 200_000;
    this.live = this.holdMs !== Infinity;
    this.reorderMs = this.live ? Math.max(0, options.reorderMs ?? this.holdMs) : 0;
    const now = options.now ?? 0;
    // Restored events: their sources count as absent until they are heard from again.
    for (const ev of held) {
      if (ev.ts > this.watermark) this.watermark = ev.ts;
      this.hold(ev, now);
    }
  }

  /** Number of events held (waiting for their partner). */
  get size(): number {
    return this.lanes[0].count + this.lanes[1].count + this.reorder.size;
  }

  /**
   * The events held: those in the reorder buffer (event-time order), then the lanes' (oldest
   * arrival first per lane). JSON-safe: a live detector saves them with its state.
   */
  held(): DetectorEvent[] {
    const out: DetectorEvent[] = this.reorder.ordered();
    for (const lane of this.lanes)
      for (let i = lane.head; i < lane.queue.length; i++) {
        const e = lane.queue[i];
        if (e) out.push(e);
      }
    return out;
  }

  /**
   * Processing time (ms) at which the oldest held event of a lane may be due without any new
   * arrival, or undefined when nothing is held or in batch mode. (Event-time releases happen on
   * `push`.)
   */
  nextDeadline(): number | undefined {
    if (this.size === 0 || !this.live) return undefined;
    const first = this.reorder.peek();
    let next: number | undefined = first ? first.at + this.reorderMs : undefined;
    for (let src = 0 as Source; src <= 1; src++) {
      const lane = this.lanes[src];
      for (let i = lane.head; i < lane.queue.length; i++) {
        if (!lane.queue[i]) continue;
        const at = lane.at[i]!;
        const heard = this.lastArrival[src];
        const quiet = heard === -Infinity ? at + this.holdMs : Math.max(at + this.holdMs, heard + this.quiet(src));
        const due = lane.done[i] ? at : Math.min(quiet, at + this.maxHoldMs);
        if (next === undefined || due < next) next = due;
        break;
      }
    }
    return next;
  }

  /**
   * Adds an event that arrived at processing time `now` (ms; live mode only); returns the events
   * now ready (see the class comment).
   */
  push(ev: DetectorEvent, now = 0): DetectorEvent[] {
    // The partner of an event already in the join merges at once: waiting in the reorder buffer
    // could let the held event time out and go alone (its other half then counted as a
    // duplicate request, without its bytes or status).
    if (this.reorderMs > 0 && !this.partnerHeld(ev)) this.reorder.push(ev, now);
    else this.enter(ev, now);
    return this.drain(now, false);
  }

  /** True when the join holds an event of `ev`'s request that `ev` would merge with. */
  private partnerHeld(ev: DetectorEvent): boolean {
    return this.requestPartner(ev) !== undefined || this.linePartner(ev) !== undefined;
  }

  /** An event enters the join at processing time `now` (after the reorder buffer, if any). */
  private enter(ev: DetectorEvent, now: number): void {
    if (ev.ts > this.watermark) this.watermark = ev.ts;
    const src = isNotification(ev) ? NOTIFICATIONS : LOGS;
    if (ev.ts > this.sourceWatermark[src]) this.sourceWatermark[src] = ev.ts;
    if (now > this.lastArrival[src]) this.lastArrival[src] = now;
    this.hold(ev, now);
  }

  /** Releases the events that are due at processing time `now` (ms) — see the class comment. */
  expire(now: number): DetectorEvent[] {
    return this.drain(now, false);
  }

  /** Everything still held (end of input). */
  flush(): DetectorEvent[] {
    return this.drain(Infinity, true);
  }

  /** Silence (ms) of source `src` after which events waiting for it go. */
  private quiet(src: Source): number {
    // The log is the fast source (a notification's log line was usually read already, a log
    // line's twin was written at the same moment); a registry's notification sender may pause.
    return src === LOGS ? this.holdMs : this.quietMs;
  }

  /**
   * Queues `ev`, or merges it into the held event(s) of the same request: its partner by
   * `http.request.id` and/or its C12 copy (an app-log line's access line or the reverse).
   */
  private hold(ev: DetectorEvent, now: number): void {
    const ridRef = this.requestPartner(ev);
    let lineRef = this.linePartner(ev);
    if (ridRef && lineRef && ridRef[0] === lineRef[0] && ridRef[1] === lineRef[1]) lineRef = undefined;
    const ref = ridRef ?? lineRef;
    if (!ref) {
      const src = this.live ? partnerSource(ev) : LOGS;
      const pos = this.lanes[src].push(ev, now);
      this.index(ev, [src, pos]);
      return;
    }
    const lane = this.lanes[ref[0]];
    const i = ref[1] - lane.base;
    const prev = lane.queue[i]!;
    let merged: DetectorEvent;
    if (ridRef) {
      merged = mergeSameRequest(prev, ev);
      if (isNotification(prev) !== isNotification(ev)) lane.notified[i] = true;
    } else merged = mergeLineCopies(prev, ev);
    this.joined++;
    if (ridRef && lineRef) {
      // The app-log line joins its notification (or other log line) and its access line at once.
      const other = this.lanes[lineRef[0]];
      const j = lineRef[1] - other.base;
      merged = mergeLineCopies(merged, other.queue[j]!);
      if (other.notified[j]) lane.notified[i] = true;
      this.remove(lineRef);
      this.joined++;
    }
    lane.queue[i] = merged;
    this.index(merged, ref);
    this.place(ref, now);
  }

  /** The held event `ev` merges with by `http.request.id`, if any. */
  private requestPartner(ev: DetectorEvent): Ref | undefined {
    if (ev.requestId === undefined) return undefined;
    const ref = this.byRequest.get(ev.requestId);
    const prev = ref ? this.lanes[ref[0]].get(ref[1]) : undefined;
    return ref && prev && (prev.dataset !== ev.dataset || prev.id === ev.id) ? ref : undefined;
  }

  /**
   * The held C12 copy of `ev` (shared/src/model/request-key.ts): same key, none of `ev`'s sources,
   * compatible client, event times within 1 s + the longer duration; the nearest in time first,
   * then the earliest held. Undefined when `ev` is not a line or none matches.
   */
  private linePartner(ev: DetectorEvent): Ref | undefined {
    if (ev.lineKey === undefined) return undefined;
    const list = this.byLine.get(ev.lineKey);
    if (!list) return undefined;
    const sources = ev.copySources ?? [];
    const durMs = durationMs(ev.durationNs);
    let best: Ref | undefined;
    let bestGap = Infinity;
    for (const ref of list) {
      const held = this.lanes[ref[0]].get(ref[1]);
      if (!held || held.lineKey !== ev.lineKey) continue;
      if ((held.copySources ?? []).some((x) => sources.includes(x))) continue;
      // An access line has no request id; two lines with different ones are two requests.
      if (held.requestId !== undefined && ev.requestId !== undefined && held.requestId !== ev.requestId) continue;
      if (!clientsCompatible(held.ip, ev.ip)) continue;
      if (!withinCopyTime(held.ts, ev.ts, durationMs(held.durationNs), durMs)) continue;
      const gap = Math.abs(held.ts - ev.ts);
      if (gap < bestGap || (gap === bestGap && best && this.heldEarlier(ref, best))) {
        best = ref;
        bestGap = gap;
      }
    }
    return best;
  }

  /** True when the held event at `a` arrived before the one at `b` (ties: notifications' lane, then position). */
  private heldEarlier(a: Ref, b: Ref): boolean {
    const atA = this.lanes[a[0]].at[a[1] - this.lanes[a[0]].base]!;
    const atB = this.lanes[b[0]].at[b[1] - this.lanes[b[0]].base]!;
    return atA < atB || (atA === atB && (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])));
  }

  /** Lists the held event at `ref` under its request id (if none is) and its C12 key (if not yet). */
  private index(ev: DetectorEvent, ref: Ref): void {
    if (ev.requestId !== undefined && !this.byRequest.has(ev.requestId)) this.byRequest.set(ev.requestId, ref);
    if (ev.lineKey === undefined) return;
    const list = this.byLine.get(ev.lineKey);
    if (!list) this.byLine.set(ev.lineKey, [ref]);
    else if (!list.some((r) => r[0] === ref[0] && r[1] === ref[1])) list.push(ref);
  }

  /** Forgets the held event at `ref` in the indexes (released, merged away or moved). */
  private unindex(ev: DetectorEvent, ref: Ref): void {
    const byRid = ev.requestId === undefined ? undefined : this.byRequest.get(ev.requestId);
    if (byRid && byRid[0] === ref[0] && byRid[1] === ref[1]) this.byRequest.delete(ev.requestId!);
    if (ev.lineKey === undefined) return;
    const list = this.byLine.get(ev.lineKey);
    if (!list) return;
    const k = list.findIndex((r) => r[0] === ref[0] && r[1] === ref[1]);
    if (k >= 0) list.splice(k, 1);
    if (list.length === 0) this.byLine.delete(ev.lineKey);
  }

  /** Takes the held event at `ref` out of its lane (merged into another one). */
  private remove(ref: Ref): void {
    const lane = this.lanes[ref[0]];
    const i = ref[1] - lane.base;
    const ev = lane.queue[i];
    if (!ev) return;
    this.unindex(ev, ref);
    lane.queue[i] = null;
    lane.count--;
  }

  /**
   * After a merge: marks the held event at `ref` done when it waits for no partner any more, or
   * (live mode) moves it to the lane of the partner it still waits for — its notification (a
   * successful app-log line of a notified action), else its other C12 line (access ↔ app log).
   */
  private place(ref: Ref, now: number): void {
    const lane = this.lanes[ref[0]];
    const i = ref[1] - lane.base;
    const ev = lane.queue[i]!;
    const waitsNotification = !lane.notified[i] && this.live && partnerSource(ev) === NOTIFICATIONS;
    const waitsLine = ev.lineKey !== undefined && !hasBothLines(ev);
    if (!waitsNotification && !waitsLine) {
      // Done once a partner from another source came (two log lines of one event id may not be all).
      if (lane.notified[i] || hasBothLines(ev)) lane.done[i] = true;
      return;
    }
    if (!this.live) return;
    const src: Source = waitsNotification ? NOTIFICATIONS : LOGS;
    if (src === ref[0]) return;
    // Moves to the other lane's tail, as if it arrived now (lanes release in arrival order).
    const notified = lane.notified[i]!;
    this.remove(ref);
    const to = this.lanes[src];
    const pos = to.push(ev, now);
    to.notified[pos - to.base] = notified;
    this.index(ev, [src, pos]);
  }

  /** True when the held event at index `i` of lane `src` may go at processing time `now`. */
  private due(src: Source, i: number, e: DetectorEvent, now: number): boolean {
    if (!this.live) return e.ts < this.watermark - this.windowMs;
    const lane = this.lanes[src];
    if (lane.done[i] || this.size > this.maxHeld) return true;
    if (e.ts < this.sourceWatermark[src] - this.windowMs) return true;
    const age = now - lane.at[i]!;
    if (age >= this.maxHoldMs) return true;
    if (age < this.holdMs) return false;
    const heard = this.lastArrival[src];
    return heard === -Infinity || now - heard >= this.quiet(src);
  }

  /**
   * Live mode: moves the events of the reorder buffer that arrived `reorderMs` ago into the join,
   * earliest event time first (all of them with `all`, or while more than `maxHeld` are held);
   * then releases, from the head of each lane, the events due at `now`.
   */
  private drain(now: number, all: boolean): DetectorEvent[] {
    for (let top = this.reorder.peek(); top; top = this.reorder.peek()) {
      const enterAt = top.at + this.reorderMs;
      if (!all && enterAt > now && this.size <= this.maxHeld) break;
      this.reorder.pop();
      this.enter(top.ev, all ? Math.min(enterAt, now) : enterAt);
    }
    return this.drainLanes(now, all);
  }

  /** Releases, from the head of each lane, the events due at `now` (all of them with `all`). */
  private drainLanes(now: number, all: boolean): DetectorEvent[] {
    const out: DetectorEvent[] = [];
    for (let src = 0 as Source; src <= 1; src++) {
      const lane = this.lanes[src];
      while (lane.head < lane.queue.length) {
        const e = lane.queue[lane.head];
        if (e && !all && !this.due(src, lane.head, e, now)) break;
        if (e) {
          out.push(e);
          lane.count--;
          this.unindex(e, [src, lane.base + lane.head]);
        }
        lane.queue[lane.head] = null;
        lane.head++;
      }
      lane.compact();
    }
    return out;
  }
}

/** True when `ev` holds both an app-log line and an access line of its request (C12). */
function hasBothLines(ev: DetectorEvent): boolean {
  const sources = ev.copySources ?? [];
  return (
    sources.some((x) => x.startsWith('oci_registry.log/')) && sources.some((x) => x.startsWith('oci_registry.access/'))
  );
}

/**
 * The source an event's partner comes from: a successful log line of an action the registry
 * notifies waits for the notifications; a notification waits for the log; any other log line
 * (failures, challenges, uploads, catalog) has at most another log line of its request to wait for.
 */
function partnerSource(ev: DetectorEvent): Source {
  if (isNotification(ev)) return LOGS;
  return ev.outcome !== 'failure' && NOTIFIED_ACTIONS.has(ev.action) && ev.dataset === 'oci_registry.log'
    ? NOTIFICATIONS
    : LOGS;
}
