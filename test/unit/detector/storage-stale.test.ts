/**
 * Storage jobs on stale data: the per-scope decision (judgeStorageScope) and the embedded
 * runLocalStorageForecast over a real data directory. Fresh → storage.exhaustion as before;
 * stale → only storage.data_stale, with the numbers, and a warning; fresh again → the stale
 * finding resolved (same id) and the forecast findings back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forecastStorage, type StorageSample } from '../../../services/detector/src/forecast/model.ts';
import { storageFindings, STORAGE_RULE } from '../../../services/detector/src/forecast/findings.ts';
import {
  judgeStorageScope,
  recordStorageStatuses,
  staleStatusKey,
  STORAGE_STALE_RULE,
  type StorageStatuses,
} from '../../../services/detector/src/forecast/stale-findings.ts';
import { localStoreSink } from '../../../services/detector/src/storage/sink.ts';
import { runLocalStorageForecast } from '../../../services/embedded/src/storage-stage.ts';
import { loadConfig } from '../../../shared/src/config.ts';
import { detectorEnvSchema } from '../../../services/detector/src/env-config.ts';
import { loadEmbeddedConfig } from '../../../services/embedded/src/config.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import { capturingLogger } from '../../helpers/logs.ts';

const H = 3_600_000;
const D = 24 * H;
const GB = 1e9;
const CAP = 1000 * GB;
const SCOPE = 'fs:/var/lib/registry';
/** Last sample of the series. */
const LAST = Date.parse('2026-03-01T00:00:00Z');

/** 20 days of hourly samples ending at `end` (ms), growing 10 GB/day to 900 GB: full in ~10 days. */
function series(end = LAST, scope = SCOPE): (StorageSample & { scope: string })[] {
  const out: (StorageSample & { scope: string })[] = [];
  const n = 20 * 24;
  for (let i = 0; i < n; i++) {
    const t = end - (n - 1 - i) * H;
    out.push({
      timestamp: new Date(t).toISOString(),
      used_bytes: (900 - (10 * (n - 1 - i)) / 24) * GB + ((i * 7919) % 13) * 1e7,
      capacity_bytes: CAP,
      scope,
    });
  }
  return out;
}

