import type { Severity } from '../../../../shared/src/model/finding.ts';

/**
 * Sliding event-time window counter in fixed slots (e.g. 30 × 10 s for 5 minutes), JSON-safe so
 * it can be snapshotted. Events older than the window relative to the newest event of this key are
 * not counted (a replayed backlog never becomes a burst), and `firedAt` keeps one finding per
 * window start.
 *
 * A *burst* is the run of counted events from the moment the window was empty until it empties
 * again (no counted event for a whole window); `total`, `peak`, `distinct`, `distinctCounts` and
 * `samples` describe the burst, the slots describe the sliding window.
 */
export interface WindowCounter {
  slotMs: number;
  slots: number;
  ids: number[];
  counts: number[];
  newest: number;
  /** Window start (ms) of the last finding fired for this key, -1 if none. */
  firedAt: number;
  /** Distinct values seen in the current burst (capped at 64), for "N distinct repositories". */
  distinct: string[];
  /** Events counted per value of `distinct` (same order, same cap). */
  distinctCounts: number[];
  /** Event ids for evidence (capped). */
  samples: string[];
  /** Time of the first event counted in the current burst. */
  burstStart: number;
  /** Events counted in the current burst (may exceed any single window's count). */
  total: number;
  /** Largest count within one window during the current burst (kept by the rule). */
  peak: number;
  /**
   * The fired burst's finding: `windowStart` of its id (ms, whole seconds; it stays fixed even when
   * an out-of-order event moves `burstStart` earlier), -1 when the burst has not fired.
   */
  idStart: number;
  /** Severity last emitted for the fired burst ('' when it has not fired). */
  level: Severity | '';
  /** True once the fired burst's `resolved` finding was emitted. */
  closed: boolean;
  /** Client IP and user agent of the event that last emitted the finding (for resolved evidence). */
  lastIp: string | undefined;
  lastUserAgent: string | undefined;
  /** True when `lastIp` was a client's claim (X-Forwarded-For), not the socket peer. */
  lastIpClaimed?: boolean;
}

export function newWindow(windowMs: number, slots = 30): WindowCounter {
  return {
    slotMs: Math.ceil(windowMs / slots),
    slots,
    ids: [],
    counts: [],
    newest: -Infinity,
    firedAt: -1,
    distinct: [],
    distinctCounts: [],
    samples: [],
    burstStart: -1,
    total: 0,
    peak: 0,
    idStart: -1,
    level: '',
    closed: false,
    lastIp: undefined,
    lastUserAgent: undefined,
  };
}

/**
 * Fills the fields a window snapshotted by an older version lacks (`total`, `peak`,
 * `distinctCounts`, …) from what it has, so a restart across an upgrade keeps counting.
 */
export function upgradeWindow(w: WindowCounter): void {
  const n = totalOfWindow(w);
  w.total ??= n;
  w.peak ??= n;
  w.distinctCounts ??= w.distinct.map(() => 0);
  w.idStart ??= w.firedAt === w.burstStart && w.burstStart >= 0 ? Math.floor(w.burstStart / 1000) * 1000 : -1;
  // A burst that fired before the upgrade was never tracked as open: treat it as closed rather
  // than resolve an alert whose severity is unknown.
  w.level ??= '';
  w.closed ??= w.idStart >= 0;
}

/**
 * True when an event at `ts` would start a new burst: the window is empty, or every slot would
 * expire once `ts` is the newest event (no counted event for a whole window, to the slot).
 */
export function startsNewBurst(w: WindowCounter, ts: number): boolean {
  const last = w.ids[w.ids.length - 1];
  return last === undefined || last <= Math.floor(ts / w.slotMs) - w.slots;
}

/**
 * Adds `n` events at `ts` (ms); returns the total in the window ending at the newest event (the
 * current total, unchanged, when `ts` is older than the window: such an event is not counted).
 * `distinctValue` is counted into `distinct`/`distinctCounts`, `sampleId` kept as evidence.
 * Starting a new burst resets the burst fields (`total`, `peak`, `idStart`, `level`, `closed`, …).
 */
export function addToWindow(w: WindowCounter, ts: number, n = 1, distinctValue?: string, sampleId?: string): number {
  const id = Math.floor(ts / w.slotMs);
  const newestId = Math.floor(Math.max(w.newest, ts) / w.slotMs);
  if (id <= newestId - w.slots) return totalOfWindow(w);
  if (ts > w.newest) w.newest = ts;
  // Drop expired slots.
  while (w.ids.length && w.ids[0]! <= newestId - w.slots) {
    w.ids.shift();
    w.counts.shift();
  }
  if (w.ids.length === 0) {
    // A new burst: fresh lists, created at their exact size (most windows see one event).
    w.ids = [id];
    w.counts = [n];
    if (distinctValue !== undefined) {
      w.distinct = [distinctValue];
      w.distinctCounts = [n];
    } else {
      w.distinct = [];
      w.distinctCounts = [];
    }
    w.samples = sampleId !== undefined ? [sampleId] : [];
    w.burstStart = ts;
    w.total = n;
    w.peak = 0;
    w.idStart = -1;
    w.level = '';
    w.closed = false;
    return n;
  }
  w.total += n;
  // Out-of-order arrival (several partitions, a lagging source): the burst starts at its earliest
  // event, whatever the arrival order; a finding already fired for this burst moves with it.
  if (ts < w.burstStart) {
    if (w.firedAt === w.burstStart) w.firedAt = ts;
    w.burstStart = ts;
  }
  const at = w.ids.indexOf(id);
  if (at >= 0) w.counts[at]! += n;
  else {
    let i = w.ids.length;
    while (i > 0 && w.ids[i - 1]! > id) i--;
    if (i === w.ids.length) {
      // The usual case, a slot newer than all: append (splice would allocate its result array).
      w.ids.push(id);
      w.counts.push(n);
    } else {
      w.ids.splice(i, 0, id);
      w.counts.splice(i, 0, n);
    }
  }
  if (distinctValue !== undefined) {
    const k = w.distinct.indexOf(distinctValue);
    if (k >= 0) w.distinctCounts[k]! += n;
    else if (w.distinct.length < 64) {
      w.distinct.push(distinctValue);
      w.distinctCounts.push(n);
    }
  }
  if (sampleId !== undefined && w.samples.length < 5) w.samples.push(sampleId);
  return totalOfWindow(w);
}

export function totalOfWindow(w: WindowCounter): number {
  let s = 0;
  for (const c of w.counts) s += c;
  return s;
}
