import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { BusMessage, MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { createDetector } from '../../../services/detector/src/service.ts';
import { sqliteStore } from '../../../services/detector/src/state/sqlite-store.ts';
import { kafkaBrokers, uniqueName } from '../../helpers/infra.ts';
import { deleteEvent } from '../../helpers/detector-events.ts';

async function read(
  bus: MessageBus,
  topic: string,
  ms: number,
  until: (m: BusMessage[]) => boolean,
): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe(
    { groupId: uniqueName('reader'), topics: [topic], fromBeginning: true },
    async (batch) => {
      got.push(...batch);
    },
  );
  const end = Date.now() + ms;
  while (!until(got) && Date.now() < end) await sleep(100);
  await sleep(1500);
  await sub.close();
  return got;
}

describe('detector on a real Kafka broker', { timeout: 120_000 }, () => {
  test('consumes regwatch.events, publishes one finding keyed by entity, and survives a restart without double counting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-det-kafka-'));
    const topics = { events: uniqueName('events'), findings: uniqueName('findings') };
    const group = uniqueName('detector');
    const cfg = parseDetectionConfig({ rules: { params: { 'delete.burst': { threshold: 20, windowSeconds: 600 } } } });
    const bus = createKafkaBus({ brokers: kafkaBrokers(), clientId: 'regwatch-detector-test', logger: silentLogger() });
    try {
      await bus.ensureTopics([topics.events, topics.findings], 1);
      const t0 = Date.parse('2026-03-10T17:00:00Z');
      const pub = bus.publisher();
      // 15 deletions (below 20), consumed by the first detector instance.
      await pub.publish(
        topics.events,
        Array.from({ length: 15 }, (_, i) => ({
          key: 'mallory',
          value: JSON.stringify(deleteEvent(i, t0 + i * 10_000)),
        })),
      );
      let det = createDetector({
        bus,
        store: sqliteStore(join(dir, 'state.db')),
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
        groupId: group,
      });
      await det.start();
      for (let end = Date.now() + 30_000; det.engine.stats.events < 15 && Date.now() < end;) await sleep(100);
      assert.equal(det.engine.stats.events, 15);
      await det.stop();

      // Restart with a different consumer group (all 15 messages are delivered again): the saved
      // offsets skip them, so the count stays 15; 5 new deletions make 20 → exactly one finding.
      det = createDetector({
        bus,
        store: sqliteStore(join(dir, 'state.db')),
        clock: Date.now,
        config: cfg,
        logger: silentLogger(),
        topics,
        groupId: uniqueName('detector2'),
      });
      await det.start();
      await pub.publish(
        topics.events,
        Array.from({ length: 5 }, (_, k) => ({
          key: 'mallory',
          value: JSON.stringify(deleteEvent(15 + k, t0 + (15 + k) * 10_000)),
        })),
      );
      for (let end = Date.now() + 30_000; det.engine.stats.events < 20 && Date.now() < end;) await sleep(100);
      assert.equal(det.engine.stats.events, 20, 'redelivered messages are not counted twice');
      const msgs = await read(bus, topics.findings, 30_000, (m) => m.length >= 1);
      await det.stop();
      await pub.close();
      assert.equal(msgs.length, 1);
      const f = findingSchema.parse(JSON.parse(msgs[0]!.value.toString()));
      assert.equal(msgs[0]!.key, 'user:mallory');
      assert.equal(f.rule, 'delete.burst');
      assert.equal(f.observed.value, 20);
      assert.match(f.message, /deleted 20 objects in 7 repositories within 10 minutes/);
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
