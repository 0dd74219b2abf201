/**
 * Synthetic registry storage traces with a known future, for unit tests and `npm run eval:forecast`.
 * Hourly usage samples with: weekday/weekend push rhythm (pushes during 08–18 UTC on weekdays,
 * bursty log-normal amounts), a slowly drifting growth rate, garbage-collection drops (scheduled,
 * reclaiming part of what was pushed since the last GC, or none), rare migration steps, collector
 * gaps, duplicate samples and measurement noise. The same process runs past the cut, so the true
 * day the usage crosses a threshold is known.
 */

/** Seeded PRNG (mulberry32), so traces are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export interface TraceOptions {
  seed: number;
  /** Days of history before the cut. */
  historyDays?: number;
  /** Intended days from the cut to full at the mean net rate (the truth varies around it). */
  targetDaysToFull?: number;
  /** GC: 'none', 'scheduled' (every gcEveryDays, reclaiming gcFraction of gross growth since the last GC). */
  gc?: 'none' | 'scheduled';
  gcEveryDays?: number;
  gcFraction?: number;
  /** Expected migrations per day (Poisson), each worth 5–25 days of growth. */
  migrationsPerDay?: number;
  /** Force a migration step this many days before the cut. */
  migrationDaysBeforeCut?: number;
  /** Number of collector gaps in the history (6 h – 3 days each). */
  gaps?: number;
  /** Fraction of samples delivered twice. */
  duplicates?: number;
  /** Weekly log-sd of the growth-rate random walk. */
  drift?: number;
  /** Multiply growth by this factor (0 = flat, negative = shrinking by deletes + GC). */
  growthSign?: number;
  capacity?: number;
}

export interface Trace {
  /** History samples (what the model sees), hourly, with gaps and duplicates. */
  history: { timestamp: string; used_bytes: number; capacity_bytes: number }[];
  /** Hourly truth after the cut (no gaps), to find the real crossing. */
  future: { t: number; v: number }[];
  capacity: number;
  cutMs: number;
}

const HOUR = 3_600_000;

/** Builds one trace. Deterministic for a given seed/options. */
export function makeTrace(o: TraceOptions): Trace {
  const r = rng(o.seed);
  const capacity = o.capacity ?? 10e12;
  const historyDays = o.historyDays ?? 90;
  const target = o.targetDaysToFull ?? 120;
  const gcMode = o.gc ?? 'none';
  const gcEvery = o.gcEveryDays ?? 14;
  const gcFraction = o.gcFraction ?? 0.3;
  const migRate = o.migrationsPerDay ?? 0;
  const drift = o.drift ?? 0.03;
  const sign = o.growthSign ?? 1;
  const futureDays = 420;
  // start on a random hour of a week so the cut lands at any hour of the week
  const start = Date.UTC(2026, 0, 5) + Math.floor(r() * 168) * HOUR;
  const totalH = Math.round((historyDays + futureDays) * 24);
  const cutH = Math.round(historyDays * 24);
  const u0 = capacity * (0.25 + 0.25 * r());
  // gross growth so the net (after GC reclaim) reaches full after ~target days from the cut
  const netPerDay = (capacity - u0) / (historyDays + target);
  const grossPerDay = (sign * netPerDay) / (gcMode === 'scheduled' ? 1 - gcFraction : 1);
  // hour weights: weekdays 08–18 UTC busy, other hours and weekends quiet
  const weights: number[] = [];
  for (let how = 0; how < 168; how++) {
    const day = Math.floor(how / 24); // 0 = Monday (start is a Monday + offset, fixed below)
    const hr = how % 24;
    const weekday = day < 5;
    weights.push(weekday ? (hr >= 8 && hr < 18 ? 1 : 0.08) : 0.12);
  }
  const wsum = weights.reduce((a, b) => a + b, 0);
  const values: number[] = [];
  let used = u0;
  let logRate = 0;
  let sinceGc = 0;
  const gcPhase = Math.floor(r() * gcEvery * 24);
  const migAt = o.migrationDaysBeforeCut === undefined ? -1 : cutH - Math.round(o.migrationDaysBeforeCut * 24);
  for (let h = 0; h < totalH; h++) {
    const ms = start + h * HOUR;
    const dow = (new Date(ms).getUTCDay() + 6) % 7; // Monday = 0
    const how = dow * 24 + new Date(ms).getUTCHours();
    if (h % 168 === 0) logRate += drift * gauss(r);
    const expected = ((grossPerDay * 7) / wsum) * (weights[how] as number) * Math.exp(logRate);
    const amount = expected * Math.exp(0.6 * gauss(r) - 0.18);
    used += amount;
    if (amount > 0) sinceGc += amount;
    if (gcMode === 'scheduled' && (h - gcPhase) % (gcEvery * 24) === 0 && h > 0) {
      // GC runs Saturday-night-like: reclaims a fraction of the growth since the last GC
      const reclaim = sinceGc * gcFraction * (0.6 + 0.8 * r());
      used -= reclaim;
      sinceGc = 0;
    }
    if ((migRate > 0 && r() < migRate / 24) || h === migAt) {
      used += Math.abs(grossPerDay) * (5 + 20 * r()) + 1;
    }
    values.push(Math.max(0, used + 0.01 * Math.abs(grossPerDay) * gauss(r)));
  }
  // history with gaps and duplicates
  const drop = new Set<number>();
  for (let g = 0; g < (o.gaps ?? 0); g++) {
    const len = Math.round(6 + r() * 66);
    const at = Math.floor(r() * (cutH - len - 48));
    for (let k = at; k < at + len; k++) drop.add(k);
  }
  const history: Trace['history'] = [];
  for (let h = 0; h < cutH; h++) {
    if (drop.has(h)) continue;
    const row = {
      timestamp: new Date(start + h * HOUR).toISOString(),
      used_bytes: values[h] as number,
      capacity_bytes: capacity,
    };
    history.push(row);
    if (r() < (o.duplicates ?? 0)) history.push({ ...row });
  }
  const future: { t: number; v: number }[] = [];
  for (let h = cutH; h < totalH; h++) future.push({ t: start + h * HOUR, v: values[h] as number });
  return { history, future, capacity, cutMs: start + (cutH - 1) * HOUR };
}

/** True days from the last history sample to the first hour at or above `threshold`; null if never within the future. */
export function trueDays(trace: Trace, threshold: number): number | null {
  const last = trace.history[trace.history.length - 1];
  if (last !== undefined && last.used_bytes >= threshold) return 0;
  for (const p of trace.future) if (p.v >= threshold) return (p.t - trace.cutMs) / 86_400_000;
  return null;
}
