import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatBytesPerDay } from '../../../services/detector/src/forecast/units.ts';
import { assessStaleness, parseDurationSeconds, formatAge } from '../../../services/detector/src/forecast/staleness.ts';
import { summaryLines, staleWarning } from '../../../services/detector/src/forecast/summary.ts';
import { forecastStorage, type StorageSample } from '../../../services/detector/src/forecast/model.ts';
import { AppError } from '../../../shared/src/errors.ts';

const DAY = 86_400_000;
const invalid = (e: unknown): boolean => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID' && !e.retriable;

void describe('formatBytes (SI)', () => {
  void test('unit follows the magnitude', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(100), '100 B');
    assert.equal(formatBytes(85), '85 B');
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1500), '1.5 kB');
    assert.equal(formatBytes(2.5e6), '2.5 MB');
    assert.equal(formatBytes(622.45e9), '622.5 GB');
    assert.equal(formatBytes(1e12), '1.0 TB');
    assert.equal(formatBytes(999.97e9), '1.0 TB', 'no "1000.0 GB"');
    assert.equal(formatBytes(-1.5e9), '-1.5 GB');
    assert.equal(formatBytes(NaN), 'n/a');
    assert.equal(formatBytesPerDay(2.61e9), '2.61 GB/day');
  });
});

void describe('assessStaleness', () => {
  const base = {
    last_timestamp: '2026-06-01T00:00:00.000Z',
    days_to_warn: 90,
    days_to_full: 150,
    sampling_interval_seconds: 3600,
  };
  void test('default threshold: max(2 × interval, 1 day)', () => {
    const now = new Date(Date.parse(base.last_timestamp) + 0.5 * DAY);
    const fresh = assessStaleness(base, now);
    assert.equal(fresh.stale, false);
    assert.equal(fresh.threshold_seconds, 86_400);
    assert.equal(fresh.age_seconds, 43_200);
    const daily = assessStaleness(
      { ...base, sampling_interval_seconds: 86_400 },
      new Date(Date.parse(base.last_timestamp) + 1.5 * DAY),
    );
    assert.equal(daily.threshold_seconds, 2 * 86_400);
    assert.equal(daily.stale, false);
    assert.equal(assessStaleness(base, new Date(Date.parse(base.last_timestamp) + 1.01 * DAY)).stale, true);
  });
  void test('six months old: stale, dates from the last sample, days to full from now negative', () => {
    const now = new Date(Date.parse(base.last_timestamp) + 180 * DAY);
    const st = assessStaleness(base, now);
    assert.equal(st.stale, true);
    assert.equal(st.full_at, '2026-10-29T00:00:00.000Z');
    assert.equal(st.warn_at, '2026-08-30T00:00:00.000Z');
    assert.equal(st.days_to_full_from_now, -30);
    assert.match(
      staleWarning(st) ?? '',
      /^WARNING: stale data: the last sample \(2026-06-01T00:00:00\.000Z\) is 180\.0 d old \(stale after 1\.0 d\); days are counted from that last sample, not from now; 100 % was projected for 2026-10-29, already past by 30\.0 d$/,
    );
  });
  void test('configurable threshold; bad values are FORECAST_INPUT_INVALID', () => {
    const now = new Date(Date.parse(base.last_timestamp) + 3 * 3_600_000);
    assert.equal(assessStaleness(base, now, { staleAfterSeconds: 2 * 3600 }).stale, true);
    assert.equal(assessStaleness(base, now, { staleAfterSeconds: 4 * 3600 }).stale, false);
    assert.throws(() => assessStaleness(base, now, { staleAfterSeconds: 0 }), invalid);
    assert.throws(() => assessStaleness({ ...base, last_timestamp: 'x' }, now), invalid);
  });
  void test('parseDurationSeconds / formatAge', () => {
    assert.equal(parseDurationSeconds('36h'), 36 * 3600);
    assert.equal(parseDurationSeconds('2d'), 172_800);
    assert.equal(parseDurationSeconds('90m'), 5400);
    assert.equal(parseDurationSeconds('45'), 45);
    assert.equal(parseDurationSeconds('1.5D'), 129_600);
    for (const bad of ['', 'soon', '-1d', '0h', '3w']) assert.throws(() => parseDurationSeconds(bad), invalid, bad);
    assert.equal(formatAge(5400), '1.5 h');
    assert.equal(formatAge(180 * 86_400), '180.0 d');
  });
});

void describe('summaryLines', () => {
  const T0 = Date.UTC(2026, 5, 1);
  const samples = (capacity: number): StorageSample[] =>
    Array.from({ length: 360 }, (_, i) => ({
      timestamp: new Date(T0 + i * 6 * 3_600_000).toISOString(),
      used_bytes: 400e9 + 2.5e9 * Math.floor(i / 4),
      capacity_bytes: capacity,
    }));
  void test('current data below the thresholds: days after the last sample, calendar date, SI units', () => {
    const r = forecastStorage(samples(1e12));
    const now = new Date(Date.parse(r.last_timestamp) + 3_600_000);
    const lines = summaryLines(r, assessStaleness(r, now));
    assert.equal(lines.length, 4);
    assert.match(
      lines[0] as string,
      /^used 622\.5 GB of 1\.0 TB \(62\.\d %\), growing 2\.50 GB\/day; last sample 2026-08-29T18:00:00\.000Z$/,
    );
    assert.match(
      lines[1] as string,
      /^85 %: 9\d\.\d days after the last sample \(80 %: \d+\.\d days – \d+\.\d days\) → 2026-11-\d\d \[850\.0 GB\]$/,
    );
    assert.match(lines[3] as string, /^level shifts: 0 \(last GC none\); noise .* per 6\.0 h step; method /);
  });
  void test('over capacity: "already at/over … since", small capacity in bytes, stale warning first', () => {
    const r = forecastStorage(samples(600e9));
    const lines = summaryLines(r, assessStaleness(r, new Date(Date.parse(r.last_timestamp) + 10 * DAY)));
    assert.match(
      lines[0] as string,
      /^WARNING: stale data: .* 10\.0 d old .*usage was already at\/over 100 % at that sample$/,
    );
    assert.match(lines[1] as string, /^used 622\.5 GB of 600\.0 GB \(103\.8 %\)/);
    assert.equal(lines[2], '85 %: already at/over 85 % (510.0 GB) since 2026-07-15T00:00:00.000Z');
    assert.equal(lines[3], '100 %: already at/over 100 % (600.0 GB) since 2026-08-20T00:00:00.000Z');
    const tiny = forecastStorage(samples(100));
    const t = summaryLines(tiny, assessStaleness(tiny, new Date(Date.parse(tiny.last_timestamp))));
    assert.match(t[0] as string, /^used 622\.5 GB of 100 B \(> 999 %\)/);
    assert.equal(
      t[2],
      '100 %: already at/over 100 % (100 B) since at least 2026-06-01T00:00:00.000Z (the first sample)',
    );
  });
});
