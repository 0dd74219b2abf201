/**
 * Storage exhaustion forecast: days until a registry's used bytes reach a warning level (default
 * 85 % of capacity) and 100 %, each with an 80 % prediction interval. Pure: no I/O, no clock.
 *
 * Method ("robust-seasonal-trend"), on the samples' own timestamps (event time):
 *
 * 1. Clean. Samples are sorted, non-finite values dropped, duplicates (same timestamp) collapsed to
 *    the last value, then bucketed to an hourly grid (last value per UTC hour). Missing hours are
 *    gaps; nothing is interpolated.
 * 2. Level shifts. The noise scale σ is 1.4826 × the MAD of the first differences at the series'
 *    native sampling step (median spacing: 1 h for an hourly collector, 6 h for a 4×/day one), so
 *    it is the series' own measurement noise whatever its size or rate. Consecutive differences are
 *    grouped into runs of the same sign (a spacing > max(3 h, 2 steps) is a gap). A run of
 *    decreases larger than both 6 σ·√(steps in the run) and a quarter of a typical day's growth is
 *    a garbage-collection (GC) drop; a run of increases larger than 2.5 × the 90th percentile of
 *    daily growth (and 6 σ) is a step (a migration / bulk import). A shift must be sustained: the
 *    median of up to 3 samples after it minus the median of up to 3 before it (less organic growth)
 *    must keep at least half the threshold, so a single bad reading that comes back is no shift.
 *    A difference across a gap is judged against the organic growth expected over the gap. Each
 *    shift's excess over organic growth is removed from the series, giving a shift-adjusted series:
 *    the trend continues from the new level after a drop (a drop never means "never full") and a
 *    one-off jump never becomes a growth rate.
 * 3. Growth. The gross growth rate is the median of lag-one-week differences of the adjusted series
 *    over the last 28 days (a lag of exactly 168 h cancels the weekday/weekend push rhythm and the
 *    median ignores what step detection missed). With less than 8 days of data it falls back to a
 *    least-squares slope (method suffix `+short`, wider interval).
 * 4. Recurring shifts. With two or more GC drops the GC is modelled as a schedule: period = median
 *    spacing of the drops, size = median drop, next run = last drop + period. The forecast path is
 *    then a saw-tooth (gross growth between runs), so the first crossing lands just before a GC as
 *    it does in reality; `growth_bytes_per_day` reports the net rate (gross minus amortised
 *    reclaim). A single drop is only a level shift. Three or more steps are amortised over the
 *    history span and added to the rate; one or two are treated as one-offs.
 * 5. Weekly shape. The hour-of-week profile of the detrended adjusted series (last 28 days, needs
 *    ≥ 14 days) is added to the path, so a forecast made on Friday evening knows the weekend is flat.
 * 6. Level. The current level is the median of the last 24 h of adjusted samples projected to the
 *    last sample time (robust to a noisy last point), plus the accumulated shifts.
 * 7. Interval. Weekly growth amounts over up to 12 non-overlapping weeks give σ_w (bytes/week,
 *    robust MAD scale); 4-week block rates give the relative drift δ of the growth rate (floor 5 %
 *    per 4 weeks). The variance of the level after t hours is σ_w²·t/168 (week-to-week randomness)
 *    + (t·σ_r)² with σ_r = 1.6·σ_w/168/√K (rate error) + (t·rate·δ)²·t/1344 (rate drift, a random
 *    walk) + D²·(t/P/4 + 1/12) for a GC schedule of drop D and period P. The 80 % band is
 *    mean ± 1.2816·sd; the lower day bound is where the upper band first reaches the threshold and
 *    the upper day bound is where the lower band does (`null` = not within the horizon).
 *    Calibrated by `npm run eval:forecast` (coverage of the true day on synthetic traces).
 *
 * Days are counted from the last sample. A result of `null` means "not within the horizon". A
 * threshold already reached gives 0 days, `*_reached: true` and `*_reached_since` (start of the
 * current run of samples at/above it). Whether the last sample is recent is judged by the caller
 * (staleness.ts), as this module has no clock.
 */
