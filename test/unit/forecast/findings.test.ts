import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { forecastStorage, type StorageSample } from '../../../services/detector/src/forecast/model.ts';
import { storageFindings, storageSeverity } from '../../../services/detector/src/forecast/findings.ts';
import { formatBytesPerDay } from '../../../services/detector/src/forecast/units.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';

const GB = 1e9;
const CAP = 1000 * GB;
const T0 = Date.UTC(2026, 0, 5);
const now = new Date('2026-03-10T00:00:00Z');

/** 40 days at 5 GB/day ending at `end` GB. */
function forecastEndingAt(end: number, perDay = 5) {
  const s: StorageSample[] = [];
  const hours = 40 * 24;
  for (let h = 0; h < hours; h++)
    s.push({
      timestamp: new Date(T0 + h * 3_600_000).toISOString(),
      used_bytes: (end - (perDay * (hours - 1 - h)) / 24) * GB,
      capacity_bytes: CAP,
    });
  return forecastStorage(s);
}

void describe('storageFindings (storage.exhaustion)', () => {
  void test('severity rises as days to full shrink', () => {
    assert.equal(storageSeverity(forecastEndingAt(980)), 'critical'); // 4 days
    assert.equal(storageSeverity(forecastEndingAt(900)), 'high'); // 20 days
    assert.equal(storageSeverity(forecastEndingAt(700)), 'medium'); // 60 days
    assert.equal(storageSeverity(forecastEndingAt(400)), 'low'); // 120 days
    assert.equal(storageSeverity(forecastEndingAt(300, 1)), null); // 700 days
  });

  void test('firing finding matches the contract: observed = days with the interval', () => {
    const r = forecastEndingAt(900);
    const [f] = storageFindings('fs:/var/lib/registry', r, undefined, now);
    assert.ok(f);
    findingSchema.parse(f);
    assert.equal(f.rule, 'storage.exhaustion');
    assert.equal(f.status, 'firing');
    assert.deepEqual(f.entity, { type: 'storage', id: 'fs:/var/lib/registry' });
    assert.equal(f.observed.unit, 'days');
    assert.equal(f.observed.value, r.days_to_full);
    assert.equal(f.observed.lower, r.days_to_full_lower);
    assert.equal(f.observed.upper, r.days_to_full_upper);
    assert.equal(f.detected_at, now.toISOString());
    assert.match(f.message, /fills up in 20\.\d days/);
    // The growth in the CLI's and the capacity report's SI units (formatBytesPerDay), not MiB.
    assert.match(f.message, new RegExp(`growing ${formatBytesPerDay(r.growth_bytes_per_day).replace('.', '\\.')}\\.$`));
  });

  void test('levels already reached read "already at/over … since …", not "in 0.0 days"', () => {
    // 900 GB of 1000 GB: over the 85 % warning level for days, not full yet.
    const warn = storageFindings('s', forecastEndingAt(900), undefined, now)[0]!;
    assert.match(warn.message, /; already at\/over 85 % since 2026-\d\d-\d\d \d\d:\d\d UTC, growing/);
    assert.doesNotMatch(warn.message, /in 0\.0 days/);
    // 1050 GB of 1000 GB: full.
    const full = storageFindings('s', forecastEndingAt(1050), undefined, now)[0]!;
    assert.match(
      full.message,
      /^Storage s is full \(at\/over capacity since 2026-\d\d-\d\d \d\d:\d\d UTC\); already at\/over 85 %/,
    );
  });

  void test('stable id across runs; resolved notice once, with the same id', () => {
    const bad1 = storageFindings('s1', forecastEndingAt(900), undefined, now);
    const bad2 = storageFindings('s1', forecastEndingAt(950), 'firing', new Date(now.getTime() + 3_600_000));
    assert.equal(bad1[0]?.id, bad2[0]?.id);
    assert.equal(bad2[0]?.severity, 'high');
    assert.notEqual(storageFindings('s2', forecastEndingAt(900), undefined, now)[0]?.id, bad1[0]?.id);
    const good = forecastEndingAt(300, 1);
    const resolved = storageFindings('s1', good, 'firing', now);
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]?.status, 'resolved');
    assert.equal(resolved[0]?.id, bad1[0]?.id);
    findingSchema.parse(resolved[0]);
    assert.deepEqual(storageFindings('s1', good, 'resolved', now), []);
    assert.deepEqual(storageFindings('s1', good, undefined, now), []);
  });
});
