import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryBus } from '../../../shared/src/bus/memory.ts';
import type { MessageBus } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { createDetector, type Detector } from '../../../services/detector/src/service.ts';
import { memoryStore } from '../../../services/detector/src/state/store.ts';
import type { StateStore } from '../../../services/detector/src/state/store.ts';

const topics = { events: 'regwatch.events', findings: 'regwatch.findings' };
const T0 = Date.parse('2026-03-10T10:00:30Z');
const REPO = 'team-a/api';
const DIGEST = `sha256:${'b'.repeat(64)}`;

/**
 * One blob GET as a Distribution 2.x registry reports it twice: the notification knows the user
 * but has no status, bytes or latency; the access log line has those but no user.
 */
function notification(requestId: string, at: number): RegistryEvent {
  return {
    '@timestamp': new Date(at).toISOString(),
    event: {
      kind: 'event',
      category: ['web'],
      type: ['access'],
      action: 'blob-pull',
      outcome: 'success',
      id: `n-${requestId}`,
      dataset: 'oci_registry.notification',
    },
    user: { name: 'alice' },
    source: { ip: '10.0.0.9' },
    user_agent: { original: 'containerd/1.7.2' },
    http: { request: { id: requestId, method: 'GET' } },
    oci_registry: {
      image_pull: false,
      actor: { kind: 'user', anonymous: false },
      source_format: 'distribution-notification',
      repository: REPO,
      namespace: 'team-a',
      digest: DIGEST,
    },
  };
}

function logLine(requestId: string, at: number): RegistryEvent {
  return {
    '@timestamp': new Date(at).toISOString(),
    event: {
      kind: 'event',
      category: ['web'],
      type: ['access'],
      action: 'blob-pull',
      outcome: 'success',
      id: `l-${requestId}`,
      dataset: 'oci_registry.log',
      duration: 35_000_000,
    },
    source: { ip: '10.0.0.9' },
    user_agent: { original: 'containerd/1.7.2' },
    http: {
      request: { id: requestId, method: 'GET' },
      response: { status_code: 200, body: { bytes: 12_345 } },
    },
    oci_registry: {
      image_pull: false,
      actor: { kind: 'anonymous', anonymous: true },
      source_format: 'distribution-applog-json',
      repository: REPO,
      namespace: 'team-a',
      digest: DIGEST,
    },
  };
}

async function publish(bus: MessageBus, events: readonly RegistryEvent[]): Promise<void> {
  await bus.publisher().publish(
    topics.events,
    events.map((e) => ({ key: REPO, value: JSON.stringify(e) })),
  );
}

function detector(bus: MessageBus, store: StateStore, holdMs: number, groupId = 'detector'): Detector {
  return createDetector({
    bus,
    store,
    clock: Date.now,
    config: parseDetectionConfig({}),
    logger: silentLogger(),
    topics,
    groupId,
    join: { holdMs },
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
}

/** alice's open-hour counters (one bucket: nothing has closed yet). */
function aliceHour(det: Detector): { events: number; bytes: number } | undefined {
  const b = det.engine.identity('alice')?.buckets[0];
  return b && { events: b.events, bytes: b.bytes };
}

describe('live request join (createDetector) merges notification and log line as analyze does', () => {
  for (const order of ['notification first', 'log line first'] as const) {
    test(`${order}: one request counted once, with the user of the notification and the bytes of the log`, async () => {
      const bus = createMemoryBus();
      await bus.ensureTopics([topics.events, topics.findings], 1);
      const n = notification('rq-1', T0);
      const l = logLine('rq-1', T0 + 40);
      await publish(bus, order === 'notification first' ? [n, l] : [l, n]);
      const det = detector(bus, memoryStore(), 50);
      await det.start();
      await until(() => det.engine.stats.events >= 1 && det.engine.stats.joined >= 1);
      await det.stop();
      await bus.close();
      assert.equal(det.engine.stats.events, 1);
      assert.equal(det.engine.stats.joined, 1);
      assert.deepEqual(aliceHour(det), { events: 1, bytes: 12_345 });
      assert.equal(det.engine.identity('ip:10.0.0.9'), undefined, 'not counted as an anonymous client');
    });
  }

  test('a request with one source only is processed after holdMs without newer events', async () => {
    const bus = createMemoryBus();
    await bus.ensureTopics([topics.events, topics.findings], 1);
    await publish(bus, [logLine('rq-2', T0)]);
    const det = detector(bus, memoryStore(), 50);
    await det.start();
    await until(() => det.engine.stats.events >= 1);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.joined, 0);
    assert.equal(det.engine.identity('ip:10.0.0.9')?.buckets[0]?.bytes, 12_345);
  });

  test('events held at a restart are kept in the state and still merged with their partner', async () => {
    const store = memoryStore();
    const bus = createMemoryBus();
    await bus.ensureTopics([topics.events, topics.findings], 1);
    await publish(bus, [notification('rq-3', T0)]);
    // holdMs far beyond the test: the notification is still waiting for its log line at stop().
    let det = detector(bus, store, 60_000);
    await det.start();
    await until(() => store.saves >= 1);
    await det.stop();
    assert.equal(det.engine.stats.events, 0, 'held, not processed yet');

    // Restart on the saved state, then the log line arrives.
    det = detector(bus, store, 50, 'detector');
    await det.start();
    await publish(bus, [logLine('rq-3', T0 + 30)]);
    await until(() => det.engine.stats.events >= 1 && det.engine.stats.joined >= 1);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.joined, 1);
    assert.deepEqual(aliceHour(det), { events: 1, bytes: 12_345 });
    assert.equal(det.engine.identity('ip:10.0.0.9'), undefined);
  });
});
