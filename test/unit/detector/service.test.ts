import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { createDetector } from '../../../services/detector/src/service.ts';
import { sqliteStore } from '../../../services/detector/src/state/sqlite-store.ts';
import { memoryStore } from '../../../services/detector/src/state/store.ts';
import type { EngineSnapshot } from '../../../services/detector/src/engine.ts';

/** A login-failure event as the normalizer emits it (Distribution htpasswd log). */
function failure(i: number, at: number): RegistryEvent {
  return {
    '@timestamp': new Date(at).toISOString(),
    event: {
      kind: 'event',
      category: ['authentication', 'web'],
      type: ['start', 'denied'],
      action: 'login-failure',
      outcome: 'failure',
      id: `lf-${i}`,
      dataset: 'oci_registry.log',
    },
    source: { ip: '203.0.113.77' },
    user: { name: `victim${i % 3}` },
    http: { request: { id: `req-${i}`, method: 'GET' }, response: { status_code: 401 } },
    oci_registry: {
      image_pull: false,
      actor: { kind: 'user', anonymous: false },
      source_format: 'distribution-applog-json',
      attempted_user: `victim${i % 3}`,
    },
  };
}

async function collect(
  bus: MessageBus,
  topic: string,
  group: string,
  until: (fs: Finding[]) => boolean,
  ms = 5000,
): Promise<Finding[]> {
  const got: Finding[] = [];
  const sub = await bus.subscribe({ groupId: group, topics: [topic] }, async (batch) => {
    for (const m of batch) got.push(findingSchema.parse(JSON.parse(m.value.toString())));
  });
  const end = Date.now() + ms;
  while (!until(got) && Date.now() < end) await sleep(20);
  await sleep(100);
  await sub.close();
  return got;
}

