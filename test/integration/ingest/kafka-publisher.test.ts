/**
 * The Kafka publisher (shared/src/bus/kafka.ts, KafkaPublisher) against a real broker: concurrent
 * publishes coalesce into one produce request and keep their order, one deadline timer fails every
 * pending call of a silent broker in time, and a write the broker refuses for its size is
 * KAFKA_MESSAGE_TOO_LARGE without breaking the publisher.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '../../../shared/src/bus/kafka.ts';
import type { ProduceRequestInfo } from '../../../shared/src/bus/kafka.ts';
import type { BusMessage } from '../../../shared/src/bus/types.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import { kafkaBrokers, uniqueName } from './engines.ts';

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A bus on the test broker that records every produce request's summary into `produced`. */
function recordingBus(produced: ProduceRequestInfo[], lingerMs?: number): ReturnType<typeof createKafkaBus> {
  return createKafkaBus({
    brokers: kafkaBrokers(),
    clientId: 'regwatch-publisher-test',
    logger: silentLogger(),
    onProduceRequest: (info) => produced.push(info),
    ...(lingerMs !== undefined ? { lingerMs } : {}),
  });
}

describe('kafka publisher (real broker)', () => {
  test('publishes started in one turn of the event loop share one produce request, in call order', async () => {
    const produced: ProduceRequestInfo[] = [];
    const bus = recordingBus(produced);
    try {
      const topic = uniqueName('publisher-coalesce');
      await bus.ensureTopics([topic], 3);
      const pub = bus.publisher();
      const n = 60;
      // Like concurrent HTTP requests: every call before the publisher's first turn of the loop.
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          pub.publish(topic, [{ key: 'one-sender', value: String(i), headers: { 'regwatch.route': 'logs' } }]),
        ),
      );
      assert.equal(produced.length, 1, 'one produce request');
      assert.equal(produced[0]!.messages, n);
      assert.equal(produced[0]!.ok, true);
      assert.ok(produced[0]!.bytes > n * 64, 'approximate bytes counted');

      // Read back: one key → one partition, in call order, headers kept.
      const got: BusMessage[] = [];
      const sub = await bus.subscribe({ groupId: uniqueName('g-publisher'), topics: [topic] }, async (batch) => {
        got.push(...batch);
      });
      try {
        await until(() => got.length >= n, `${n} messages`);
      } finally {
        await sub.close();
      }
      assert.equal(new Set(got.map((m) => m.partition)).size, 1);
      assert.deepEqual(
        got.map((m) => m.value.toString('utf8')),
        Array.from({ length: n }, (_, i) => String(i)),
      );
      assert.equal(got[0]!.headers['regwatch.route'], 'logs');
    } finally {
      await bus.close();
    }
  });

  test('calls made while a produce request is in flight go together in the next one', async () => {
    const produced: ProduceRequestInfo[] = [];
    const bus = recordingBus(produced);
    try {
      const topic = uniqueName('publisher-waves');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await pub.publish(topic, [{ value: 'warm' }]); // connected, metadata known
      produced.length = 0;
      const first = pub.publish(topic, [{ value: 'a' }]);
      // The first call's produce request is sent on the next turn: wait until it is in flight.
      await new Promise((r) => setImmediate(r));
      const later = Array.from({ length: 25 }, (_, i) => pub.publish(topic, [{ value: `b${i}` }, { value: `c${i}` }]));
      await Promise.all([first, ...later]);
      assert.deepEqual(
        produced.map((p) => p.messages),
        [1, 50],
      );
    } finally {
      await bus.close();
    }
  });

  test('linger: callers that wait for their ack and come back (HTTP clients) share one produce request per round trip', async () => {
    const produced: ProduceRequestInfo[] = [];
    // A long linger so that a loaded machine cannot split a cohort; the default is 1 ms.
    const bus = recordingBus(produced, 200);
    try {
      const topic = uniqueName('publisher-linger');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await pub.publish(topic, [{ value: 'warm' }]);
      produced.length = 0;
      const clients = 20;
      const rounds = 10;
      // Each client publishes, waits for its ack, and publishes again a little later (its 202 and
      // next request cross the network: 0–3 ms here), like a registry endpoint per client.
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let r = 0; r < rounds; r++) {
            await pub.publish(topic, [{ value: `${c}-${r}` }]);
            await sleep(c % 4);
          }
        }),
      );
      const messages = produced.reduce((n, p) => n + p.messages, 0);
      assert.equal(messages, clients * rounds);
      // Without lingering the clients split into two cohorts of ~10 that alternate (~20 requests).
      assert.ok(
        produced.length <= rounds + 2,
        `${produced.length} produce requests: ${produced.map((p) => p.messages)}`,
      );
    } finally {
      await bus.close();
    }
  });

  test('linger never delays a lone sequential caller (a registry endpoint sends one envelope at a time)', async () => {
    const produced: ProduceRequestInfo[] = [];
    const bus = recordingBus(produced, 2000);
    try {
      const topic = uniqueName('publisher-lone');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await pub.publish(topic, [{ value: 'warm' }]);
      const started = performance.now();
      for (let i = 0; i < 10; i++) await pub.publish(topic, [{ value: String(i) }]);
      // Lingering would cost 2 s per call (20 s); ten acks from a local broker take well under that.
      const ms = performance.now() - started;
      assert.ok(ms < 8000, `10 sequential publishes took ${Math.round(ms)} ms`);
      assert.ok(produced.every((p) => p.messages === 1));
    } finally {
      await bus.close();
    }
  });

  test('close() sends a call that was lingering instead of dropping it', async () => {
    const produced: ProduceRequestInfo[] = [];
    const bus = recordingBus(produced, 60_000);
    try {
      const topic = uniqueName('publisher-linger-close');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await Promise.all(Array.from({ length: 5 }, (_, i) => pub.publish(topic, [{ value: `w${i}` }])));
      // One caller of the five comes back: the publisher waits (up to a minute) for the others.
      const waiting = pub.publish(topic, [{ value: 'last' }]);
      await sleep(100);
      assert.equal(produced.length, 1, 'still lingering');
      await pub.close();
      await waiting;
      assert.deepEqual(
        produced.map((p) => p.messages),
        [5, 1],
      );
    } finally {
      await bus.close();
    }
  });

  test('a broker that never answers: every pending call fails with KAFKA_UNAVAILABLE at its own deadline', async () => {
    // A TCP server that accepts connections and never replies (a hung broker).
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    const timeoutMs = 500;
    const bus = createKafkaBus({
      brokers: [`127.0.0.1:${port}`],
      clientId: 'regwatch-publisher-test',
      logger: silentLogger(),
      publishTimeoutMs: timeoutMs,
      requestTimeoutMs: 30_000,
    });
    try {
      const pub = bus.publisher();
      const failedAt = (p: Promise<void>, started: number) =>
        p.then(
          () => assert.fail('must not resolve'),
          (err: { code?: string; retriable?: boolean; message?: string }) => {
            assert.equal(err.code, 'KAFKA_UNAVAILABLE');
            assert.equal(err.retriable, true);
            assert.match(err.message ?? '', new RegExp(`no acknowledgement within ${timeoutMs} ms`));
            return Date.now() - started;
          },
        );
      const t0 = Date.now();
      const early = [1, 2, 3].map((i) => failedAt(pub.publish('t', [{ value: `e${i}` }]), t0));
      await sleep(300);
      const t1 = Date.now();
      const late = [1, 2].map((i) => failedAt(pub.publish('t', [{ value: `l${i}` }]), t1));
      const elapsed = await Promise.all([...early, ...late]);
      for (const ms of elapsed) {
        assert.ok(ms >= timeoutMs - 20, `not before its deadline (${ms} ms)`);
        assert.ok(ms < timeoutMs + 1500, `close to its deadline (${ms} ms)`);
      }
    } finally {
      // The hung broker goes away first, so kafkajs' connection attempt ends and close() returns.
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
      await bus.close();
    }
  });

  test('a message over the broker limit is KAFKA_MESSAGE_TOO_LARGE (not retriable); the publisher keeps working', async () => {
    const bus = createKafkaBus({
      brokers: kafkaBrokers(),
      clientId: 'regwatch-publisher-test',
      logger: silentLogger(),
    });
    try {
      const topic = uniqueName('publisher-too-large');
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      // The broker's default message.max.bytes is 1 048 588 bytes per record batch.
      await assert.rejects(
        pub.publish(topic, [{ value: Buffer.alloc(1_300_000, 0x61) }]),
        (err: { code?: string; retriable?: boolean }) => {
          assert.equal(err.code, 'KAFKA_MESSAGE_TOO_LARGE');
          assert.equal(err.retriable, false);
          return true;
        },
      );
      await pub.publish(topic, [{ value: 'small' }]);
    } finally {
      await bus.close();
    }
  });
});
