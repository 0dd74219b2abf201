/**
 * Detector metrics (services/detector/src/metrics.ts): engine stats are read at scrape time and
 * counted as deltas per engine object (restored stats never counted again), published findings by
 * rule/severity/status, scheduled job runs, gauges; the service hooks (service.ts) on the
 * in-process bus with a restart from SQLite state; the HTTP endpoints (http.ts) via inject.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import type { EngineStats } from '../../../services/detector/src/engine.ts';
import { buildDetectorHttp, listenDetectorHttp } from '../../../services/detector/src/http.ts';
import { createDetectorMetrics } from '../../../services/detector/src/metrics.ts';
import { startScheduler } from '../../../services/detector/src/jobs/scheduler.ts';
import { createDetector } from '../../../services/detector/src/service.ts';
import { sqliteStore } from '../../../services/detector/src/state/sqlite-store.ts';
import { deleteEvent } from '../../helpers/detector-events.ts';

/** The value of one sample of `name` (labels matched exactly), undefined when absent. */
async function sample(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `no metric ${name}`);
  const want = JSON.stringify(Object.entries(labels).sort());
  const hit = (metric.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]).find(
    (v) =>
      (v.metricName === undefined || v.metricName === name) && JSON.stringify(Object.entries(v.labels).sort()) === want,
  );
  return hit?.value;
}

interface FakeEngine {
  stats: EngineStats;
  identityCount: number;
  newestEventTime: number;
}
const fakeEngine = (stats: Partial<EngineStats> = {}): FakeEngine => ({
  stats: { events: 0, duplicates: 0, lateEvents: 0, detections: 0, joined: 0, ...stats },
  identityCount: 0,
  newestEventTime: -Infinity,
});

describe('createDetectorMetrics', () => {
  test('engine stats are counted once, as deltas between scrapes', async () => {
    const src: { engine: FakeEngine; held: number } = { engine: fakeEngine(), held: 0 };
    const m = createDetectorMetrics({ source: () => src, defaultMetrics: false });
    m.engineInstalled(src.engine);
    src.engine.stats.events = 7;
    src.engine.stats.duplicates = 2;
    src.engine.stats.joined = 3;
    src.engine.stats.lateEvents = 1;
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 7);
    // A second scrape without new work adds nothing.
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 7);
    assert.equal(await sample(m.registry, 'regwatch_detector_duplicate_events_total'), 2);
    assert.equal(await sample(m.registry, 'regwatch_detector_joined_events_total'), 3);
    assert.equal(await sample(m.registry, 'regwatch_detector_late_events_total'), 1);
    src.engine.stats.events = 10;
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 10);
    const text = await m.registry.metrics();
    assert.match(text, /^regwatch_detector_events_total 10$/m);
    assert.match(text, /^# TYPE regwatch_detector_events_total counter$/m);
  });

  test('a replaced engine (state restore) is not counted again; its new work is', async () => {
    const first = fakeEngine();
    const src: { engine: FakeEngine; held: number } = { engine: first, held: 0 };
    const m = createDetectorMetrics({ source: () => src, defaultMetrics: false });
    // Scraped before start: the fresh engine is only the starting point.
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 0);
    // Restored from a snapshot with 500 events counted in a previous life.
    const restored = fakeEngine({ events: 500, duplicates: 40, joined: 9, lateEvents: 3 });
    src.engine = restored;
    m.engineInstalled(restored);
    restored.stats.events += 5;
    restored.stats.duplicates += 1;
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 5);
    assert.equal(await sample(m.registry, 'regwatch_detector_duplicate_events_total'), 1);
    assert.equal(await sample(m.registry, 'regwatch_detector_joined_events_total'), 0);
    // An engine never announced is taken as a start point on first sight, never counted whole.
    const stray = fakeEngine({ events: 1_000 });
    src.engine = stray;
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 5);
    stray.stats.events += 2;
    assert.equal(await sample(m.registry, 'regwatch_detector_events_total'), 7);
  });

  test('findings by rule/severity/status, invalid messages, job runs and duration', async () => {
    const m = createDetectorMetrics({ defaultMetrics: false });
    m.findingsPublished([
      { rule: 'delete.burst', severity: 'high', status: 'firing' },
      { rule: 'delete.burst', severity: 'high', status: 'firing' },
      { rule: 'storage.exhaustion', severity: 'critical', status: 'resolved' },
    ]);
    m.invalidMessages(0);
    m.invalidMessages(4);
    m.jobRun('slo.hourly', 'ok', 1.5);
    m.jobRun('slo.hourly', 'error', 0.25);
    m.jobRun('slo.hourly', 'ok', 0.5);
    const f = 'regwatch_detector_findings_published_total';
    assert.equal(await sample(m.registry, f, { rule: 'delete.burst', severity: 'high', status: 'firing' }), 2);
    assert.equal(
      await sample(m.registry, f, { rule: 'storage.exhaustion', severity: 'critical', status: 'resolved' }),
      1,
    );
    assert.equal(await sample(m.registry, 'regwatch_detector_invalid_messages_total'), 4);
    const runs = 'regwatch_detector_job_runs_total';
    assert.equal(await sample(m.registry, runs, { job: 'slo.hourly', outcome: 'ok' }), 2);
    assert.equal(await sample(m.registry, runs, { job: 'slo.hourly', outcome: 'error' }), 1);
    const text = await m.registry.metrics();
    assert.match(text, /^regwatch_detector_job_duration_seconds_count\{job="slo.hourly"\} 3$/m);
    assert.match(text, /^regwatch_detector_job_duration_seconds_sum\{job="slo.hourly"\} 2.25$/m);
    assert.match(text, /^regwatch_detector_job_duration_seconds_bucket\{le="1",job="slo.hourly"\} 2$/m);
  });

  test('gauges: identities, held events, event-time lag (NaN before the first event)', async () => {
    const src: { engine: FakeEngine; held: number } = { engine: fakeEngine(), held: 0 };
    const now = Date.parse('2026-03-10T12:00:00Z');
    const m = createDetectorMetrics({ source: () => src, clock: () => now, defaultMetrics: false });
    assert.ok(Number.isNaN(await sample(m.registry, 'regwatch_detector_event_time_lag_seconds')));
    assert.equal(await sample(m.registry, 'regwatch_detector_newest_event_timestamp_seconds'), 0);
    src.engine.identityCount = 12;
    src.engine.newestEventTime = now - 4_500;
    src.held = 3;
    assert.equal(await sample(m.registry, 'regwatch_detector_identities'), 12);
    assert.equal(await sample(m.registry, 'regwatch_detector_held_events'), 3);
    assert.equal(await sample(m.registry, 'regwatch_detector_event_time_lag_seconds'), 4.5);
    assert.equal(await sample(m.registry, 'regwatch_detector_newest_event_timestamp_seconds'), (now - 4_500) / 1000);
  });

  test('default process metrics carry the regwatch_detector_ prefix', async () => {
    const m = createDetectorMetrics();
    assert.match(await m.registry.metrics(), /^regwatch_detector_process_cpu_user_seconds_total /m);
  });
});