import {
  median,
  medianAbsoluteDeviation,
  quantile,
  linearRegression,
  sampleStandardDeviation,
} from 'simple-statistics';
import { AppError } from '../../../../shared/src/errors.ts';

/** One usage sample: ISO 8601 timestamp, bytes used and bytes of capacity of the scope. */
export interface StorageSample {
  readonly timestamp: string;
  readonly used_bytes: number;
  readonly capacity_bytes: number;
}

export interface ForecastOptions {
  /** Warning level as a fraction of capacity, (0, 1]. Default 0.85. */
  readonly warn?: number;
  /** Days ahead to look; beyond it the answer is `null` ("not within the horizon"). Default 365. */
  readonly horizonDays?: number;
  /** Capacity override in bytes (else the last sample's capacity_bytes). */
  readonly capacityBytes?: number;
}

export interface LevelShift {
  /** ISO 8601 time of the first sample after the shift. */
  readonly timestamp: string;
  /** Signed bytes removed from the trend (negative for a GC drop). */
  readonly bytes: number;
  readonly kind: 'gc' | 'step';
}

/** One point of the forecast path (for charts): expected used bytes with the 80 % band. */
export interface ForecastPoint {
  readonly timestamp: string;
  readonly expected: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * Result of `forecastStorage`. The optional fields were added later (so hand-built results in
 * other components stay valid); `forecastStorage` always sets them.
 */
export interface ForecastResult {
  /**
   * Days from the last sample to the warning level; 0 when already at/above (`warn_reached`);
   * null beyond horizon.
   */
  readonly days_to_warn: number | null;
  readonly days_to_warn_lower: number | null;
  readonly days_to_warn_upper: number | null;
  /** Days from the last sample to 100 % of capacity (80 % interval below); null beyond horizon. */
  readonly days_to_full: number | null;
  readonly days_to_full_lower: number | null;
  readonly days_to_full_upper: number | null;
  /** True when the estimated current level is already at or above the warning level (days = 0). */
  readonly warn_reached?: boolean;
  /**
   * ISO 8601 time of the first sample of the run of samples at/above the warning level that lasts
   * to the last sample (equal to `first_timestamp` = "at least since then"); null when not known.
   */
  readonly warn_reached_since?: string | null;
  /** True when the estimated current level is already at or above capacity (days = 0). */
  readonly full_reached?: boolean;
  /** As `warn_reached_since`, for 100 % of capacity. */
  readonly full_reached_since?: string | null;
  /** Net long-run growth, bytes per day (gross growth minus amortised recurring GC). */
  readonly growth_bytes_per_day: number;
  /** Gross growth between level shifts, bytes per day. */
  readonly gross_growth_bytes_per_day: number;
  /** Time of the last detected GC drop, ISO 8601, or null. */
  readonly last_gc: string | null;
  readonly method: string;
  /** Estimated current used bytes at `last_timestamp`. */
  readonly level_bytes: number;
  readonly capacity_bytes: number;
  readonly warn_ratio: number;
  readonly horizon_days: number;
  readonly last_timestamp: string;
  /** ISO 8601 time of the first usable sample. */
  readonly first_timestamp?: string;
  /** Median spacing of the samples, seconds (the collector's sampling interval). */
  readonly sampling_interval_seconds?: number;
  /** Robust noise scale of one sampling step's difference, bytes (what a shift must clearly exceed). */
  readonly noise_bytes?: number;
  readonly samples_used: number;
  readonly level_shifts: readonly LevelShift[];
  /** Daily forecast points from the last sample to the horizon (or a little past full). */
  readonly path: readonly ForecastPoint[];
}

const HOUR_MS = 3_600_000;
const DAY_H = 24;
const WEEK_H = 168;
const Z80 = 1.2815515655446004;
/** Minimum distinct hourly points and span the model needs. */
export const MIN_POINTS = 24;
export const MIN_SPAN_HOURS = 48;
const LOOKBACK_H = 28 * DAY_H;
/** Floor on the relative change of the growth rate per 4 weeks (registries change pace). */
const DRIFT_PRIOR = 0.05;

interface Hourly {
  readonly h: number[]; // hour index since epoch
  readonly v: number[];
}

interface Cleaned {
  readonly series: Hourly;
  readonly capacity: number;
  readonly firstMs: number;
  readonly lastMs: number;
  /** Median spacing of distinct raw sample times, seconds (NaN with fewer than 2). */
  readonly intervalS: number;
  /** Raw samples sorted by time (finite values only), for threshold history. */
  readonly raw: readonly { t: number; v: number }[];
}

function toHourly(samples: readonly StorageSample[]): Cleaned {
  const rows: { t: number; v: number; c: number }[] = [];
  for (const s of samples) {
    const t = Date.parse(s.timestamp);
    if (!Number.isFinite(t) || !Number.isFinite(s.used_bytes)) continue;
    rows.push({ t, v: s.used_bytes, c: s.capacity_bytes });
  }
  rows.sort((a, b) => a.t - b.t);
  const h: number[] = [];
  const v: number[] = [];
  let capacity = NaN;
  let lastMs = NaN;
  for (const r of rows) {
    const hour = Math.floor(r.t / HOUR_MS);
    if (h.length > 0 && h[h.length - 1] === hour) v[v.length - 1] = r.v;
    else {
      h.push(hour);
      v.push(r.v);
    }
    if (Number.isFinite(r.c) && r.c > 0) capacity = r.c;
    lastMs = r.t;
  }
  const spacings: number[] = [];
  for (let i = 1; i < rows.length; i++) {
    const d = (rows[i] as { t: number }).t - (rows[i - 1] as { t: number }).t;
    if (d > 0) spacings.push(d / 1000);
  }
  return {
    series: { h, v },
    capacity,
    firstMs: rows.length > 0 ? (rows[0] as { t: number }).t : NaN,
    lastMs,
    intervalS: spacings.length > 0 ? median(spacings) : NaN,
    raw: rows.map((r) => ({ t: r.t, v: r.v })),
  };
}

/**
 * Start of the current episode at or above `threshold`: the time of the first raw sample of the
 * last run of samples ≥ threshold that lasts to the end of the history, as ISO 8601; `null` when
 * the last sample is below the threshold (the estimated level may still be above it).
 */
function reachedSince(raw: readonly { t: number; v: number }[], threshold: number): string | null {
  let k = raw.length;
  while (k > 0 && (raw[k - 1] as { v: number }).v >= threshold) k--;
  return k === raw.length ? null : new Date((raw[k] as { t: number }).t).toISOString();
}

const at = (a: readonly number[], i: number): number => a[i] as number;

/** Robust sigma (1.4826 × MAD), 0 for fewer than 2 values. */
function robustSigma(xs: readonly number[]): number {
  return xs.length < 2 ? 0 : 1.4826 * medianAbsoluteDeviation(xs as number[]);
}

/** Last value per day index, for day-level statistics. */
function dailyIncrements(s: Hourly): number[] {
  const last = new Map<number, number>();
  for (let i = 0; i < s.h.length; i++) last.set(Math.floor(at(s.h, i) / DAY_H), at(s.v, i));
  const inc: number[] = [];
  for (const [d, val] of last) {
    const prev = last.get(d - 1);
    if (prev !== undefined) inc.push(val - prev);
  }
  return inc;
}

interface ShiftScan {
  readonly shifts: { index: number; bytes: number; kind: 'gc' | 'step' }[];
  /** Cumulative shift bytes up to and including index i. */
  readonly cum: number[];
  /** Native sampling step of the series, hours (median spacing of the hourly grid points, ≥ 1). */
  readonly stepH: number;
  /** Robust noise scale of one sampling step's difference, bytes (1.4826 × MAD of first differences). */
  readonly sigmaStep: number;
}

/** Number of robust noise sigmas a shift must exceed (and keep, see `sustained`). */
const SHIFT_SIGMAS = 6;
/** Samples either side used to check that a shift persists (median of up to this many). */
const SUSTAIN_SAMPLES = 3;

/**
 * Finds GC drops and steps. All thresholds are relative to the series' own noise: `sigmaStep` is
 * the robust scale (MAD) of the first differences at the native sampling step (hourly for an
 * hourly collector, 6 h for a 4×/day one), so measurement noise of any size is not mistaken for
 * a shift. A candidate must also be sustained: the median of the (up to 3) samples after it, less
 * the median of the (up to 3) samples before it, less organic growth in between, must still
 * exceed the threshold — a single bad reading (a dip or spike that comes back) is not a shift.
 */
function detectShifts(s: Hourly): ShiftScan {
  const n = s.h.length;
  const daily = dailyIncrements(s);
  const gMed = daily.length > 0 ? Math.max(0, median(daily)) : 0;
  const gP90 = daily.length > 0 ? Math.max(0, quantile(daily, 0.9)) : 0;
  const r0 = gMed / DAY_H; // bytes per hour, preliminary organic rate
  const dts: number[] = [];
  for (let i = 1; i < n; i++) dts.push(at(s.h, i) - at(s.h, i - 1));
  const stepH = dts.length > 0 ? Math.max(1, median(dts)) : 1;
  // a gap is a spacing clearly longer than the native step (and never less than 3 h)
  const gapH = Math.max(3, 2 * stepH);
  const stepDiffs: number[] = [];
  for (let i = 1; i < n; i++) if (at(dts, i - 1) <= 1.5 * stepH) stepDiffs.push(at(s.v, i) - at(s.v, i - 1));
  const sigma = robustSigma(stepDiffs);
  const shifts: { index: number; bytes: number; kind: 'gc' | 'step' }[] = [];

  // does the shift between sample `before` (last old-level sample) and `after` (first new-level
  // sample) persist? Returns the persisting excess over organic growth (bytes, signed).
  const persisting = (before: number, after: number): number => {
    const pre: number[] = [];
    const preH: number[] = [];
    for (let k = before; k >= 0 && k > before - SUSTAIN_SAMPLES; k--) {
      if (at(s.h, before) - at(s.h, k) > SUSTAIN_SAMPLES * stepH) break;
      pre.push(at(s.v, k));
      preH.push(at(s.h, k));
    }
    const post: number[] = [];
    const postH: number[] = [];
    for (let k = after; k < n && k < after + SUSTAIN_SAMPLES; k++) {
      if (at(s.h, k) - at(s.h, after) > SUSTAIN_SAMPLES * stepH) break;
      post.push(at(s.v, k));
      postH.push(at(s.h, k));
    }
    return median(post) - median(pre) - r0 * (median(postH) - median(preH));
  };

  // Runs of same-sign differences; a gap always closes a run and forms its own run.
  let i = 1;
  while (i < n) {
    const dt0 = at(s.h, i) - at(s.h, i - 1);
    const d0 = at(s.v, i) - at(s.v, i - 1);
    if (dt0 > gapH) {
      const e = d0 - r0 * dt0;
      const tol = SHIFT_SIGMAS * sigma * Math.sqrt(dt0 / stepH) + 0.5 * r0 * dt0;
      const gcTol = Math.max(tol, 0.25 * gMed);
      const stepTol = Math.max(tol, 2.5 * gP90);
      if (e < -gcTol && persisting(i - 1, i) < -0.5 * gcTol) shifts.push({ index: i, bytes: e, kind: 'gc' });
      else if (e > stepTol && persisting(i - 1, i) > 0.5 * stepTol) shifts.push({ index: i, bytes: e, kind: 'step' });
      i++;
      continue;
    }
    const down = d0 < 0;
    const up = !down && d0 - r0 * dt0 > 0;
    let j = i;
    let sum = 0;
    let dur = 0;
    while (j < n) {
      const dt = at(s.h, j) - at(s.h, j - 1);
      const d = at(s.v, j) - at(s.v, j - 1);
      if (dt > gapH) break;
      if (down ? d >= 0 : up ? d - r0 * dt <= 0 : d < 0 || d - r0 * dt > 0) break;
      sum += d;
      dur += dt;
      j++;
    }
    if (j === i) j = i + 1; // safety: always advance
    const excess = sum - (down ? 0 : r0 * dur);
    const noise = SHIFT_SIGMAS * sigma * Math.sqrt(Math.max(1, dur / stepH));
    const gcTol = Math.max(noise, 0.25 * gMed);
    const stepTol = Math.max(noise, 2.5 * gP90);
    if (down && excess < -gcTol && persisting(i - 1, j - 1) < -0.5 * gcTol) {
      shifts.push({ index: j - 1, bytes: excess, kind: 'gc' });
    } else if (up && excess > stepTol && persisting(i - 1, j - 1) > 0.5 * stepTol) {
      shifts.push({ index: j - 1, bytes: excess, kind: 'step' });
    }
    i = j;
  }
  const cum: number[] = new Array<number>(n).fill(0);
  let k = 0;
  let acc = 0;
  for (let x = 0; x < n; x++) {
    while (k < shifts.length && (shifts[k] as { index: number }).index === x) {
      acc += (shifts[k] as { bytes: number }).bytes;
      k++;
    }
    cum[x] = acc;
  }
  return { shifts, cum, stepH, sigmaStep: sigma };
}

/** Nearest adjusted value to hour `target` within ±tol hours, via binary search. */
function valueNear(h: readonly number[], a: readonly number[], target: number, tol: number): number | undefined {
  let lo = 0;
  let hi = h.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(h, mid) < target) lo = mid + 1;
    else hi = mid;
  }
  let best: number | undefined;
  let bestDist = Infinity;
  for (const idx of [lo - 1, lo]) {
    if (idx < 0 || idx >= h.length) continue;
    const dist = Math.abs(at(h, idx) - target);
    if (dist <= tol && dist < bestDist) {
      best = at(a, idx);
      bestDist = dist;
    }
  }
  return best;
}

