import type { DetectorEvent } from '../event.ts';
import { mergeSameRequest } from '../event.ts';

/**
 * Counts each registry request once when both its notification and its log line(s) arrive: events
 * with the same `http.request.id` from different datasets (notification vs log) within `windowMs`
 * of event time are merged (user from the
 * notification; status, bytes, latency from the log). Input must be in event-time order; output is
 * in event-time order, delayed by at most `windowMs`. Memory: the events of the last `windowMs`.
 */
export class RequestJoiner {
  private readonly windowMs: number;
  private readonly queue: (DetectorEvent | null)[] = [];
  private head = 0;
  private readonly byRequest = new Map<string, number>();
  joined = 0;

  /**
   * `windowMs`: join window in ms of event time. `held`: events returned by `held()` before a
   * restart (live mode keeps them in its state snapshot), taken back in their order.
   */
  constructor(windowMs = 5_000, held: readonly DetectorEvent[] = []) {
    this.windowMs = windowMs;
    for (const ev of held) this.hold(ev);
  }

  /** Number of events held (waiting for the join window to pass). */
  get size(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]) n++;
    return n;
  }

  /** The events held, oldest first (JSON-safe: a live detector saves them with its state). */
  held(): DetectorEvent[] {
    const out: DetectorEvent[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e) out.push(e);
    }
    return out;
  }

  /** Adds an event; returns the events now older than the join window (ready). */
  push(ev: DetectorEvent): DetectorEvent[] {
    const out = this.drain(ev.ts - this.windowMs);
    this.hold(ev);
    return out;
  }

  /** Queues `ev`, or merges it into the held event of the same request from the other source. */
  private hold(ev: DetectorEvent): void {
    if (ev.requestId) {
      const at = this.byRequest.get(ev.requestId);
      if (at !== undefined) {
        const prev = this.queue[at];
        if (prev && prev.dataset !== ev.dataset) {
          this.queue[at] = mergeSameRequest(prev, ev);
          this.joined++;
          return;
        }
      }
      if (at === undefined) this.byRequest.set(ev.requestId, this.queue.length);
    }
    this.queue.push(ev);
  }

  /** Everything still held (end of input). */
  flush(): DetectorEvent[] {
    return this.drain(Infinity);
  }

  private drain(before: number): DetectorEvent[] {
    const out: DetectorEvent[] = [];
    while (this.head < this.queue.length) {
      const e = this.queue[this.head];
      if (e && e.ts >= before) break;
      if (e) {
        out.push(e);
        if (e.requestId !== undefined && this.byRequest.get(e.requestId) === this.head)
          this.byRequest.delete(e.requestId);
      }
      this.queue[this.head] = null;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      const shift = this.head;
      this.queue.splice(0, shift);
      this.head = 0;
      for (const [k, v] of this.byRequest) this.byRequest.set(k, v - shift);
    }
    return out;
  }
}
