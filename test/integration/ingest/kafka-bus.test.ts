/**
 * The MessageBus contract against a real Kafka broker (npm run infra:up), plus Kafka-specific
 * behaviour: topic creation with the configured partition count and publish failure → KAFKA_UNAVAILABLE.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
// The bus module first: it installs kafkajs replacements that only apply before kafkajs loads.
import {
  KAFKAJS_REPLACEMENTS_INSTALLED,
  createKafkaBus,
  speedUpKafkajsEncoder,
  stopKafkajsPendingCheckLoop,
} from '../../../shared/src/bus/kafka.ts';
import kafkajs from 'kafkajs';
import type { BusMessage, OutgoingMessage } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { kafkaBrokers, uniqueName } from './engines.ts';
import { busContract } from '../../unit/ingest/bus-contract.ts';

const open = async () =>
  createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'regwatch-bus-contract',
    logger: silentLogger(),
    handlerRetryBaseMs: 100,
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
  });

describe('kafka bus: MessageBus contract (real broker)', () => {
  busContract({ open, unique: (p) => uniqueName(p), timeoutMs: 30_000 });
});

const openPipelined = async (over: { maxBytesPerPartition?: number; handlerRetryBaseMs?: number } = {}) =>
  createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'regwatch-bus-contract-pipelined',
    logger: silentLogger(),
    handlerRetryBaseMs: 100,
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
    maxBatchesInFlight: 2,
    ...over,
  });

describe('kafka bus: MessageBus contract, pipelined (maxBatchesInFlight 2, real broker)', () => {
  busContract({ open: () => openPipelined(), unique: (p) => uniqueName(p), timeoutMs: 30_000 });
});

/** The group's committed offset of partition 0 of `topic` (-1 when none). */
async function committedOffset(groupId: string, topic: string): Promise<number> {
  const admin = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(t?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('kafka bus: pipelined partitions (maxBatchesInFlight 2)', () => {
  // One record batch per publish call, and fetches small enough to return one batch each, so
  // offsets 0, 1, 2 … arrive as separate batches of the single partition.
  const setup = async (n: number, handlerRetryBaseMs = 100) => {
    const bus = await openPipelined({ maxBytesPerPartition: 64, handlerRetryBaseMs });
    const topic = uniqueName('bus-pipelined');
    await bus.ensureTopics([topic], 1);
    const pub = bus.publisher();
    for (let i = 0; i < n; i++) await pub.publish(topic, [{ key: 'k', value: `m${i}` }]);
    return { bus, topic, groupId: uniqueName('g-pipelined') };
  };

  test('a later batch finishing first is not committed before the earlier one; both overlap', async () => {
    const { bus, topic, groupId } = await setup(3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    let running = 0;
    let maxRunning = 0;
    try {
      const sub = await bus.subscribe({ groupId, topics: [topic] }, async (batch) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          if (batch[0]!.offset === '0') await gate;
          handled.push(...batch.map((m) => m.value.toString()));
        } finally {
          running--;
        }
      });
      await until(() => handled.includes('m1'), 'm1 handled while m0 is held');
      await sleep(1000);
      assert.equal(await committedOffset(groupId, topic), -1, 'nothing committed while offset 0 is in flight');
      assert.equal(maxRunning, 2, 'two batches of one partition in the handler at once, never more');
      release();
      await until(() => handled.length >= 3, 'all three handled');
      await until(async () => (await committedOffset(groupId, topic)) === 3, 'commit up to offset 3');
      await sub.close();
      assert.deepEqual(handled.sort(), ['m0', 'm1', 'm2']);
    } finally {
      release();
      await bus.close();
    }
  });

  test('a failed batch is redelivered with everything after it; commits end at the last offset', async () => {
    const { bus, topic, groupId } = await setup(4);
    const seen: string[] = [];
    let failOnce = true;
    try {
      const sub = await bus.subscribe({ groupId, topics: [topic] }, async (batch) => {
        const v = batch.map((m) => m.value.toString());
        if (v.includes('m1') && failOnce) {
          failOnce = false;
          await sleep(200); // let m2 be handed over meanwhile
          throw new Error('simulated sink failure');
        }
        seen.push(...v);
      });
      await until(async () => (await committedOffset(groupId, topic)) === 4, 'commit up to offset 4');
      await sub.close();
      assert.equal(failOnce, false);
      assert.deepEqual([...new Set(seen)].sort(), ['m0', 'm1', 'm2', 'm3'], 'nothing lost');
      assert.equal(seen.filter((v) => v === 'm0').length, 1, 'batches before the failed one are not redelivered');
    } finally {
      await bus.close();
    }
  });

  test('an earlier batch failing while a later one backs off: one rewind to the earlier, nothing committed past it', async () => {
    // Backoffs of 1 s and 2 s: a wrong early seek would commit past m0 for a second.
    const { bus, topic, groupId } = await setup(3, 1000);
    let m1Failed: () => void = () => undefined;
    const m1FailedP = new Promise<void>((r) => (m1Failed = r));
    let m0Attempts = 0;
    let m1Attempts = 0;
    let m0Done = false;
    const done = new Set<string>();
    const samples: { offset: number; m0Done: boolean }[] = [];
    let sampling = true;
    try {
      const sub = await bus.subscribe({ groupId, topics: [topic] }, async (batch) => {
        const v = batch[0]!.value.toString();
        if (v === 'm0' && m0Attempts++ === 0) {
          await m1FailedP; // fail only after m1's failure (and its backoff) started
          await sleep(20);
          throw new Error('m0 fails too');
        }
        if (v === 'm1' && m1Attempts++ === 0) {
          setTimeout(m1Failed, 10);
          throw new Error('m1 fails');
        }
        if (v === 'm0') m0Done = true;
        done.add(v);
      });
      const sampler = (async () => {
        while (sampling) {
          const offset = await committedOffset(groupId, topic);
          // Read after the commit was observed: a commit past m0 must come after m0 was handled.
          samples.push({ offset, m0Done });
          await sleep(50);
        }
      })();
      await until(async () => (await committedOffset(groupId, topic)) === 3, 'commit up to offset 3');
      sampling = false;
      await sampler;
      await sub.close();
      assert.deepEqual([...done].sort(), ['m0', 'm1', 'm2']);
      assert.ok(m0Attempts >= 2 && m1Attempts >= 2);
      const premature = samples.filter((x) => x.offset > 0 && !x.m0Done);
      assert.deepEqual(premature, [], 'no offset past m0 was committed before m0 was handled');
    } finally {
      sampling = false;
      await bus.close();
    }
  });

  test('close() waits for the batches in flight and commits them', async () => {
    const { bus, topic, groupId } = await setup(2);
    const handled: string[] = [];
    try {
      const sub = await bus.subscribe({ groupId, topics: [topic] }, async (batch) => {
        await sleep(500);
        handled.push(...batch.map((m) => m.value.toString()));
      });
      await until(() => handled.length >= 1, 'first batch');
      await sub.close();
      const committed = await committedOffset(groupId, topic);
      assert.equal(committed, handled.length, 'every handled batch committed, nothing more');
    } finally {
      await bus.close();
    }
  });
});

describe('kafka bus specifics', () => {
  test('ensureTopics creates missing topics with the configured partition count', async () => {
    const bus = await open();
    const topic = uniqueName('bus-partitions');
    await bus.ensureTopics([topic], 5);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    assert.equal(meta.topics[0]!.partitions.length, 5);
    await bus.close();
  });

  test('an idle connection does not re-check its request queue every millisecond (kafkajs #1704), no TimeoutNegativeWarning', async () => {
    assert.equal(stopKafkajsPendingCheckLoop(), true, 'applies to the installed kafkajs');
    const require = createRequire(import.meta.url);
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { checkPendingRequests(this: unknown): void };
    };
    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: unknown) {
      checks++;
      original.call(this);
    };
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const bus = await open();
    try {
      const topic = uniqueName('bus-idle');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await Promise.all(Array.from({ length: 20 }, (_, i) => pub.publish(topic, [{ key: `k${i}`, value: 'v' }])));
      await sleep(200);
      const before = checks;
      await sleep(1000);
      // Unfixed, each connection runs the check ~1000 times a second while idle.
      assert.ok(checks - before < 20, `${checks - before} queue checks in 1 s of idleness`);
      assert.deepEqual(
        warnings.filter((w) => w === 'TimeoutNegativeWarning'),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      RequestQueue.prototype.checkPendingRequests = original;
      await bus.close();
    }
  });

  test('publishing to an unreachable broker fails fast with a retriable KAFKA_UNAVAILABLE', async () => {
    const bus = createKafkaBus({
      brokers: ['127.0.0.1:1'],
      clientId: 'nobody',
      logger: silentLogger(),
      publishTimeoutMs: 2000,
      connectionTimeoutMs: 300,
    });
    const started = Date.now();
    await assert.rejects(
      bus.publisher().publish('x', [{ value: 'v' }]),
      (err: { code?: string; retriable?: boolean }) => {
        assert.equal(err.code, 'KAFKA_UNAVAILABLE');
        assert.equal(err.retriable, true);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5000, 'bounded by publishTimeoutMs');
    await bus.close();
  });
});

describe('kafka bus: kafkajs speed-ups are byte-exact (real broker)', () => {
  test('the encoder patch and the replaced internals are active in this process', () => {
    assert.equal(speedUpKafkajsEncoder(), true, 'applies to the installed kafkajs');
    assert.deepEqual([...KAFKAJS_REPLACEMENTS_INSTALLED].sort(), [
      'producer/groupMessagesPerPartition.js',
      'producer/partitioners/default/murmur2.js',
      'protocol/recordBatch/crc32C/index.js',
      'protocol/recordBatch/record/v0/index.js',
    ]);
  });

  test('every record round-trips byte-identical: keys, string and binary values, headers, sizes from 0 B to 300 KiB', async () => {
    const bus = await open();
    const topic = uniqueName('bus-roundtrip');
    const partitions = 3;
    await bus.ensureTopics([topic], partitions);
    const pub = bus.publisher();
    // Deterministic pseudo-random bytes (all 256 values), so a failure is reproducible.
    let seed = 0x2545f491;
    const bytes = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) | 0;
        b[i] = seed >>> 24;
      }
      return b;
    };
    const sizes = [0, 1, 63, 64, 65, 127, 128, 511, 512, 513, 4095, 4096, 4097, 16_384, 65_537, 300 * 1024];
    const sent: { key: string | null; value: Buffer; headers: Record<string, string> }[] = [];
    const out: OutgoingMessage[] = [];
    for (let i = 0; i < 600; i++) {
      const size = sizes[i % sizes.length]!;
      const key = i % 7 === 0 ? null : `k-${i % 41}-ключ-🔑`;
      const headers: Record<string, string> =
        i % 3 === 0
          ? {}
          : { 'content-type': 'application/json', 'regwatch.n': String(i), 'ü-h': 'wert-✓'.repeat(i % 5) };
      // Strings (UTF-8 written by kafkajs itself) and Buffers (copied) both.
      const asString = i % 2 === 0;
      const value = asString ? Buffer.from(`${i}:${'é€x'.repeat(size / 6)}`, 'utf8') : bytes(size);
      sent.push({ key, value, headers });
      out.push({ key, value: asString ? value.toString('utf8') : value, ...(i % 3 === 0 ? {} : { headers }) });
    }
    // Several publish calls at once (coalesced into shared produce requests, chunked by size).
    await Promise.all([pub.publish(topic, out.slice(0, 250)), pub.publish(topic, out.slice(250))]);

    const got = new Map<string, BusMessage>();
    const groupId = uniqueName('g-roundtrip');
    try {
      const sub = await bus.subscribe({ groupId, topics: [topic] }, async (batch) => {
        for (const m of batch) got.set(`${m.partition}|${m.offset}`, m);
      });
      await until(() => got.size >= sent.length, `all ${sent.length} records consumed`, 60_000);
      await sub.close();
    } finally {
      await bus.close();
    }
    // Match by content: per key, the order of records is kept; compare the multiset exactly.
    const received = [...got.values()];
    assert.equal(received.length, sent.length);
    const fingerprint = (key: string | null, value: Buffer, headers: Readonly<Record<string, string>>): string =>
      `${key ?? '<null>'}\u0000${value.toString('base64')}\u0000${JSON.stringify(Object.entries(headers).sort())}`;
    const want = sent.map((s) => fingerprint(s.key, s.value, s.headers)).sort();
    const have = received.map((m) => fingerprint(m.key, m.value, m.headers)).sort();
    assert.deepEqual(have, want);
    // Keys land where the Java client's murmur2 partitioner puts them (toPositive(murmur2) % n).
    const { murmur2 } = await import('../../../shared/src/bus/kafkajs-preload.ts');
    for (const m of received)
      if (m.key !== null)
        assert.equal(m.partition, (murmur2(m.key) & 0x7fffffff) % partitions, `partition of ${m.key}`);
    // Per key, values arrive in publish order.
    const order = new Map<string, string[]>();
    for (const s of sent) if (s.key) order.set(s.key, [...(order.get(s.key) ?? []), s.value.toString('base64')]);
    const byKey = new Map<string, BusMessage[]>();
    for (const m of received) if (m.key) byKey.set(m.key, [...(byKey.get(m.key) ?? []), m]);
    for (const [key, msgs] of byKey) {
      msgs.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
      assert.deepEqual(
        msgs.map((m) => m.value.toString('base64')),
        order.get(key),
        `order of key ${key}`,
      );
    }
  });
});
