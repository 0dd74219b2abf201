import type { DetectorEvent } from '../event.ts';
import { isNotification, mergeSameRequest } from '../event.ts';

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

/** Held events waiting for a partner from one source, in arrival order. */
class Lane {
  /** Held events (null: released or merged away); `at[i]` arrival time, `done[i]` merged with its partner. */
  queue: (DetectorEvent | null)[] = [];
  at: number[] = [];
  done: boolean[] = [];
  head = 0;
  count = 0;
  /** Absolute position of `queue[0]` (positions stay valid across compaction). */
  base = 0;

  push(ev: DetectorEvent, now: number): number {
    this.queue.push(ev);
    this.at.push(now);
    this.done.push(false);
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
 * Batch mode (`holdMs` Infinity, input in event-time order): an event is released once the newest
 * event time pushed is `windowMs` past it.
 *
 * Live mode (`holdMs` finite): the two sources arrive independently (different inputs and
 * partitions; a registry's notifications can lag its log by tens of seconds), so an event waits
 * for the source its partner comes from — the notifications for a successful log line of a
 * notified action, the log otherwise — in one of two lanes, so events waiting for a lagging source
 * never hold back the others. It is released as soon as (a) it was merged with its partner from the
 * other source, (b) that source's newest event time is `windowMs` past it (the partner would have
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
  /** Lane per partner source (index = Source). Batch mode uses lane 1 only. */
  private readonly lanes: [Lane, Lane] = [new Lane(), new Lane()];
  /** `http.request.id` → [lane, absolute position] of the first held event of the request. */
  private readonly byRequest = new Map<string, [Source, number]>();
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
    if (ev.requestId === undefined) return false;
    const ref = this.byRequest.get(ev.requestId);
    const prev = ref ? this.lanes[ref[0]].get(ref[1]) : undefined;
    return prev !== undefined && prev !== null && (prev.dataset !== ev.dataset || prev.id === ev.id);
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

  /** Queues `ev`, or merges it into the held event of the same request. */
  private hold(ev: DetectorEvent, now: number): void {
    if (ev.requestId !== undefined) {
      const ref = this.byRequest.get(ev.requestId);
      const prev = ref ? this.lanes[ref[0]].get(ref[1]) : undefined;
      if (ref && prev && (prev.dataset !== ev.dataset || prev.id === ev.id)) {
        const lane = this.lanes[ref[0]];
        const i = ref[1] - lane.base;
        lane.queue[i] = mergeSameRequest(prev, ev);
        if (isNotification(prev) !== isNotification(ev)) lane.done[i] = true;
        this.joined++;
        return;
      }
      const src = this.live ? partnerSource(ev) : LOGS;
      const pos = this.lanes[src].push(ev, now);
      if (!ref || !prev) this.byRequest.set(ev.requestId, [src, pos]);
      return;
    }
    this.lanes[this.live ? partnerSource(ev) : LOGS].push(ev, now);
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
          const ref = e.requestId === undefined ? undefined : this.byRequest.get(e.requestId);
          if (ref && ref[0] === src && ref[1] === lane.base + lane.head) this.byRequest.delete(e.requestId!);
        }
        lane.queue[lane.head] = null;
        lane.head++;
      }
      lane.compact();
    }
    return out;
  }
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
