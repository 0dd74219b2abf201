/**
 * Generic streaming baseline for any `(timestamp, value)` series: each point is scored only from
 * the points before it (no look-ahead), exactly as live detection sees it.
 *
 * How it works (median/MAD, seasonal-naive with learned period):
 * - The sampling interval is learned as the median gap between recent timestamps (works for hourly,
 *   5-minute and irregular series; irregular points match seasonal neighbours within a tolerance).
 * - Candidate periods: none (rolling median of the last points), one day and one week (when the
 *   interval allows it), and a period found by autocorrelation of the history (regular series).
 *   For a candidate period P, the expected value at time t is the median of the values observed at
 *   t − P, t − 2P, … (up to `cycles` cycles), so a few outliers in history do not move it.
 * - The candidate in use is chosen prequentially: each candidate's past one-step errors (clipped,
 *   exponentially weighted) are tracked, and the one that predicted best so far wins.
 * - Scale is robust: max(1.4826·MAD of the seasonal neighbours, 1.4826·MAD of the recent residuals
 *   of the chosen candidate, a Poisson floor √expected for non-negative integer series, a tiny
 *   relative floor) so a zero-variance history still gives finite, meaningful scores.
 * - Band = [expected − k·scale, expected + k·scale] (lower clamped at 0 for non-negative integer
 *   series, where values below 0 cannot occur).
 * - Anomaly score in [0, 1], a logistic of the robust z beyond the band edge:
 *   `score = 1 / (1 + exp(−2·(z − k)))` with `z = |value − expected| / scale` (see `anomalyScore`).
 *   Monotone in the deviation; < 0.5 strictly inside the band (z < k), exactly 0.5 on its edge,
 *   > 0.5 outside it. With the default k = 3: at the expected value 0.0025, 1 scale inside the
 *   edge 0.12, 1 scale beyond it 0.88, 2 beyond 0.982, 3 beyond 0.9975. `anomaly` = the point is
 *   outside the band (score > 0.5). During warm-up (fewer than `warmup` points before it, or no
 *   prediction yet) score is 0 and anomaly false.
 */
export interface SeriesBaselineOptions {
  /** Points needed before scoring (score is 0 before). Default 24. */
  warmup?: number;
  /** Width of the band `expected ± k·scale`. Default 3. */
  k?: number;
  /** Seasonal cycles looked back for the median. Default 6. */
  cycles?: number;
  /** Points in the rolling (non-seasonal) window. Default 24. */
  window?: number;
  /** Maximum points kept in history (memory bound). Default 20 000. */
  maxHistory?: number;
}

export interface ScoredPoint {
  /** Expected value; undefined before the first point. */
  readonly expected: number | undefined;
  readonly lower: number | undefined;
  readonly upper: number | undefined;
  /** Anomaly score in [0, 1] (see `anomalyScore`); 0 during warm-up. */
  readonly score: number;
  /** True when the value is outside [lower, upper] after warm-up (score > 0.5). */
  readonly anomaly: boolean;
  /** Period used (ms), 0 for the rolling median, undefined while warming up. */
  readonly periodMs: number | undefined;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MAD_TO_SD = 1.4826;

/** Steepness of the logistic: one robust scale of deviation moves the log-odds by 2. */
const SCORE_SLOPE = 2;

/**
 * Anomaly score of a robust z (`|value − expected| / scale`, ≥ 0) against a band of half-width `k`
 * scales: the logistic `1 / (1 + exp(−2·(z − k)))`, in (0, 1), strictly increasing in z, 0.5 on
 * the band edge (z = k), < 0.5 inside, > 0.5 outside. Non-finite z (a zero scale cannot occur:
 * the scale has floors) gives 1 for +Infinity.
 */
export function anomalyScore(z: number, k: number): number {
  return 1 / (1 + Math.exp(-SCORE_SLOPE * (z - k)));
}

function medianOf(xs: number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  const n = a.length;
  const mid = n >> 1;
  return n % 2 ? a[mid]! : (a[mid - 1]! + a[mid]!) / 2;
}

function madOf(xs: number[], center: number): number {
  return medianOf(xs.map((x) => Math.abs(x - center)));
}

interface Candidate {
  periodMs: number;
  /** Exponentially weighted mean absolute (clipped) one-step error; NaN until first prediction. */
  err: number;
  /** Recent residuals (value − expected) for the scale estimate. */
  residuals: number[];
  predictions: number;
}

/** Streaming series scorer; see module docs. Timestamps in ms since epoch, ascending (ties allowed). */
export class SeriesBaseline {
  private readonly warmup: number;
  private readonly k: number;
  private readonly cycles: number;
  private readonly window: number;
  private readonly maxHistory: number;
  private readonly ts: number[] = [];
  private readonly vs: number[] = [];
  private readonly gaps: number[] = [];
  private readonly candidates: Candidate[] = [{ periodMs: 0, err: NaN, residuals: [], predictions: 0 }];
  private intervalMs = 0;
  private integerNonNeg = true;
  private seen = 0;
  private lastAcfAt = 0;

