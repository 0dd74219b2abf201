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

/** Publishes with the ingest's partition key (the identity: the user, else `ip:<source.ip>`). */
async function publish(bus: MessageBus, events: readonly RegistryEvent[]): Promise<void> {
  await bus.publisher().publish(
    topics.events,
    events.map((e) => ({ key: e.user?.name ?? `ip:${e.source?.ip ?? ''}`, value: JSON.stringify(e) })),
  );
}

function detector(
  bus: MessageBus,
  store: StateStore,
  holdMs: number,
  groupId = 'detector',
  windowMs = 5_000,
): Detector {
  return createDetector({
    bus,
    store,
    clock: Date.now,
    config: parseDetectionConfig({}),
    logger: silentLogger(),
    topics,
    groupId,
    join: { holdMs, windowMs },
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

/** A log line with a user (token-authenticated registries log `auth.user.name`). */
function userLogLine(requestId: string, at: number, user: string): RegistryEvent {
  const l = logLine(requestId, at);
  return { ...l, user: { name: user }, oci_registry: { ...l.oci_registry, actor: { kind: 'user', anonymous: false } } };
}

/**
 * Distribution 2.x logs a rejected password twice with one request id, and the normalizer gives
 * both the same `event.id`: "error authenticating user \"bob\"" (names the user, partition key
 * `bob`) and "basic authentication challenge … authentication failure" (partition key
 * `ip:127.0.0.1`).
 */
function loginFailure(requestId: string, at: number, named: boolean): RegistryEvent {
  return {
    '@timestamp': new Date(at).toISOString(),
    event: {
      kind: 'event',
      category: ['authentication', 'web'],
      type: ['start', 'denied'],
      action: 'login-failure',
      outcome: 'failure',
      id: `lf-${requestId}`,
      dataset: 'oci_registry.log',
    },
    ...(named ? { user: { name: 'bob' } } : {}),
    source: { ip: '127.0.0.1' },
    user_agent: { original: 'skopeo/1.9.3' },
    http: { request: { id: requestId, method: 'GET' } },
    oci_registry: {
      image_pull: false,
      actor: named ? { kind: 'user', anonymous: false } : { kind: 'anonymous', anonymous: true },
      source_format: 'distribution-applog-json',
      repository: 'team/app',
      ...(named ? { attempted_user: 'bob' } : {}),
    },
  };
}

async function newBus(partitions = 3): Promise<MessageBus> {
  const bus = createMemoryBus();
  await bus.ensureTopics([topics.events, topics.findings], partitions);
  return bus;
}

/** Publishes one event, runs a detector (holdMs 50) until it was processed, and stops it. */
async function runAlone(event: RegistryEvent): Promise<Detector> {
  const bus = await newBus();
  await publish(bus, [event]);
  const det = detector(bus, memoryStore(), 50);
  await det.start();
  await until(() => det.engine.stats.events >= 1);
  await det.stop();
  await bus.close();
  return det;
}

describe('live request join (createDetector) merges notification and log line as analyze does', () => {
  for (const order of ['notification first', 'log line first'] as const) {
    test(`${order}, on different partitions and in different batches: one request counted once, user of the notification, bytes of the log`, async () => {
      const bus = await newBus();
      const n = notification('rq-1', T0);
      const l = logLine('rq-1', T0 + 40);
      const [first, second] = order === 'notification first' ? [n, l] : [l, n];
      const det = detector(bus, memoryStore(), 300);
      await det.start();
      await publish(bus, [first]);
      await until(() => det.held === 1);
      assert.equal(det.engine.stats.events, 0, 'the first one waits for its partner');
      await publish(bus, [second]);
      await until(() => det.engine.stats.events >= 1);
      await det.stop();
      await bus.close();
      assert.equal(det.engine.stats.events, 1);
      assert.equal(det.engine.stats.joined, 1);
      assert.deepEqual(aliceHour(det), { events: 1, bytes: 12_345 });
      assert.equal(det.engine.identity('ip:10.0.0.9'), undefined, 'not counted as an anonymous client');
    });
  }

  test('notifications lagging their log lines by more than holdMs (source active): still joined', async () => {
    const bus = await newBus();
    const det = createDetector({
      bus,
      store: memoryStore(),
      clock: Date.now,
      config: parseDetectionConfig({}),
      logger: silentLogger(),
      topics,
      join: { holdMs: 100, quietMs: 2_000 },
    });
    await det.start();
    // The notification sender is 3 s behind: it is still delivering older requests.
    await publish(bus, [notification('older-0', T0 - 3_000)]);
    await publish(bus, [logLine('rq-lag', T0)]);
    for (let k = 1; k <= 8; k++) {
      await sleep(100);
      await publish(bus, [notification(`older-${k}`, T0 - 3_000 + k * 100)]);
    }
    assert.equal(det.engine.identity('ip:10.0.0.9'), undefined, 'the log line is still waiting after 800 ms');
    await publish(bus, [notification('rq-lag', T0)]);
    await until(() => det.engine.stats.joined >= 1 && det.held === 0);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.joined, 1);
    assert.equal(det.engine.identity('ip:10.0.0.9'), undefined, 'never credited to the address');
    assert.equal(det.engine.identity('alice')?.buckets[0]?.bytes, 12_345);
  });

  test('a notification alone is processed after holdMs with no further events: the user, no bytes', async () => {
    const det = await runAlone(notification('rq-n', T0));
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.joined, 0);
    assert.deepEqual(aliceHour(det), { events: 1, bytes: 0 });
    assert.equal(det.held, 0);
  });

  test('a log line alone is processed after holdMs with no further events: the source IP is the identity', async () => {
    const det = await runAlone(logLine('rq-2', T0));
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.joined, 0);
    assert.equal(det.engine.identity('ip:10.0.0.9')?.buckets[0]?.bytes, 12_345);
  });

  test('a log line alone that names the user: the user is the identity', async () => {
    const det = await runAlone(userLogLine('rq-u', T0, 'carol'));
    assert.equal(det.engine.identity('carol')?.buckets[0]?.bytes, 12_345);
    assert.equal(det.engine.identity('ip:10.0.0.9'), undefined);
  });

  test('the hold deadline is not postponed by a busy stream whose event time does not move on', async () => {
    const bus = await newBus();
    // A one-minute event-time window: only the processing-time deadline can release events here.
    const det = detector(bus, memoryStore(), 200, 'detector', 60_000);
    await det.start();
    await publish(bus, [logLine('rq-first', T0)]);
    // Other traffic keeps arriving every 40 ms for 1.2 s (well past the 200 ms deadline).
    for (let i = 0; i < 30; i++) {
      await publish(bus, [userLogLine(`rq-busy-${i}`, T0 + i, 'dave')]);
      await sleep(40);
    }
    const countedWhileBusy = det.engine.identity('ip:10.0.0.9')?.buckets[0]?.events;
    await det.stop();
    await bus.close();
    assert.equal(countedWhileBusy, 1, 'released by its own deadline while batches kept coming');
  });

  test('two log lines of one rejected password (same event.id, two partitions) count once, for the attempted user', async () => {
    const bus = await newBus();
    const det = detector(bus, memoryStore(), 100);
    await det.start();
    // The line without the user first: without the join it would win and the attempted user be lost.
    await publish(bus, [loginFailure('rq-lf', T0, false)]);
    await until(() => det.held === 1);
    await publish(bus, [loginFailure('rq-lf', T0 + 1, true)]);
    await until(() => det.engine.stats.events >= 1);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.duplicates, 0);
    assert.equal(det.engine.identity('bob')?.buckets[0]?.events, 1);
    assert.equal(det.engine.identity('ip:127.0.0.1'), undefined);
  });

  test('events held at a restart are kept in the state and still merged with their partner', async () => {
    const store = memoryStore();
    const bus = await newBus();
    await publish(bus, [notification('rq-3', T0)]);
    // holdMs far beyond the test: the notification is still waiting for its log line at stop().
    let det = detector(bus, store, 60_000);
    await det.start();
    await until(() => det.held === 1);
    await det.stop();
    assert.equal(det.engine.stats.events, 0, 'held, not processed yet');

    // Restart on the saved state, then the log line arrives.
    det = detector(bus, store, 50, 'detector');
    await det.start();
    assert.equal(det.held, 1, 'the held notification was restored from the state');
    await publish(bus, [logLine('rq-3', T0 + 30)]);
    await until(() => det.engine.stats.events >= 1 && det.engine.stats.joined >= 1);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.events, 1);
    assert.equal(det.engine.stats.joined, 1);
    assert.deepEqual(aliceHour(det), { events: 1, bytes: 12_345 });
    assert.equal(det.engine.identity('ip:10.0.0.9'), undefined);
  });

  test('restart with events held and no partner, every message redelivered: released by the timer once, never twice', async () => {
    const store = memoryStore();
    const bus = await newBus();
    await publish(bus, [logLine('rq-4', T0), notification('rq-5', T0 + 10)]);
    let det = detector(bus, store, 60_000);
    await det.start();
    await until(() => det.held === 2);
    await det.stop();
    assert.equal(det.engine.stats.events, 0);

    // A new consumer group: the bus delivers both messages again; the saved offsets skip them and
    // the restored held events are released by the timer although no new event ever arrives.
    det = detector(bus, store, 50, 'detector-after-restart');
    await det.start();
    await until(() => det.engine.stats.events >= 2);
    await sleep(200);
    await det.stop();
    await bus.close();
    assert.equal(det.engine.stats.events, 2);
    assert.equal(det.engine.stats.duplicates, 0);
    assert.equal(det.engine.identity('ip:10.0.0.9')?.buckets[0]?.events, 1);
    assert.deepEqual(aliceHour(det), { events: 1, bytes: 0 });
    assert.equal(det.held, 0);
    const saved = await store.load();
    assert.deepEqual(saved?.meta.heldEvents, [], 'nothing held in the saved state any more');
  });
});