describe('createDetector metrics hooks (in-process bus, sqlite state)', () => {
  test('invalid messages and published findings are counted; a restart does not recount restored stats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-metrics-'));
    try {
      const cfg = parseDetectionConfig({});
      const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
      const t0 = Date.parse('2026-03-10T17:00:00Z');
      let bus = createMemoryBus({ dataDir: join(dir, 'bus') });
      await bus.ensureTopics([topics.events, topics.findings], 1);
      await bus.publisher().publish(topics.events, [
        ...Array.from({ length: 25 }, (_, i) => ({
          key: 'mallory',
          value: JSON.stringify(deleteEvent(i, t0 + i * 10_000)),
        })),
        { key: 'x', value: 'not json' },
        { key: 'x', value: JSON.stringify({ hello: 'world' }) },
      ]);
      const start = (groupId: string) => {
        const metrics = createDetectorMetrics({ source: () => det, defaultMetrics: false });
        const det = createDetector({
          bus,
          store: sqliteStore(join(dir, 'state.db')),
          clock: Date.now,
          config: cfg,
          logger: silentLogger(),
          topics,
          groupId,
          join: { holdMs: 50, quietMs: 50 },
          metrics,
        });
        return { det, metrics };
      };
      const a = start('detector');
      await a.det.start();
      const end = Date.now() + 5000;
      while (((await sample(a.metrics.registry, 'regwatch_detector_events_total')) ?? 0) < 25 && Date.now() < end)
        await sleep(50);
      const published = 'regwatch_detector_findings_published_total';
      const fired = { rule: 'delete.burst', severity: 'high', status: 'firing' };
      while ((await sample(a.metrics.registry, published, fired)) === undefined && Date.now() < end) await sleep(50);
      assert.equal(await sample(a.metrics.registry, 'regwatch_detector_events_total'), 25);
      assert.equal(await sample(a.metrics.registry, 'regwatch_detector_invalid_messages_total'), 2);
      assert.equal(await sample(a.metrics.registry, published, fired), 1);
      await a.det.stop();
      await bus.close();

      // Restart with saved state and a new group (every message redelivered, skipped by offsets):
      // the restored 25 events are not new work.
      bus = createMemoryBus({ dataDir: join(dir, 'bus') });
      const b = start('detector-after-restart');
      await b.det.start();
      assert.equal(b.det.engine.stats.events, 25, 'state restored');
      await bus
        .publisher()
        .publish(topics.events, [{ key: 'mallory', value: JSON.stringify(deleteEvent(25, t0 + 251_000)) }]);
      const end2 = Date.now() + 5000;
      while (((await sample(b.metrics.registry, 'regwatch_detector_events_total')) ?? 0) < 1 && Date.now() < end2)
        await sleep(50);
      await sleep(200);
      assert.equal(await sample(b.metrics.registry, 'regwatch_detector_events_total'), 1);
      assert.equal(await sample(b.metrics.registry, 'regwatch_detector_invalid_messages_total'), 0);
      assert.equal(await sample(b.metrics.registry, 'regwatch_detector_identities'), b.det.engine.identityCount);
      await b.det.stop();
      await bus.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startScheduler onRun hook', () => {
  test('every finished run is reported with its outcome and duration in seconds', async () => {
    const runs: [string, string, number][] = [];
    const published: number[] = [];
    const stop = startScheduler(
      [
        { name: 'good', schedule: '* * * * * *', run: async () => [] },
        {
          name: 'bad',
          schedule: '* * * * * *',
          run: async () => {
            throw new Error('es down');
          },
        },
      ],
      {
        publish: async (fs) => void published.push(fs.length),
        clock: Date.now,
        logger: silentLogger(),
        onRun: (job, outcome, seconds) => runs.push([job, outcome, seconds]),
      },
    );
    try {
      const end = Date.now() + 5000;
      while (!(runs.some((r) => r[0] === 'good') && runs.some((r) => r[0] === 'bad')) && Date.now() < end)
        await sleep(50);
    } finally {
      await stop();
    }
    const good = runs.find((r) => r[0] === 'good');
    const bad = runs.find((r) => r[0] === 'bad');
    assert.equal(good?.[1], 'ok');
    assert.equal(bad?.[1], 'error');
    for (const r of runs) assert.ok(r[2] >= 0 && r[2] < 5, `duration in seconds: ${r[2]}`);
    assert.deepEqual(published, [], 'no findings, nothing published');
  });
});