  constructor(options: SeriesBaselineOptions = {}) {
    this.warmup = options.warmup ?? 24;
    this.k = options.k ?? 3;
    this.cycles = options.cycles ?? 6;
    this.window = options.window ?? 24;
    this.maxHistory = options.maxHistory ?? 20_000;
  }

  /**
   * Scores `value` at `t` (ms) from the history only, then learns it.
   * @throws RangeError when `t` or `value` is not finite.
   */
  next(t: number, value: number): ScoredPoint {
    if (!Number.isFinite(t) || !Number.isFinite(value))
      throw new RangeError('timestamp and value must be finite numbers');
    const result = this.predict(t, value);
    this.learn(t, value, result);
    return result;
  }

  private predictWith(c: Candidate, t: number): { expected: number; neighbours: number[] } | undefined {
    if (c.periodMs === 0) {
      const n = this.vs.length;
      if (n === 0) return undefined;
      const neighbours = this.vs.slice(Math.max(0, n - this.window));
      return { expected: medianOf(neighbours), neighbours };
    }
    const tol = Math.max(this.intervalMs / 2, 1);
    const neighbours: number[] = [];
    for (let i = 1; i <= this.cycles; i++) {
      const v = this.valueNear(t - i * c.periodMs, tol);
      if (v !== undefined) neighbours.push(v);
    }
    if (neighbours.length < 2) return undefined;
    return { expected: medianOf(neighbours), neighbours };
  }

  private predict(t: number, value: number): ScoredPoint {
    if (this.seen === 0)
      return { expected: undefined, lower: undefined, upper: undefined, score: 0, anomaly: false, periodMs: undefined };
    let best: Candidate | undefined;
    let bestPred: { expected: number; neighbours: number[] } | undefined;
    for (const c of this.candidates) {
      const p = this.predictWith(c, t);
      if (!p) continue;
      // A candidate needs a track record before it can beat the rolling median.
      if (c.periodMs !== 0 && c.predictions < 8) continue;
      if (!best || (Number.isFinite(c.err) && (!Number.isFinite(best.err) || c.err < best.err))) {
        best = c;
        bestPred = p;
      }
    }
    if (!best || !bestPred)
      return { expected: undefined, lower: undefined, upper: undefined, score: 0, anomaly: false, periodMs: undefined };
    const expected = bestPred.expected;
    const nb = bestPred.neighbours;
    const spreadNeighbours = nb.length >= 3 ? MAD_TO_SD * madOf(nb, expected) : 0;
    const spreadResiduals =
      best.residuals.length >= 8 ? MAD_TO_SD * madOf(best.residuals, medianOf(best.residuals)) : 0;
    const poisson = this.integerNonNeg ? Math.sqrt(Math.max(expected, 1)) : 0;
    const scale = Math.max(spreadNeighbours, spreadResiduals, poisson, Math.abs(expected) * 1e-3, 1e-9);
    let lower = expected - this.k * scale;
    const upper = expected + this.k * scale;
    if (this.integerNonNeg && lower < 0) lower = 0;
    const z = Math.abs(value - expected) / scale;
    const warm = this.seen >= this.warmup;
    const score = warm ? anomalyScore(z, this.k) : 0;
    const anomaly = warm && (value > upper || value < lower);
    return { expected, lower, upper, score, anomaly, periodMs: best.periodMs };
  }

