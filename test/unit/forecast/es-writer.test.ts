import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  forecastDocuments,
  forecastPointId,
  storeForecast,
} from '../../../services/detector/src/forecast/es-writer.ts';
import {
  forecastStorage,
  type ForecastResult,
  type StorageSample,
} from '../../../services/detector/src/forecast/model.ts';
import { AppError } from '../../../shared/src/errors.ts';
import { createLogger } from '../../../shared/src/logger.ts';
import { Writable } from 'node:stream';

const DAY = 86_400_000;

function result(over: Partial<ForecastResult> = {}): ForecastResult {
  const last = Date.parse('2026-03-01T06:00:00Z');
  return {
    days_to_warn: 12.5,
    days_to_warn_lower: 10,
    days_to_warn_upper: 15,
    days_to_full: 30.25,
    days_to_full_lower: 25,
    days_to_full_upper: 36,
    growth_bytes_per_day: 1e9,
    gross_growth_bytes_per_day: 1e9,
    last_gc: null,
    method: 'robust-seasonal-trend',
    level_bytes: 700e9,
    capacity_bytes: 1e12,
    warn_ratio: 0.85,
    horizon_days: 365,
    last_timestamp: new Date(last).toISOString(),
    samples_used: 500,
    level_shifts: [],
    path: [0, 1, 2, 3].map((d) => ({
      timestamp: new Date(last + d * DAY).toISOString(),
      expected: 700e9 + d * 10e9,
      lower: 700e9 + d * 8e9 - 1e9 * (d === 0 ? 701 : 0),
      upper: 700e9 + d * 12e9,
    })),
    ...over,
  };
}

describe('forecastDocuments', () => {
  const generatedAt = new Date('2026-03-01T07:00:00Z');

  test('resamples the daily path onto UTC midnights, interpolating linearly', () => {
    const docs = forecastDocuments('fs:/var/lib/registry', result(), { generatedAt, instanceId: 'registry-0' });
    // path 03-01T06:00 .. 03-04T06:00 → midnights 03-02, 03-03, 03-04
    assert.deepEqual(
      docs.map((d) => d.doc['@timestamp']),
      ['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z', '2026-03-04T00:00:00.000Z'],
    );
    const f = (docs[0]?.doc.oci_registry as { instance_id: string; forecast: Record<string, unknown> }).forecast;
    assert.equal((docs[0]?.doc.oci_registry as { instance_id: string }).instance_id, 'registry-0');
    // 18 h after the first point: 0.75 of a day's growth
    assert.deepEqual(f, {
      scope: 'fs:/var/lib/registry',
      generated_at: '2026-03-01T07:00:00.000Z',
      method: 'robust-seasonal-trend',
      capacity: { bytes: 1e12 },
      days_to_85: 12.5,
      days_to_100: 30.25,
      used: { bytes: 707.5e9, lower: { bytes: 530.75e9 }, upper: { bytes: 709e9 } },
    });
  });

  test('ids are hash(scope, target time): a later run over the same days overwrites', () => {
    const a = forecastDocuments('s', result(), { generatedAt });
    const shifted = result({
      path: result().path.map((p) => ({
        ...p,
        timestamp: new Date(Date.parse(p.timestamp) + 6 * 3600_000).toISOString(),
      })),
    });
    const b = forecastDocuments('s', shifted, { generatedAt: new Date(generatedAt.getTime() + 6 * 3600_000) });
    assert.deepEqual(
      b.map((d) => d.id),
      a.map((d) => d.id),
    );
    assert.equal(a[0]?.id, forecastPointId('s', Date.parse('2026-03-02T00:00:00Z')));
    assert.notEqual(forecastDocuments('t', result(), { generatedAt })[0]?.id, a[0]?.id);
  });

  test('days_to_* are absent when not reached; days_to_85 only for an 85 % warning level', () => {
    const never = forecastDocuments('s', result({ days_to_warn: null, days_to_full: null }), { generatedAt });
    const f = (never[0]?.doc.oci_registry as { forecast: Record<string, unknown> }).forecast;
    assert.equal('days_to_85' in f, false);
    assert.equal('days_to_100' in f, false);
    const at90 = forecastDocuments('s', result({ warn_ratio: 0.9 }), { generatedAt });
    assert.equal('days_to_85' in (at90[0]?.doc.oci_registry as { forecast: object }).forecast, false);
  });

  test('a path with fewer than two points gives no documents', () => {
    assert.deepEqual(forecastDocuments('s', result({ path: result().path.slice(0, 1) }), { generatedAt }), []);
  });

  test('a real forecast gives one point per day to the end of its path, bounds ordered', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const samples: StorageSample[] = [];
    for (let h = 0; h < 24 * 30; h++)
      samples.push({
        timestamp: new Date(t0 + h * 3600_000).toISOString(),
        used_bytes: 400e9 + h * 0.2e9 + ((h * 7919) % 13) * 1e7,
        capacity_bytes: 1e12,
      });
    const r = forecastStorage(samples);
    const docs = forecastDocuments('fs:/data', r, { generatedAt: new Date(t0 + 30 * DAY) });
    assert.ok(docs.length >= 100, `${docs.length} points`);
    for (const d of docs) {
      const f = (
        d.doc.oci_registry as {
          forecast: { used: { bytes: number; lower: { bytes: number }; upper: { bytes: number } } };
        }
      ).forecast;
      assert.ok(f.used.lower.bytes <= f.used.bytes && f.used.bytes <= f.used.upper.bytes);
      assert.equal(Date.parse(d.doc['@timestamp'] as string) % DAY, 0);
    }
    assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
  });
});

describe('storeForecast', () => {
  test('a failing writer is logged as a warning with its code, never thrown', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger('test', { level: 'debug', destination: sink });
    await storeForecast(
      {
        write: () => Promise.reject(new AppError('ES_UNAVAILABLE', 'connect ECONNREFUSED', { retriable: true })),
      },
      's',
      result(),
      new Date(),
      logger,
    );
    logger.flush();
    const warn = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'storage forecast not stored');
    assert.ok(warn, lines.join(''));
    assert.equal(warn.code, 'ES_UNAVAILABLE');
    assert.equal(warn.retriable, true);
  });
});
