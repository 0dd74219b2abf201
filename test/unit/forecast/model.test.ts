import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  forecastStorage,
  predictLinearDays,
  type StorageSample,
} from '../../../services/detector/src/forecast/model.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { makeTrace, trueDays } from './traces.ts';

const HOUR = 3_600_000;
const GB = 1e9;
const CAP = 1000 * GB;
const T0 = Date.UTC(2026, 0, 5); // a Monday

/** Hourly samples from a function of the hour index. */
function series(hours: number, f: (h: number) => number, skip: (h: number) => boolean = () => false): StorageSample[] {
  const out: StorageSample[] = [];
  for (let h = 0; h < hours; h++) {
    if (skip(h)) continue;
    out.push({ timestamp: new Date(T0 + h * HOUR).toISOString(), used_bytes: f(h), capacity_bytes: CAP });
  }
  return out;
}

const within = (x: number | null, lo: number, hi: number): void => {
  assert.ok(x !== null && x >= lo && x <= hi, `expected ${x} in [${lo}, ${hi}]`);
};

void describe('forecastStorage', () => {
  void test('steady growth: 500 GB used, 5 GB/day, 1000 GB → 100 days to full, 70 to 85 %', () => {
    const r = forecastStorage(series(60 * 24, (h) => 200 * GB + (5 * GB * h) / 24));
    // after 60 days the level is 500 GB
    within(r.days_to_full, 99, 101);
    within(r.days_to_warn, 69, 71);
    within(r.growth_bytes_per_day / GB, 4.95, 5.05);
    assert.ok(r.days_to_full_lower !== null && r.days_to_full_lower <= (r.days_to_full as number));
    assert.ok(r.days_to_full_upper !== null && r.days_to_full_upper >= (r.days_to_full as number));
    assert.equal(r.last_gc, null);
    assert.equal(r.level_shifts.length, 0);
  });

  void test('GC drop is a level shift: the trend continues from the new level', () => {
    // 5 GB/day, one GC 10 days before the end reclaims 150 GB
    const f = (h: number): number => 300 * GB + (5 * GB * h) / 24 - (h >= 50 * 24 ? 150 * GB : 0);
    const r = forecastStorage(series(60 * 24, f));
    const level = f(60 * 24 - 1);
    within(r.level_bytes / GB, level / GB - 2, level / GB + 2);
    within(r.growth_bytes_per_day / GB, 4.9, 5.1);
    within(r.days_to_full, (CAP - level) / (5 * GB) - 1, (CAP - level) / (5 * GB) + 1);
    assert.equal(r.last_gc, new Date(T0 + 50 * 24 * HOUR).toISOString());
    assert.equal(r.level_shifts.filter((s) => s.kind === 'gc').length, 1);
    // predict_linear over 7 days after the drop is fine, but with the drop inside the window it is fooled
    const pts = series(53 * 24, f).map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes }));
    assert.equal(predictLinearDays(pts, CAP), null, 'predict_linear sees a falling line and says never');
    const r2 = forecastStorage(series(53 * 24, f));
    assert.notEqual(r2.days_to_full, null, 'a drop never means "never full"');
  });

  void test('weekend lull: growth only on weekdays; rate = weekly average, the path is flat on weekends', () => {
    // 7 GB per weekday (Mon–Fri), nothing at weekends → 5 GB/day on average
    const perHour = (h: number): number => {
      const dow = Math.floor(h / 24) % 7; // T0 is a Monday
      return dow < 5 ? (7 * GB) / 24 : 0;
    };
    const vals: number[] = [];
    let acc = 300 * GB;
    for (let h = 0; h < 60 * 24 + 17; h++) {
      acc += perHour(h);
      vals.push(acc);
    }
    const r = forecastStorage(series(vals.length, (h) => vals[h] as number));
    within(r.gross_growth_bytes_per_day / GB, 4.9, 5.1);
    assert.match(r.method, /weekly/);
    // the last sample is a Friday 16:00 → Saturday and Sunday add (almost) nothing
    const p0 = r.path[0]?.expected ?? 0;
    const p2 = r.path[2]?.expected ?? 0;
    assert.ok(p2 - p0 < 4 * GB, `weekend growth ${(p2 - p0) / GB} GB should be small`);
    const remaining = CAP - (vals[vals.length - 1] as number);
    within(r.days_to_full, remaining / (5 * GB) - 3, remaining / (5 * GB) + 3);
  });

  void test('a migration step is a one-off jump, not a new growth rate', () => {
    const f = (h: number): number => 200 * GB + (4 * GB * h) / 24 + (h >= 57 * 24 ? 120 * GB : 0);
    const r = forecastStorage(series(60 * 24, f));
    within(r.growth_bytes_per_day / GB, 3.9, 4.1);
    assert.equal(r.level_shifts.filter((s) => s.kind === 'step').length, 1);
    const level = f(60 * 24 - 1);
    within(r.days_to_full, (CAP - level) / (4 * GB) - 1, (CAP - level) / (4 * GB) + 1);
    const pts = series(60 * 24, f).map((s) => ({ t: Date.parse(s.timestamp), v: s.used_bytes }));
    const lin = predictLinearDays(pts, CAP) as number;
    assert.ok(lin < (r.days_to_full as number) / 2, `predict_linear (${lin}) takes the jump for growth`);
  });

  void test('flat usage: not within the horizon', () => {
    let x = 1;
    const noise = (): number => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2 * GB;
    const r = forecastStorage(series(40 * 24, () => 400 * GB + noise()));
    assert.equal(r.days_to_full, null);
    assert.equal(r.days_to_warn, null);
    assert.equal(r.days_to_full_upper, null);
    assert.ok(Math.abs(r.growth_bytes_per_day) < 0.1 * GB);
  });

  void test('shrinking usage: never full within the horizon', () => {
    const r = forecastStorage(series(40 * 24, (h) => 800 * GB - (2 * GB * h) / 24));
    assert.ok(r.growth_bytes_per_day < 0);
    assert.equal(r.days_to_full, null);
    assert.equal(r.days_to_warn, null);
  });

  void test('already above the warning level: days_to_warn = 0', () => {
    const r = forecastStorage(series(30 * 24, (h) => 870 * GB + (1 * GB * h) / 24));
    assert.equal(r.days_to_warn, 0);
    assert.ok(r.days_to_full !== null && r.days_to_full > 0);
  });

  void test('gaps and duplicate samples do not change the answer', () => {
    const f = (h: number): number => 200 * GB + (5 * GB * h) / 24;
    const clean = forecastStorage(series(60 * 24, f));
    const gappy = series(60 * 24, f, (h) => (h > 100 && h < 172) || (h > 900 && h < 960));
    const dup = [...gappy, ...gappy.filter((_, i) => i % 17 === 0)].sort((a, b) =>
      a.timestamp.localeCompare(b.timestamp),
    );
    const r = forecastStorage(dup);
    assert.equal(r.level_shifts.length, 0, 'a gap with steady growth is not a step');
    within(r.days_to_full, (clean.days_to_full as number) - 0.5, (clean.days_to_full as number) + 0.5);
  });

  void test('too little data → FORECAST_INPUT_INVALID', () => {
    assert.throws(
      () => forecastStorage(series(20, (h) => h * GB)),
      (e: unknown) => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID' && !e.retriable,
    );
    assert.throws(
      () => forecastStorage([]),
      (e: unknown) => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID',
    );
    // 30 samples but within one day
    const dense: StorageSample[] = [];
    for (let i = 0; i < 30; i++)
      dense.push({ timestamp: new Date(T0 + i * 60_000).toISOString(), used_bytes: i, capacity_bytes: CAP });
    assert.throws(
      () => forecastStorage(dense),
      (e: unknown) => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID',
    );
  });

  void test('short series (3 days) still forecasts, with a wider interval', () => {
    const r = forecastStorage(series(3 * 24, (h) => 500 * GB + (5 * GB * h) / 24));
    assert.match(r.method, /short/);
    within(r.days_to_full, 95, 105);
    assert.ok((r.days_to_full_upper ?? Infinity) - (r.days_to_full_lower ?? 0) > 10);
  });

  void test('horizon: a crossing past it is null, not a made-up date', () => {
    const r = forecastStorage(
      series(30 * 24, (h) => 100 * GB + (1 * GB * h) / 24),
      { horizonDays: 365 },
    );
    // 870 GB to go at 1 GB/day → ~870 days
    assert.equal(r.days_to_full, null);
    const r2 = forecastStorage(
      series(30 * 24, (h) => 100 * GB + (1 * GB * h) / 24),
      { horizonDays: 1000 },
    );
    within(r2.days_to_full, 860, 880);
  });

  void test('synthetic trace with weekly GC, gaps and duplicates: truth inside the interval', () => {
    const t = makeTrace({
      seed: 11,
      historyDays: 90,
      targetDaysToFull: 60,
      gc: 'scheduled',
      gcEveryDays: 7,
      gcFraction: 0.3,
      gaps: 2,
      duplicates: 0.05,
      drift: 0,
    });
    const r = forecastStorage(t.history);
    const truth = trueDays(t, t.capacity) as number;
    assert.match(r.method, /gc/);
    assert.ok(
      truth >= (r.days_to_full_lower as number) && truth <= (r.days_to_full_upper as number),
      `truth ${truth} in [${r.days_to_full_lower}, ${r.days_to_full_upper}]`,
    );
    assert.ok(Math.abs((r.days_to_full as number) - truth) < 0.15 * truth);
  });
});
