/**
 * Sliding event-time window counter in fixed slots (e.g. 60 × 10 s for 10 minutes), JSON-safe so
 * it can be snapshotted. Events older than the window relative to the newest event of this key are
 * not counted (a replayed backlog never becomes a burst), and `firedAt` keeps one finding per
 * window start.
 */
export interface WindowCounter {
  slotMs: number;
  slots: number;
  ids: number[];
  counts: number[];
  newest: number;
  /** Window start (ms) of the last finding fired for this key, -1 if none. */
  firedAt: number;
  /** Distinct values seen in the current window (capped), for "N distinct repositories". */
  distinct: string[];
  /** Event ids for evidence (capped). */
  samples: string[];
  /** Time of the first event counted in the current burst. */
  burstStart: number;
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
    samples: [],
    burstStart: -1,
  };
}

/** Adds `n` at `ts`; returns the total in the window ending at the newest event (0 if `ts` too old). */
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
    w.distinct = distinctValue !== undefined ? [distinctValue] : [];
    w.samples = sampleId !== undefined ? [sampleId] : [];
    w.burstStart = ts;
    return n;
  }
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
  if (distinctValue !== undefined && w.distinct.length < 64 && !w.distinct.includes(distinctValue))
    w.distinct.push(distinctValue);
  if (sampleId !== undefined && w.samples.length < 5) w.samples.push(sampleId);
  return totalOfWindow(w);
}

export function totalOfWindow(w: WindowCounter): number {
  let s = 0;
  for (const c of w.counts) s += c;
  return s;
}