const mod = (x: number, m: number): number => ((x % m) + m) % m;

/**
 * Forecasts when a storage scope reaches its warning level and its capacity.
 *
 * @param samples usage samples (any order; duplicates and gaps allowed), bytes.
 * @param opts warning fraction (default 0.85), horizon in days (default 365), capacity override.
 * @returns ForecastResult with days counted from the last sample (`null` = not within horizon).
 * @throws AppError FORECAST_INPUT_INVALID when there are fewer than 24 distinct hourly points, they
 *   span less than 48 h, or no positive capacity is known.
 */
export function forecastStorage(samples: readonly StorageSample[], opts: ForecastOptions = {}): ForecastResult {
  const warn = opts.warn ?? 0.85;
  const horizonDays = opts.horizonDays ?? 365;
  if (!(warn > 0 && warn <= 1))
    throw new AppError('FORECAST_INPUT_INVALID', `warning level must be in (0, 1], got ${warn}`);
  if (!(horizonDays > 0)) throw new AppError('FORECAST_INPUT_INVALID', `horizon must be > 0 days, got ${horizonDays}`);
  const { series: s, capacity: lastCapacity, firstMs, lastMs, intervalS, raw } = toHourly(samples);
  const capacity = opts.capacityBytes ?? lastCapacity;
  if (!(capacity > 0)) throw new AppError('FORECAST_INPUT_INVALID', 'no positive capacity_bytes given');
  const n = s.h.length;
  if (n < MIN_POINTS || at(s.h, n - 1) - at(s.h, 0) < MIN_SPAN_HOURS) {
    throw new AppError(
      'FORECAST_INPUT_INVALID',
      `the forecast needs at least ${MIN_POINTS} hourly samples spanning ${MIN_SPAN_HOURS / 24} days; got ${n} spanning ${
        n === 0 ? 0 : ((at(s.h, n - 1) - at(s.h, 0)) / 24).toFixed(1)
      } days`,
      { context: { points: n } },
    );
  }

  // 2. level shifts → adjusted series
  const { shifts, cum, stepH, sigmaStep } = detectShifts(s);
  const adj = s.v.map((v, i) => v - at(cum, i));
  const hEnd = at(s.h, n - 1);
  const span = hEnd - at(s.h, 0);

  // 3. gross rate (bytes/hour) from lag-168h differences over the lookback
  const lagRates: number[] = [];
  const byHour = new Map<number, number>();
  for (let i = 0; i < n; i++) byHour.set(at(s.h, i), at(adj, i));
  for (let i = 0; i < n; i++) {
    const hi = at(s.h, i);
    if (hi < hEnd - LOOKBACK_H + WEEK_H) continue;
    const prev = byHour.get(hi - WEEK_H);
    if (prev !== undefined) lagRates.push((at(adj, i) - prev) / WEEK_H);
  }
  let method = 'robust-seasonal-trend';
  let rate: number;
  const weekly = lagRates.length >= 24;
  if (weekly) rate = median(lagRates);
  else {
    const pts: [number, number][] = [];
    for (let i = 0; i < n; i++) if (at(s.h, i) >= hEnd - LOOKBACK_H) pts.push([at(s.h, i) - hEnd, at(adj, i)]);
    rate = linearRegression(pts).m;
    method += '+short';
  }

  // 7a. weekly growth amounts for the interval (non-overlapping weeks back from the end)
  const weekAmounts: number[] = [];
  for (let k = 0; k < 12; k++) {
    const a1 = valueNear(s.h, adj, hEnd - k * WEEK_H, 12);
    const a0 = valueNear(s.h, adj, hEnd - (k + 1) * WEEK_H, 12);
    if (a1 !== undefined && a0 !== undefined) weekAmounts.push(a1 - a0);
  }
  let sigmaWeek: number; // bytes per week
  if (weekAmounts.length >= 4)
    sigmaWeek = Math.max(robustSigma(weekAmounts), 0.5 * sampleStandardDeviation(weekAmounts));
  else if (weekAmounts.length >= 2) sigmaWeek = sampleStandardDeviation(weekAmounts);
  else {
    // short series: scale of daily increments of the adjusted series, as a weekly figure
    const dInc: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = byHour.get(at(s.h, i) - DAY_H);
      if (p !== undefined) dInc.push(at(adj, i) - p);
    }
    sigmaWeek =
      (dInc.length >= 2 ? sampleStandardDeviation(dInc) : Math.abs(rate) * DAY_H) * Math.sqrt(7) +
      Math.abs(rate) * WEEK_H * 0.5;
  }
  const kWeeks = Math.max(1, weekAmounts.length);
  // 7b. drift of the growth rate: relative change between consecutive 4-week block rates
  const blockRates: number[] = [];
  for (let k = 0; k < 3; k++) {
    const a1 = valueNear(s.h, adj, hEnd - k * LOOKBACK_H, 12);
    const a0 = valueNear(s.h, adj, hEnd - (k + 1) * LOOKBACK_H, 12);
    if (a1 !== undefined && a0 !== undefined) blockRates.push((a1 - a0) / LOOKBACK_H);
  }
  let drift = DRIFT_PRIOR;
  if (blockRates.length >= 2) {
    const rel: number[] = [];
    for (let k = 1; k < blockRates.length; k++) {
      const b1 = at(blockRates, k - 1);
      const b0 = at(blockRates, k);
      const scale = Math.max(Math.abs(b1), Math.abs(b0));
      if (scale > 0) rel.push((b1 - b0) / scale);
    }
    if (rel.length > 0) drift = Math.max(DRIFT_PRIOR, Math.sqrt(rel.reduce((a, b) => a + b * b, 0) / rel.length));
  }

  // 4. recurring shifts
  const gcs = shifts.filter((x) => x.kind === 'gc');
  const steps = shifts.filter((x) => x.kind === 'step');
  const gcIdx = gcs.map((x) => x.index);
  let reclaimPerHour = 0;
  let gcDrop = 0;
  let gcPeriodH = Infinity;
  let nextGcH = Infinity; // hours after the last sample
  if (gcs.length >= 2) {
    const total = gcs.reduce((acc, x) => acc - x.bytes, 0);
    reclaimPerHour = total / span;
    gcDrop = median(gcs.map((x) => -x.bytes));
    const gaps: number[] = [];
    for (let k = 1; k < gcs.length; k++) gaps.push(at(s.h, at(gcIdx, k)) - at(s.h, at(gcIdx, k - 1)));
    gcPeriodH = Math.max(DAY_H, median(gaps));
    const lastGcH = at(s.h, at(gcIdx, gcIdx.length - 1));
    nextGcH = lastGcH + gcPeriodH - hEnd;
    while (nextGcH <= 0) nextGcH += gcPeriodH;
    method += '+gc';
  }
  let stepPerHour = 0;
  if (steps.length >= 3) {
    stepPerHour = steps.reduce((acc, x) => acc + x.bytes, 0) / span;
    method += '+steps';
  }
  const netRate = rate - reclaimPerHour + stepPerHour;

  // 5. hour-of-week profile of the detrended adjusted series
  const profile = new Array<number>(WEEK_H).fill(0);
  if (weekly && span >= 14 * DAY_H) {
    const sums = new Array<number>(WEEK_H).fill(0);
    const counts = new Array<number>(WEEK_H).fill(0);
    const xs: number[] = [];
    const hows: number[] = [];
    for (let i = 0; i < n; i++) {
      const hi = at(s.h, i);
      if (hi < hEnd - LOOKBACK_H) continue;
      xs.push(at(adj, i) - rate * (hi - hEnd));
      hows.push(mod(hi, WEEK_H));
    }
    const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    for (let i = 0; i < xs.length; i++) {
      const w = at(hows, i);
      sums[w] = at(sums, w) + at(xs, i) - mean;
      counts[w] = at(counts, w) + 1;
    }
    for (let w = 0; w < WEEK_H; w++) profile[w] = at(counts, w) > 0 ? at(sums, w) / at(counts, w) : 0;
    method += '+weekly';
  }
  const prof = (hour: number): number => at(profile, mod(Math.round(hour), WEEK_H));

  // 6. current level
  const lastDay: number[] = [];
  for (let i = 0; i < n; i++) {
    const hi = at(s.h, i);
    if (hi <= hEnd - DAY_H) continue;
    lastDay.push(at(adj, i) + rate * (hEnd - hi) - prof(hi) + prof(hEnd));
  }
  const level = median(lastDay) + at(cum, n - 1);

  // path and crossings
  const sigmaRateH = ((sigmaWeek / WEEK_H) * 1.6) / Math.sqrt(kWeeks);
  // recurring GC is modelled as a schedule (period = median spacing, drop = median size), so the
  // path is a saw-tooth and the first crossing lands just before a GC, as it does in reality
  const gcsBy = (tH: number): number => (tH < nextGcH ? 0 : 1 + Math.floor((tH - nextGcH) / gcPeriodH));
  const mean = (tH: number): number =>
    level + (rate + stepPerHour) * tH - gcDrop * gcsBy(tH) + prof(hEnd + tH) - prof(hEnd);
  const sd = (tH: number): number => {
    const rw = sigmaWeek * sigmaWeek * (tH / WEEK_H);
    const re = (tH * sigmaRateH) ** 2 + (tH * rate * drift) ** 2 * (tH / LOOKBACK_H / 2);
    const gc = gcDrop > 0 ? gcDrop * gcDrop * (tH / gcPeriodH / 4 + 1 / 12) : 0;
    return Math.sqrt(rw + re + gc);
  };
  const horizonH = horizonDays * DAY_H;
  const crossing = (threshold: number, fn: (tH: number) => number): number | null => {
    if (fn(0) >= threshold) return 0;
    let prevV = fn(0);
    for (let tH = 1; tH <= horizonH; tH++) {
      const v = fn(tH);
      if (v >= threshold) {
        const frac = v === prevV ? 0 : Math.min(1, Math.max(0, (threshold - prevV) / (v - prevV)));
        return (tH - 1 + frac) / DAY_H;
      }
      prevV = v;
    }
    return null;
  };
  const point = (threshold: number): number | null => (level >= threshold ? 0 : crossing(threshold, mean));
  const upperBand = (tH: number): number => mean(tH) + Z80 * sd(tH);
  const lowerBand = (tH: number): number => mean(tH) - Z80 * sd(tH);
  const bounds = (threshold: number): [number | null, number | null] => {
    if (level >= threshold) return [0, 0];
    return [crossing(threshold, upperBand), crossing(threshold, lowerBand)];
  };
  const warnBytes = warn * capacity;
  const dWarn = point(warnBytes);
  const dFull = point(capacity);
  const [wLo, wHi] = bounds(warnBytes);
  const [fLo, fHi] = bounds(capacity);

  const pathEndH = Math.min(horizonH, dFull === null ? horizonH : Math.ceil((dFull + 14) * DAY_H));
  const path: ForecastPoint[] = [];
  const lastT = lastMs;
  for (let tH = 0; tH <= pathEndH; tH += DAY_H) {
    const m = mean(tH);
    const w = Z80 * sd(tH);
    path.push({ timestamp: new Date(lastT + tH * HOUR_MS).toISOString(), expected: m, lower: m - w, upper: m + w });
  }
  const lastGc = gcs.length > 0 ? (gcs[gcs.length - 1] as { index: number }).index : -1;
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 100) / 100);
  return {
    days_to_warn: round(dWarn),
    days_to_warn_lower: round(wLo === null || dWarn === null ? wLo : Math.min(wLo, dWarn)),
    days_to_warn_upper: round(wHi === null || dWarn === null ? wHi : Math.max(wHi, dWarn)),
    days_to_full: round(dFull),
    days_to_full_lower: round(fLo === null || dFull === null ? fLo : Math.min(fLo, dFull)),
    days_to_full_upper: round(fHi === null || dFull === null ? fHi : Math.max(fHi, dFull)),
    warn_reached: level >= warnBytes,
    warn_reached_since: level >= warnBytes ? reachedSince(raw, warnBytes) : null,
    full_reached: level >= capacity,
    full_reached_since: level >= capacity ? reachedSince(raw, capacity) : null,
    growth_bytes_per_day: netRate * DAY_H,
    gross_growth_bytes_per_day: rate * DAY_H,
    last_gc: lastGc >= 0 ? new Date(at(s.h, lastGc) * HOUR_MS).toISOString() : null,
    method,
    level_bytes: level,
    capacity_bytes: capacity,
    warn_ratio: warn,
    horizon_days: horizonDays,
    last_timestamp: new Date(lastT).toISOString(),
    first_timestamp: new Date(firstMs).toISOString(),
    sampling_interval_seconds: Number.isFinite(intervalS) ? intervalS : stepH * 3600,
    noise_bytes: sigmaStep,
    samples_used: n,
    level_shifts: shifts.map((x) => ({
      timestamp: new Date(at(s.h, x.index) * HOUR_MS).toISOString(),
      bytes: x.bytes,
      kind: x.kind,
    })),
    path,
  };
}

/**
 * The baseline most teams use today: Prometheus `predict_linear` semantics — least squares over
 * the last `windowDays` (default 7) of samples, extrapolated from the fitted value at the last
 * sample. Returns days from the last sample to `threshold` bytes, 0 when already above, `null`
 * when the slope is not positive or the crossing lies beyond `horizonDays`.
 */
export function predictLinearDays(
  samples: readonly { t: number; v: number }[],
  threshold: number,
  windowDays = 7,
  horizonDays = 365,
): number | null {
  if (samples.length === 0) return null;
  const tEnd = (samples[samples.length - 1] as { t: number }).t;
  const pts: [number, number][] = [];
  for (const p of samples) if (p.t >= tEnd - windowDays * 86_400_000) pts.push([(p.t - tEnd) / 86_400_000, p.v]);
  if (pts.length < 2) return null;
  const { m, b } = linearRegression(pts);
  if (b >= threshold) return 0;
  if (!(m > 0)) return null;
  const d = (threshold - b) / m;
  return d > horizonDays ? null : d;
}