describe('createDetector (in-process bus, sqlite state)', () => {
  test('publishes findings keyed by entity; a restart neither forgets nor double counts (C24)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-'));
    try {
      const cfg = parseDetectionConfig({
        rules: { params: { 'auth.bruteforce_ip': { threshold: 8, windowSeconds: 900 } } },
      });
      const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
      const t0 = Date.parse('2026-03-10T10:00:30Z');
      let bus = createMemoryBus({ dataDir: join(dir, 'bus') });
      await bus.ensureTopics([topics.events, topics.findings], 1);
      // 5 failures (below 8): no finding.
      await bus.publisher().publish(
        topics.events,
        [0, 1, 2, 3, 4].map((i) => ({ key: 'ip:203.0.113.77', value: JSON.stringify(failure(i, t0 + i * 60_000)) })),
      );
      let det = createDetector({
        bus,
        store: sqliteStore(join(dir, 'state.db')),
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
      });
      await det.start();
      const deadline = Date.now() + 5000;
      while (det.engine.stats.events < 5 && Date.now() < deadline) await sleep(20);
      assert.equal(det.engine.stats.events, 5);
      await det.stop();
      await bus.close();

      // Restart: new bus instance on the same data, *new consumer group* so every message is
      // delivered again — the saved offsets must make the detector skip them.
      bus = createMemoryBus({ dataDir: join(dir, 'bus') });
      det = createDetector({
        bus,
        store: sqliteStore(join(dir, 'state.db')),
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
        groupId: 'detector-after-restart',
      });
      await det.start();
      await sleep(300);
      assert.equal(det.engine.stats.events, 5, 'state restored, redelivered events not counted again');
      // Three more failures: 8 in 15 minutes → exactly one finding.
      await bus.publisher().publish(
        topics.events,
        [5, 6, 7].map((i) => ({ key: 'ip:203.0.113.77', value: JSON.stringify(failure(i, t0 + i * 60_000)) })),
      );
      const findings = await collect(bus, topics.findings, 'test-reader', (fs) => fs.length >= 1);
      await det.stop();
      await bus.close();
      assert.equal(findings.length, 1);
      assert.equal(findings[0]!.rule, 'auth.bruteforce_ip');
      assert.equal(findings[0]!.observed.value, 8);
      assert.equal(findings[0]!.entity.id, '203.0.113.77');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('state is checkpointed on an interval, not per batch; a crash re-processes only what the last checkpoint missed, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-'));
    const cfg = parseDetectionConfig({});
    const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
    const t0 = Date.parse('2026-03-10T10:00:30Z');
    const store = memoryStore();
    // One message per batch, so "per batch" and "per checkpoint" differ.
    const make = (bus: MessageBus, intervalMs: number) =>
      createDetector({
        bus,
        store,
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
        join: { holdMs: 20 },
        checkpoint: { intervalMs },
      });
    const committed = (): number | undefined => {
      const file = join(dir, 'bus', 'offsets', 'detector.json');
      if (!existsSync(file)) return undefined;
      return (JSON.parse(readFileSync(file, 'utf8')) as { offsets: Record<string, number> }).offsets[
        'regwatch.events/0'
      ];
    };
    const until = async (cond: () => boolean | Promise<boolean>, what: string): Promise<void> => {
      const end = Date.now() + 5000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}`);
        await sleep(20);
      }
    };
    const savedOffset = (snap: EngineSnapshot | undefined): string | undefined =>
      (snap?.meta.offsets as Record<string, string> | undefined)?.['regwatch.events:0'];
    const publish = (bus: MessageBus, from: number, n: number) =>
      bus.publisher().publish(
        topics.events,
        Array.from({ length: n }, (_, k) => ({
          key: 'ip:203.0.113.77',
          value: JSON.stringify(failure(from + k, t0 + (from + k) * 60_000)),
        })),
      );
    const buses: MessageBus[] = [];
    const open = (): MessageBus => {
      const b = createMemoryBus({ dataDir: join(dir, 'bus'), maxBatchSize: 1 });
      buses.push(b);
      return b;
    };
    try {
      let bus = open();
      await bus.ensureTopics([topics.events, topics.findings], 1);
      await publish(bus, 0, 6);
      // 1. A long interval: six batches processed, nothing saved or committed yet.
      let det = make(bus, 60_000);
      await det.start();
      await until(() => det.engine.stats.events === 6, '6 events');
      await sleep(100);
      assert.equal(store.saves, 0, 'no snapshot per batch');
      assert.equal(committed(), undefined, 'no offset committed before a checkpoint');
      // Crash: the process is gone without stop().
      await bus.close();

      // 2. Restart: nothing was checkpointed, so all six come again and are counted once.
      bus = open();
      det = make(bus, 150);
      await det.start();
      await until(() => det.engine.stats.events === 6, '6 events re-processed');
      // The quiet stream is checkpointed by the timer (no further batch needed), then committed.
      await until(async () => savedOffset(await store.load()) === '5', 'checkpoint of offset 5');
      await until(() => committed() === 6, 'commit of next offset 6');
      assert.equal(det.engine.stats.events, 6);
      await publish(bus, 6, 2);
      await until(async () => savedOffset(await store.load()) === '7', 'checkpoint of offset 7');
      await until(() => committed() === 8, 'commit of next offset 8');
      await bus.close();

      // 3. Restart after that checkpoint: the state has all eight, nothing is delivered again.
      bus = open();
      det = make(bus, 150);
      await det.start();
      await sleep(300);
      assert.equal(det.engine.stats.events, 8, 'restored from the checkpoint');
      assert.equal(det.engine.stats.duplicates, 0, 'nothing re-processed');
      await publish(bus, 8, 1);
      await until(() => det.engine.stats.events === 9, 'the new event');
      const savesBeforeStop = store.saves;
      await det.stop();
      assert.equal(store.saves, savesBeforeStop + 1, 'stop checkpoints the unsaved work');
      assert.equal(committed(), 9, 'and commits it');
    } finally {
      for (const b of buses) await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('checkpoint budget: a slow save stretches the interval to 10x its duration (not with interval 0)', async () => {
    const cfg = parseDetectionConfig({});
    const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
    const t0 = Date.parse('2026-03-10T10:00:30Z');
    /** A store whose save takes ~60 ms (a large snapshot); records when each save started and ended. */
    let inner = memoryStore();
    const saves: { start: number; end: number }[] = [];
    let recording = true;
    const slowStore = {
      load: () => inner.load(),
      close: () => inner.close(),
      save: async (snap: EngineSnapshot) => {
        const start = Date.now();
        await sleep(60);
        await inner.save(snap);
        if (recording) saves.push({ start, end: Date.now() });
      },
    };
    for (const intervalMs of [50, 0]) {
      saves.length = 0;
      recording = true;
      inner = memoryStore(); // a fresh state: the saved offsets of the first run would skip the second's

      const bus = createMemoryBus({ maxBatchSize: 1 });
      try {
        await bus.ensureTopics([topics.events, topics.findings], 1);
        const det = createDetector({
          bus,
          store: slowStore,
          clock: Date.now,
          config: cfg,
          logger: silentLogger(),
          topics,
          join: { holdMs: 20 },
          checkpoint: { intervalMs },
        });
        await det.start();
        // New work every 25 ms for ~1.6 s: always something to checkpoint.
        for (let i = 0; i < 64; i++) {
          await bus
            .publisher()
            .publish(topics.events, [{ key: 'ip:203.0.113.77', value: JSON.stringify(failure(i, t0 + i * 1000)) }]);
          await sleep(25);
        }
        recording = false; // stop() saves at once
        await det.stop();
      } finally {
        await bus.close();
      }
      if (intervalMs > 0) {
        assert.ok(saves.length >= 2 && saves.length <= 4, `saves ${saves.length}`);
        for (let i = 1; i < saves.length; i++) {
          const prev = saves[i - 1]!;
          const gap = saves[i]!.start - prev.end;
          assert.ok(gap >= 9 * (prev.end - prev.start), `gap ${gap} ms after a ${prev.end - prev.start} ms save`);
        }
      } else {
        assert.ok(saves.length > 10, `interval 0 saves after every batch: ${saves.length}`);
      }
    }
  });

  test('a quiet stream still ends a burst: event time follows the wall clock once no newer event came (resolved finding)', async () => {
    const cfg = parseDetectionConfig({
      settings: { allowedLatenessMs: 0 },
      rules: { params: { 'auth.bruteforce_ip': { threshold: 5, windowSeconds: 2 } } },
    });
    const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
    const t0 = Date.parse('2026-03-10T10:00:30Z');
    const bus = createMemoryBus();
    try {
      await bus.ensureTopics([topics.events, topics.findings], 1);
      const det = createDetector({
        bus,
        store: memoryStore(),
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
        join: { holdMs: 20 },
        idle: { advanceAfterMs: 100 },
      });
      await det.start();
      // Six failed logins in half a second, then nothing more from the registry.
      await bus.publisher().publish(
        topics.events,
        [0, 1, 2, 3, 4, 5].map((i) => ({ key: 'ip:203.0.113.77', value: JSON.stringify(failure(i, t0 + i * 100)) })),
      );
      const findings = await collect(
        bus,
        topics.findings,
        'test-reader',
        (fs) => fs.some((f) => f.status === 'resolved'),
        8000,
      );
      await det.stop();
      const burst = findings.filter((f) => f.rule === 'auth.bruteforce_ip');
      assert.ok(
        burst.some((f) => f.status === 'firing'),
        'the burst fired',
      );
      const resolved = burst.find((f) => f.status === 'resolved');
      assert.ok(resolved, 'resolved without any further event');
      assert.equal(resolved.observed.value, 6, 'with the final count');
      assert.equal(det.engine.stats.events, 6);
    } finally {
      await bus.close();
    }
  });
});