describe('detector HTTP endpoints', () => {
  test('/healthz, /readyz (503 with a reason until ready) and /metrics', async () => {
    const m = createDetectorMetrics({ defaultMetrics: false });
    let readiness: { ready: boolean; reason?: string } = { ready: false, reason: 'starting' };
    const app = buildDetectorHttp({ logger: silentLogger(), registry: m.registry, ready: () => readiness });
    try {
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
      const notReady = await app.inject({ url: '/readyz' });
      assert.equal(notReady.statusCode, 503);
      assert.deepEqual(notReady.json(), { status: 'not ready', reason: 'starting' });
      readiness = { ready: true };
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
      const metrics = await app.inject({ url: '/metrics' });
      assert.equal(metrics.statusCode, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(metrics.body, /^regwatch_detector_invalid_messages_total 0$/m);
    } finally {
      await app.close();
    }
  });

  test('a port that cannot be bound is HTTP_LISTEN_FAILED (not retriable, as in ingest and alerts)', async () => {
    const m = createDetectorMetrics({ defaultMetrics: false });
    const opts = { logger: silentLogger(), registry: m.registry, ready: () => ({ ready: true }) };
    const first = buildDetectorHttp(opts);
    const second = buildDetectorHttp(opts);
    try {
      const url = await listenDetectorHttp(first, '127.0.0.1', 0);
      const port = Number(new URL(url).port);
      await assert.rejects(listenDetectorHttp(second, '127.0.0.1', port), (err: unknown) => {
        const e = err as { code?: string; retriable?: boolean; message?: string };
        assert.equal(e.code, 'HTTP_LISTEN_FAILED');
        assert.equal(e.retriable, false);
        assert.match(e.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
        return true;
      });
    } finally {
      await first.close();
      await second.close();
    }
  });
});
