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

/** Bytes of one profile record: levels (u16 per metric and slot), obs (u8 per slot), disp (f32 per metric). */
const RECORD = M * SLOTS * 2 + SLOTS + M * 4;
/** Byte offsets inside a record. */
const OBS_AT = M * SLOTS * 2;
const DISP_AT = OBS_AT + SLOTS;

/** Three views of one ArrayBuffer holding one or more profile records. */
interface Storage {
  readonly u16: Uint16Array;
  readonly u8: Uint8Array;
  readonly f32: Float32Array;
}

function storage(records: number): Storage {
  const buf = new ArrayBuffer(RECORD * records);
  return { u16: new Uint16Array(buf), u8: new Uint8Array(buf), f32: new Float32Array(buf) };
}

/**
 * Storage for the profiles of many identities: fixed-size records (848 bytes) carved from shared
 * slabs, so a new identity costs no allocation of its own (typed arrays with their own buffers
 * cost several hundred bytes of object overhead and a native allocation each). Records are never
 * freed: use one arena per engine, for profiles that live as long as the engine.
 */
export class ProfileArena {
  private readonly perSlab: number;
  private slab: Storage | undefined;
  private used = 0;

  /** `perSlab`: records per slab (default 256, about 212 KB). */
  constructor(perSlab = 256) {
    this.perSlab = perSlab;
  }

  /** A zeroed record: its storage and byte offset. */
  take(): { store: Storage; at: number } {
    if (!this.slab || this.used === this.perSlab) {
      this.slab = storage(this.perSlab);
      this.used = 0;
    }
    return { store: this.slab, at: RECORD * this.used++ };
  }
}

export class IdentityProfile {
  private readonly u16: Uint16Array;
  private readonly u8: Uint8Array;
  private readonly f32: Float32Array;
  /** Start of this profile's levels in `u16`, of its obs in `u8`, of its disp in `f32`. */
  private readonly lv: number;
  private readonly ob: number;
  private readonly dp: number;
  /** Epoch hour (ms / 3 600 000) of the last closed hour; -1 before the first. */
  lastClosedHour = -1;

  /**
   * A cold profile, or one restored from `snapshot()` output. With an `arena` the storage is a
   * record of the arena (engines hold many profiles); without, the profile has its own buffer.
   */
  constructor(snapshot?: ProfileSnapshot, arena?: ProfileArena) {
    const { store, at } = arena ? arena.take() : { store: storage(1), at: 0 };
    this.u16 = store.u16;
    this.u8 = store.u8;
    this.f32 = store.f32;
    this.lv = at >> 1;
    this.ob = at + OBS_AT;
    this.dp = (at + DISP_AT) >> 2;
    if (snapshot) {
      const levels = Buffer.from(snapshot.levels, 'base64');
      this.u8.set(levels.subarray(0, OBS_AT), at);
      this.u8.set(Buffer.from(snapshot.obs, 'base64').subarray(0, SLOTS), this.ob);
      this.f32.set(snapshot.disp.slice(0, M), this.dp);
      this.lastClosedHour = snapshot.lastClosedHour;
    } else {
      for (let m = 0; m < M; m++) this.f32[this.dp + m] = 0.5;
    }
  }

  /** Expected value and scale of `metric` in `slot` (0–167); undefined when cold. */
  expect(metric: Metric, slot: number): Expectation | undefined {
    const out: Expectation = { expected: 0, scale: 0, seasonal: false };
    return this.expectInto(metric, slot, out) ? out : undefined;
  }

  /**
   * `expect` without allocating (hot path): writes the expectation into `out` and returns true,
   * or returns false when cold (`out` untouched).
   */
  expectInto(metric: Metric, slot: number, out: Expectation): boolean {
    const m = METRIC_INDEX[metric];
    const obs = this.u8;
    const ob = this.ob;
    const lv = this.lv + m * SLOTS;
    let expected: number;
    let seasonal = false;
    if ((obs[ob + slot]! & COUNT) >= 2) {
      expected = dec(this.u16[lv + slot]!);
      seasonal = true;
    } else {
      let sum = 0;
      let n = 0;
      for (let s = slot % 24; s < SLOTS; s += 24) {
        if ((obs[ob + s]! & COUNT) >= 1) {
          sum += dec(this.u16[lv + s]!);
          n++;
        }
      }
      if (n < 3) return false;
      expected = sum / n;
    }
    out.expected = expected;
    out.scale = Math.max(1 + Math.sqrt(expected), this.f32[this.dp + m]! * (expected + 1));
    out.seasonal = seasonal;
    return true;
  }

  /** True when the identity was ever active (any event) in local hour-of-day `hourOfDay` (0–23). */
  activeHourOfDay(hourOfDay: number): boolean {
    for (let s = hourOfDay; s < SLOTS; s += 24) if (this.u8[this.ob + s]! & ACTIVE) return true;
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
        for (let i = this.lv; i < this.lv + M * SLOTS; i++) this.u16[i] = enc(dec(this.u16[i]!) * f);
        for (let s = this.ob; s < this.ob + SLOTS; s++)
          this.u8[s] = (this.u8[s]! & ACTIVE) | Math.min(COUNT, (this.u8[s]! & COUNT) + weeks);
      }
      for (let h = epochHour - (gap % SLOTS); h < epochHour; h++)
        this.update(hourOfWeek(h * HOUR, zone), null, false, alpha, k);
    }
    this.update(hourOfWeek(epochHour * HOUR, zone), values, active, alpha, k);
    this.lastClosedHour = epochHour;
  }

  private update(slot: number, values: readonly number[] | null, active: boolean, alpha: number, k: number): void {
    const o = this.u8[this.ob + slot]!;
    const first = (o & COUNT) === 0;
    for (let m = 0; m < M; m++) {
      const x = values ? (values[m] ?? 0) : 0;
      const i = this.lv + m * SLOTS + slot;
      const level = dec(this.u16[i]!);
      if (first) {
        this.u16[i] = enc(x);
        continue;
      }
      let clipped = x;
      if ((o & COUNT) >= 2) {
        const d = this.dp + m;
        const scale = Math.max(1 + Math.sqrt(level), this.f32[d]! * (level + 1));
        clipped = Math.min(x, level + k * scale);
        if (x > 0) this.f32[d] = this.f32[d]! * 0.95 + 0.05 * Math.min(3, Math.abs(x - level) / (level + 1));
      }
      this.u16[i] = enc((1 - alpha) * level + alpha * clipped);
    }
    this.u8[this.ob + slot] = (o & ACTIVE) | (active ? ACTIVE : 0) | Math.min(COUNT, (o & COUNT) + 1);
  }

  snapshot(): ProfileSnapshot {
    const at = this.lv * 2;
    const bytes = Buffer.from(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength);
    return {
      levels: bytes.subarray(at, at + OBS_AT).toString('base64'),
      obs: bytes.subarray(this.ob, this.ob + SLOTS).toString('base64'),
      disp: Array.from(this.f32.subarray(this.dp, this.dp + M)),
      lastClosedHour: this.lastClosedHour,
    };
  }
}