  private learn(t: number, value: number, scored: ScoredPoint): void {
    // Candidate error bookkeeping uses each candidate's own prediction, made before learning.
    for (const c of this.candidates) {
      const p = this.predictWith(c, t);
      if (!p) continue;
      const r = value - p.expected;
      c.residuals.push(r);
      if (c.residuals.length > 64) c.residuals.shift();
      const clip =
        scored.upper !== undefined && scored.expected !== undefined ? 2 * (scored.upper - scored.expected) : Infinity;
      const e = Math.min(Math.abs(r), clip > 0 ? clip : Infinity);
      c.err = Number.isFinite(c.err) ? c.err * 0.97 + e * 0.03 : e;
      c.predictions++;
    }
    const prev = this.ts[this.ts.length - 1];
    if (prev !== undefined && t > prev) {
      this.gaps.push(t - prev);
      if (this.gaps.length > 64) this.gaps.shift();
      this.intervalMs = medianOf(this.gaps);
    }
    this.ts.push(t);
    this.vs.push(value);
    if (this.ts.length > this.maxHistory) {
      this.ts.shift();
      this.vs.shift();
    }
    if (!(Number.isInteger(value) && value >= 0)) this.integerNonNeg = false;
    this.seen++;
    this.refreshCandidates();
  }

  /** Adds day/week candidates once the interval is known, and an autocorrelation period. */
  private refreshCandidates(): void {
    if (this.gaps.length < 8 || this.intervalMs <= 0) return;
    const has = (p: number): boolean => this.candidates.some((c) => Math.abs(c.periodMs - p) <= this.intervalMs / 2);
    const add = (p: number): void => {
      if (!has(p)) this.candidates.push({ periodMs: p, err: NaN, residuals: [], predictions: 0 });
    };
    if (this.intervalMs <= DAY / 4) add(DAY);
    if (this.intervalMs <= WEEK / 4) add(WEEK);
    if (this.seen - this.lastAcfAt >= 256 && this.vs.length >= 96) {
      this.lastAcfAt = this.seen;
      const lag = this.acfPeriod();
      if (lag !== undefined) add(lag * this.intervalMs);
    }
  }

  /** Strongest autocorrelation lag (in samples) of the recent history, if the series is regular. */
  private acfPeriod(): number | undefined {
    const n = Math.min(this.vs.length, 4096);
    const xs = this.vs.slice(this.vs.length - n);
    const regular = madOf(this.gaps, this.intervalMs) <= this.intervalMs * 0.05;
    if (!regular) return undefined;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    let denom = 0;
    for (const x of xs) denom += (x - mean) ** 2;
    if (denom === 0) return undefined;
    const maxLag = Math.min(Math.floor(n / 3), 2048);
    // Skip the short-lag shoulder (smooth series correlate with their neighbours): look for the
    // highest peak only after the autocorrelation first drops below zero.
    let crossed = false;
    let bestLag = 0;
    let bestR = 0.3;
    for (let lag = 1; lag <= maxLag; lag++) {
      let s = 0;
      for (let i = lag; i < n; i++) s += (xs[i]! - mean) * (xs[i - lag]! - mean);
      const r = s / denom;
      if (!crossed) {
        if (r < 0) crossed = true;
        continue;
      }
      // Prefer the shortest lag among near-equal peaks (multiples of the period score alike).
      if (r > bestR * 1.05) {
        bestR = r;
        bestLag = lag;
      }
    }
    return bestLag > 1 ? bestLag : undefined;
  }

  /** Value of the history point closest to `t` within `tol` ms (binary search). */
  private valueNear(t: number, tol: number): number | undefined {
    const ts = this.ts;
    let lo = 0;
    let hi = ts.length - 1;
    if (hi < 0 || t < ts[0]! - tol || t > ts[hi]! + tol) return undefined;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    let bestI = -1;
    let bestD = Infinity;
    for (const i of [lo - 1, lo]) {
      if (i < 0 || i >= ts.length) continue;
      const d = Math.abs(ts[i]! - t);
      if (d < bestD) {
        bestD = d;
        bestI = i;
      }
    }
    return bestI >= 0 && bestD <= tol ? this.vs[bestI] : undefined;
  }
}
