import { hourOfWeek } from '../time.ts';

/**
 * Per-identity seasonal baseline, hour-of-week in the identity's IANA zone, built to stay small
 * (about 0.9 KB per identity): for each metric (image pulls, blob bytes) a winsorized EWMA level per
 * hour-of-week slot, stored log-encoded in 16 bits (relative precision ≈ 0.07 %), one byte per slot
 * holding the observation count (7 bits) and an "ever active in this slot" flag, and one robust
 * dispersion figure per metric.
 *
 * - Each closed hour updates its slot: level ← (1 − α)·level + α·min(x, upper) (winsorized at the
 *   current upper bound once the slot is warm, so an attack does not teach itself as normal).
 * - Hours without activity are zero observations, filled lazily when the next hour closes.
 * - expected(slot) = the slot level once it has ≥ 2 observations (two weeks), else the mean level of
 *   the same local hour on the other days (hour-of-day fallback), else undefined (cold: the caller
 *   uses the population fallback).
 * - scale = max(1 + √expected (Poisson floor), dispersion·(expected + 1)); dispersion is an EWMA of
 *   |x − expected| / (expected + 1) over active hours.
 */
export const METRICS = ['pulls', 'bytes'] as const;
export type Metric = (typeof METRICS)[number];
export const METRIC_INDEX: Readonly<Record<Metric, number>> = { pulls: 0, bytes: 1 };
/** High bit of a slot's observation byte: the identity has been active in this slot at least once. */
const ACTIVE = 0x80;
const COUNT = 0x7f;
const M = METRICS.length;
const SLOTS = 168;
const HOUR = 3_600_000;
/** Byte offsets of `obs` and `disp` in the shared backing store (`levels` starts at 0). */
const OBS_AT = M * SLOTS * 2;
const DISP_AT = OBS_AT + SLOTS;

const enc = (x: number): number => Math.min(65535, Math.round(Math.log2(1 + Math.max(0, x)) * 1000));
const dec = (u: number): number => (u === 0 ? 0 : 2 ** (u / 1000) - 1);

export interface Expectation {
  expected: number;
  scale: number;
  /** True when the slot itself is warm (≥ 2 observations), false for the hour-of-day fallback. */
  seasonal: boolean;
}

export interface ProfileSnapshot {
  levels: string;
  obs: string;
  disp: number[];
  lastClosedHour: number;
}

export class IdentityProfile {
  readonly levels: Uint16Array;
  readonly obs: Uint8Array;
  readonly disp: Float32Array;
  /** Epoch hour (ms / 3 600 000) of the last closed hour; -1 before the first. */
  lastClosedHour = -1;

  constructor(snapshot?: ProfileSnapshot) {
    // One backing store for the three arrays: one allocation per identity instead of three.
    const buf = new ArrayBuffer(OBS_AT + SLOTS + M * 4);
    this.levels = new Uint16Array(buf, 0, M * SLOTS);
    this.obs = new Uint8Array(buf, OBS_AT, SLOTS);
    this.disp = new Float32Array(buf, DISP_AT, M);
    if (snapshot) {
      const levels = Buffer.from(snapshot.levels, 'base64');
      new Uint8Array(buf, 0, Math.min(levels.length, OBS_AT)).set(levels.subarray(0, OBS_AT));
      this.obs.set(Buffer.from(snapshot.obs, 'base64').subarray(0, SLOTS));
      this.disp.set(snapshot.disp.slice(0, M));
      this.lastClosedHour = snapshot.lastClosedHour;
    } else this.disp.fill(0.5);
  }

  /** Expected value and scale of `metric` in `slot` (0–167); undefined when cold. */
  expect(metric: Metric, slot: number): Expectation | undefined {
    const m = METRIC_INDEX[metric];
    let expected: number;
    let seasonal = false;
    if ((this.obs[slot]! & COUNT) >= 2) {
      expected = dec(this.levels[m * SLOTS + slot]!);
      seasonal = true;
    } else {
      let sum = 0;
      let n = 0;
      for (let s = slot % 24; s < SLOTS; s += 24) {
        if ((this.obs[s]! & COUNT) >= 1) {
          sum += dec(this.levels[m * SLOTS + s]!);
          n++;
        }
      }
      if (n < 3) return undefined;
      expected = sum / n;
    }
    const scale = Math.max(1 + Math.sqrt(expected), this.disp[m]! * (expected + 1));
    return { expected, scale, seasonal };
  }

  /** True when the identity was ever active (any event) in local hour-of-day `hourOfDay` (0–23). */
  activeHourOfDay(hourOfDay: number): boolean {
    for (let s = hourOfDay; s < SLOTS; s += 24) if (this.obs[s]! & ACTIVE) return true;
    return false;
  }

  /**
   * Closes the epoch hour `epochHour` with observed `values` (indexed like METRICS; `active` when
   * the identity had any event in it), after
   * filling the hours since the last close with zeros. Hours at or before the last close are
   * ignored (late buckets never re-teach the baseline). `k` is the band width used to winsorize.
   */
  closeHour(epochHour: number, values: readonly number[], zone: string, active = true, alpha = 0.3, k = 4): void {
    if (epochHour <= this.lastClosedHour) return;
    if (this.lastClosedHour >= 0) {
      const gap = epochHour - this.lastClosedHour - 1;
      if (gap >= SLOTS) {
        const weeks = Math.floor(gap / SLOTS);
        const f = (1 - alpha) ** weeks;
        for (let i = 0; i < this.levels.length; i++) this.levels[i] = enc(dec(this.levels[i]!) * f);
        for (let s = 0; s < SLOTS; s++)
          this.obs[s] = (this.obs[s]! & ACTIVE) | Math.min(COUNT, (this.obs[s]! & COUNT) + weeks);
      }
      for (let h = epochHour - (gap % SLOTS); h < epochHour; h++)
        this.update(hourOfWeek(h * HOUR, zone), null, false, alpha, k);
    }
    this.update(hourOfWeek(epochHour * HOUR, zone), values, active, alpha, k);
    this.lastClosedHour = epochHour;
  }

  private update(slot: number, values: readonly number[] | null, active: boolean, alpha: number, k: number): void {
    const first = (this.obs[slot]! & COUNT) === 0;
    for (let m = 0; m < M; m++) {
      const x = values ? (values[m] ?? 0) : 0;
      const i = m * SLOTS + slot;
      const level = dec(this.levels[i]!);
      if (first) {
        this.levels[i] = enc(x);
        continue;
      }
      let clipped = x;
      if ((this.obs[slot]! & COUNT) >= 2) {
        const scale = Math.max(1 + Math.sqrt(level), this.disp[m]! * (level + 1));
        clipped = Math.min(x, level + k * scale);
        if (x > 0) this.disp[m] = this.disp[m]! * 0.95 + 0.05 * Math.min(3, Math.abs(x - level) / (level + 1));
      }
      this.levels[i] = enc((1 - alpha) * level + alpha * clipped);
    }
    const o = this.obs[slot]!;
    this.obs[slot] = (o & ACTIVE) | (active ? ACTIVE : 0) | Math.min(COUNT, (o & COUNT) + 1);
  }

  snapshot(): ProfileSnapshot {
    return {
      levels: Buffer.from(this.levels.buffer, this.levels.byteOffset, this.levels.byteLength).toString('base64'),
      obs: Buffer.from(this.obs).toString('base64'),
      disp: Array.from(this.disp),
      lastClosedHour: this.lastClosedHour,
    };
  }
}