const rules = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.rule}:${f.status}`);

void describe('judgeStorageScope (storage.exhaustion / storage.data_stale)', () => {
  const result = forecastStorage(series());

  void test('fresh data: the forecast findings exactly as storageFindings gives them, nothing stale', () => {
    const now = new Date(LAST + 2 * H);
    const d = judgeStorageScope(SCOPE, result, new Map(), now);
    assert.equal(d.staleness.stale, false);
    assert.equal(d.staleness.threshold_seconds, 86_400, 'default: max(1 day, 2 × 1 h)');
    assert.deepEqual(d.findings, storageFindings(SCOPE, result, undefined, now));
    assert.deepEqual(rules(d.findings), [`${STORAGE_RULE}:firing`]);
  });

  void test('fresh → stale → fresh: stale finding only while stale, then resolved and forecasts back', () => {
    const previous: StorageStatuses = new Map();
    const t1 = new Date(LAST + 2 * H);
    const d1 = judgeStorageScope(SCOPE, result, previous, t1);
    recordStorageStatuses(previous, SCOPE, d1.findings);
    assert.equal(previous.get(SCOPE), 'firing');

    // The collector died: the same samples, 3 days later (threshold 1 day).
    const t2 = new Date(LAST + 3 * D);
    const d2 = judgeStorageScope(SCOPE, result, previous, t2);
    recordStorageStatuses(previous, SCOPE, d2.findings);
    assert.equal(d2.staleness.stale, true);
    assert.equal(d2.staleness.age_seconds, 259_200);
    assert.deepEqual(rules(d2.findings), [`${STORAGE_STALE_RULE}:firing`], 'no capacity finding from a stale forecast');
    const [s] = d2.findings;
    assert.ok(s);
    findingSchema.parse(s);
    assert.equal(s.severity, 'medium');
    assert.deepEqual(s.entity, { type: 'storage', id: SCOPE });
    assert.equal(
      s.message,
      `No storage samples for ${SCOPE} since 2026-03-01T00:00:00.000Z (72.0 h, threshold 24.0 h): is its collector running? Capacity forecasts for ${SCOPE} are paused until samples arrive.`,
    );
    assert.deepEqual(s.observed, { value: 259_200, unit: 'seconds' });
    assert.deepEqual(s.expected, { value: 0, unit: 'seconds', lower: 0, upper: 86_400 });
    assert.equal(s.window.start, '2026-03-01T00:00:00.000Z');
    assert.equal(s.window.end, t2.toISOString());
    assert.equal(s.detected_at, t2.toISOString());
    assert.equal(s.score, 100, '3 × the threshold');
    assert.equal(previous.get(SCOPE), 'firing', 'the capacity finding is neither refreshed nor resolved');
    assert.equal(previous.get(staleStatusKey(SCOPE)), 'firing');

    // Still stale a day later: the same finding again (same id, groups), still nothing else.
    const d3 = judgeStorageScope(SCOPE, result, previous, new Date(LAST + 4 * D));
    recordStorageStatuses(previous, SCOPE, d3.findings);
    assert.deepEqual(rules(d3.findings), [`${STORAGE_STALE_RULE}:firing`]);
    assert.equal(d3.findings[0]?.id, s.id);
    assert.match(d3.findings[0]?.message ?? '', /\(96\.0 h, threshold 24\.0 h\)/);

    // Fresh samples again (collector back): stale resolved once with the same id, forecasts back.
    const fresh = forecastStorage(series(LAST + 4 * D));
    const t4 = new Date(LAST + 4 * D + H);
    const d4 = judgeStorageScope(SCOPE, fresh, previous, t4);
    recordStorageStatuses(previous, SCOPE, d4.findings);
    assert.deepEqual(rules(d4.findings), [`${STORAGE_STALE_RULE}:resolved`, `${STORAGE_RULE}:firing`]);
    assert.equal(d4.findings[0]?.id, s.id);
    assert.equal(d4.findings[0]?.severity, 'info');
    assert.match(d4.findings[0]?.message ?? '', /current again: last sample 2026-03-05T00:00:00\.000Z \(1\.0 h old/);
    assert.equal(d4.findings[1]?.id, d1.findings[0]?.id, 'the capacity finding resumes under its id');
    for (const f of d4.findings) findingSchema.parse(f);
    assert.equal(previous.get(staleStatusKey(SCOPE)), 'resolved');

    // And nothing stale afterwards (no repeated resolved notices).
    const d5 = judgeStorageScope(SCOPE, fresh, previous, new Date(t4.getTime() + H));
    assert.deepEqual(rules(d5.findings), [`${STORAGE_RULE}:firing`]);
  });

  void test('a scope that was healthy and goes stale resolves nothing and fires only the stale finding', () => {
    const healthy = forecastStorage(
      series().map((s, i) => ({ ...s, used_bytes: 100 * GB + ((i * 7919) % 13) * 1e7 })), // flat
    );
    assert.deepEqual(judgeStorageScope(SCOPE, healthy, new Map(), new Date(LAST + H)).findings, []);
    const d = judgeStorageScope(SCOPE, healthy, new Map(), new Date(LAST + 2 * D));
    assert.deepEqual(rules(d.findings), [`${STORAGE_STALE_RULE}:firing`]);
  });

  void test('the threshold is configurable; a bad one is a FORECAST_INPUT_INVALID error', () => {
    const now = new Date(LAST + 3 * H);
    assert.equal(judgeStorageScope(SCOPE, result, new Map(), now).staleness.stale, false);
    const d = judgeStorageScope(SCOPE, result, new Map(), now, { staleAfterSeconds: 2 * 3600 });
    assert.equal(d.staleness.stale, true);
    assert.match(d.findings[0]?.message ?? '', /\(3\.0 h, threshold 2\.0 h\)/);
    assert.throws(
      () => judgeStorageScope(SCOPE, result, new Map(), now, { staleAfterSeconds: 0 }),
      (e: unknown) => e instanceof AppError && e.code === 'FORECAST_INPUT_INVALID',
    );
  });

  void test('settings: DETECTOR_STORAGE_STALE_AFTER and REGWATCH_STORAGE_STALE_AFTER / --storage-stale-after', () => {
    assert.equal(loadConfig(detectorEnvSchema, {}, 'env').DETECTOR_STORAGE_STALE_AFTER, undefined);
    assert.equal(
      loadConfig(detectorEnvSchema, { DETECTOR_STORAGE_STALE_AFTER: '36h' }, 'env').DETECTOR_STORAGE_STALE_AFTER,
      129_600,
    );
    assert.throws(
      () => loadConfig(detectorEnvSchema, { DETECTOR_STORAGE_STALE_AFTER: 'soon' }, 'env'),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'CONFIG_INVALID' &&
        /DETECTOR_STORAGE_STALE_AFTER: not a duration/.test(e.message),
    );
    assert.equal(loadEmbeddedConfig({}, {}).storageStaleAfter, undefined);
    assert.equal(loadEmbeddedConfig({}, { REGWATCH_STORAGE_STALE_AFTER: '2d' }).storageStaleAfter, 172_800);
    assert.equal(
      loadEmbeddedConfig({ storageStaleAfter: '90m' }, { REGWATCH_STORAGE_STALE_AFTER: '2d' }).storageStaleAfter,
      5400,
    );
  });
});

void describe('runLocalStorageForecast (embedded) on a scope whose samples stopped', () => {
  void test('fresh scope fires as before; stale scope: warning + storage.data_stale; resolved when samples return', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regwatch-stale-'));
    const LIVE = 'fs:/srv/live';
    const DEAD = 'harbor:team-dead';
    try {
      const sink = localStoreSink(dir);
      // LIVE: samples up to LAST; DEAD: its collector stopped 5 days before.
      await sink.write([...series(LAST, LIVE), ...series(LAST - 5 * D, DEAD)]);
      const previous: StorageStatuses = new Map();
      const log = capturingLogger();
      const now = LAST + H;
      const run1 = await runLocalStorageForecast({ dataDir: dir, now, previous, logger: log.logger });
      const by = (fs: Finding[], scope: string): string[] => rules(fs.filter((f) => f.entity.id === scope));
      assert.deepEqual(by(run1, LIVE), [`${STORAGE_RULE}:firing`]);
      assert.deepEqual(by(run1, DEAD), [`${STORAGE_STALE_RULE}:firing`]);
      assert.match(
        run1.find((f) => f.entity.id === DEAD)?.message ?? '',
        /^No storage samples for harbor:team-dead since 2026-02-24T00:00:00\.000Z \(121\.0 h, threshold 24\.0 h\)/,
      );
      log.logger.flush();
      const warns = log.lines.filter((l) => l['level'] === 40);
      assert.equal(warns.length, 1);
      assert.equal(warns[0]?.['scope'], DEAD);
      assert.equal(warns[0]?.['last_sample'], '2026-02-24T00:00:00.000Z');
      assert.equal(warns[0]?.['age_seconds'], 121 * 3600);
      assert.equal(warns[0]?.['threshold_seconds'], 86_400);

      // The collector is back: an hour of new samples up to LAST + 1 h.
      await sink.write(series(LAST + H, DEAD).filter((s) => Date.parse(s.timestamp) > LAST - 5 * D));
      const run2 = await runLocalStorageForecast({
        dataDir: dir,
        now: LAST + 2 * H,
        previous,
        logger: log.logger,
        staleAfterSeconds: 6 * 3600,
      });
      assert.deepEqual(by(run2, DEAD), [`${STORAGE_STALE_RULE}:resolved`, `${STORAGE_RULE}:firing`]);
      assert.equal(run2.find((f) => f.rule === STORAGE_STALE_RULE)?.id, run1.find((f) => f.entity.id === DEAD)?.id);
      assert.deepEqual(by(run2, LIVE), [`${STORAGE_RULE}:firing`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
