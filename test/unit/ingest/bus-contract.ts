/**
 * The MessageBus contract, shared by the in-process bus (unit tests) and the Kafka bus
 * (integration tests against a real broker). Each implementation must pass every case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BusMessage, MessageBus } from '../../../shared/src/bus/types.ts';

export interface BusFixture {
  /** A bus; when `reopen` is true it must see the state (topics, logs, commits) of earlier ones. */
  open(): Promise<MessageBus>;
  /** A topic/group name unique to this run. */
  unique(prefix: string): string;
  /** Generous wait limit for deliveries, ms. */
  readonly timeoutMs: number;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function busContract(fx: BusFixture): void {
  test('delivers every published message once to a group, with key, value and headers intact', async () => {
    const bus = await fx.open();
    const topic = fx.unique('contract-basic');
    try {
      await bus.ensureTopics([topic], 3);
      await bus.ensureTopics([topic], 3); // idempotent
      const pub = bus.publisher();
      const msgs = Array.from({ length: 60 }, (_, i) => ({
        key: `k${i % 7}`,
        value: `v${i}`,
        headers: { 'x-n': String(i) },
      }));
      await pub.publish(topic, msgs);
      const got: BusMessage[] = [];
      const sub = await bus.subscribe({ groupId: fx.unique('g'), topics: [topic] }, async (batch) => {
        got.push(...batch);
      });
      await waitFor(() => got.length >= 60, fx.timeoutMs, '60 messages');
      await sub.close();
      assert.equal(got.length, 60);
      const byValue = new Map(got.map((m) => [m.value.toString(), m]));
      for (let i = 0; i < 60; i++) {
        const m = byValue.get(`v${i}`);
        assert.ok(m, `v${i} delivered`);
        assert.equal(m.key, `k${i % 7}`);
        assert.equal(m.headers['x-n'], String(i));
        assert.equal(m.topic, topic);
      }
    } finally {
      await bus.close();
    }
  });

  test('same key → same partition, in publish order', async () => {
    const bus = await fx.open();
    const topic = fx.unique('contract-order');
    try {
      await bus.ensureTopics([topic], 4);
      const pub = bus.publisher();
      for (let i = 0; i < 40; i++) await pub.publish(topic, [{ key: `user-${i % 3}`, value: String(i) }]);
      const got: BusMessage[] = [];
      const sub = await bus.subscribe({ groupId: fx.unique('g'), topics: [topic] }, async (batch) => {
        got.push(...batch);
      });
      await waitFor(() => got.length >= 40, fx.timeoutMs, '40 messages');
      await sub.close();
      for (const key of ['user-0', 'user-1', 'user-2']) {
        const mine = got.filter((m) => m.key === key);
        assert.equal(new Set(mine.map((m) => m.partition)).size, 1, `${key} in one partition`);
        const values = mine.map((m) => Number(m.value.toString()));
        assert.deepEqual(
          values,
          [...values].sort((a, b) => a - b),
          `${key} in order`,
        );
      }
    } finally {
      await bus.close();
    }
  });

  test('a failing batch is redelivered (at-least-once) and does not hold up other partitions', async () => {
    const bus = await fx.open();
    const topic = fx.unique('contract-retry');
    try {
      await bus.ensureTopics([topic], 2);
      const pub = bus.publisher();
      // Find two keys that land in different partitions by publishing and reading back.
      const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
      await pub.publish(
        topic,
        keys.map((k) => ({ key: k, value: k })),
      );
      const seen = new Map<string, number>();
      let poisonedPartition = -1;
      let failuresLeft = 2;
      const committedOther: string[] = [];
      const sub = await bus.subscribe({ groupId: fx.unique('g'), topics: [topic] }, async (batch) => {
        const p = batch[0]!.partition;
        if (poisonedPartition === -1) poisonedPartition = p;
        if (p === poisonedPartition && failuresLeft > 0) {
          failuresLeft--;
          throw new Error('simulated sink failure');
        }
        for (const m of batch) {
          seen.set(m.value.toString(), (seen.get(m.value.toString()) ?? 0) + 1);
          if (p !== poisonedPartition) committedOther.push(m.value.toString());
        }
      });
      await waitFor(() => seen.size >= 16, fx.timeoutMs, 'all 16 keys');
      await sub.close();
      assert.equal(failuresLeft, 0, 'the poisoned partition failed twice');
      assert.deepEqual([...seen.keys()].sort(), [...keys].sort(), 'nothing lost');
    } finally {
      await bus.close();
    }
  });

  test('committed offsets survive: a new member of the group gets only what was not committed', async () => {
    const topic = fx.unique('contract-commit');
    const group = fx.unique('g');
    let bus = await fx.open();
    try {
      await bus.ensureTopics([topic], 2);
      await bus.publisher().publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `a${i}`, value: `first-${i}` })),
      );
      const first: string[] = [];
      const sub1 = await bus.subscribe({ groupId: group, topics: [topic] }, async (batch) => {
        first.push(...batch.map((m) => m.value.toString()));
      });
      await waitFor(() => first.length >= 10, fx.timeoutMs, 'first 10');
      await sub1.close();
      await bus.close();

      bus = await fx.open();
      await bus.publisher().publish(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ key: `b${i}`, value: `second-${i}` })),
      );
      const second: string[] = [];
      const sub2 = await bus.subscribe({ groupId: group, topics: [topic] }, async (batch) => {
        second.push(...batch.map((m) => m.value.toString()));
      });
      await waitFor(() => second.length >= 5, fx.timeoutMs, 'second 5');
      await sleep(300);
      await sub2.close();
      assert.deepEqual(second.sort(), ['second-0', 'second-1', 'second-2', 'second-3', 'second-4']);
    } finally {
      await bus.close();
    }
  });

  test('manual commits: resolved batches are not committed until Subscription.commit; a new member starts at the last commit', async () => {
    const topic = fx.unique('contract-manual');
    const group = fx.unique('g');
    let bus = await fx.open();
    try {
      await bus.ensureTopics([topic], 1);
      await bus.publisher().publish(
        topic,
        Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: `m-${i}` })),
      );
      const first: BusMessage[] = [];
      const sub1 = await bus.subscribe({ groupId: group, topics: [topic], commits: 'manual' }, async (batch) => {
        first.push(...batch);
      });
      await waitFor(() => first.length >= 6, fx.timeoutMs, 'first 6');
      // Every batch resolved, nothing committed yet: commit up to m-3 only (next offset = its offset + 1).
      const m3 = first.find((m) => m.value.toString() === 'm-3')!;
      await sub1.commit([{ topic, partition: m3.partition, offset: (BigInt(m3.offset) + 1n).toString() }]);
      await sleep(200);
      assert.equal(first.length, 6, 'each message delivered once to the running member');
      await sub1.close();
      await assert.rejects(sub1.commit([{ topic, partition: 0, offset: '1' }]), { code: 'KAFKA_UNAVAILABLE' });
      await bus.close();

      bus = await fx.open();
      const second: string[] = [];
      const sub2 = await bus.subscribe({ groupId: group, topics: [topic], commits: 'manual' }, async (batch) => {
        second.push(...batch.map((m) => m.value.toString()));
      });
      await waitFor(() => second.length >= 2, fx.timeoutMs, 'the 2 uncommitted');
      await sleep(300);
      await sub2.close();
      assert.deepEqual(second, ['m-4', 'm-5']);
    } finally {
      await bus.close();
    }
  });

  test('pause() stops delivery for the partition until resume()', async () => {
    const bus = await fx.open();
    const topic = fx.unique('contract-pause');
    try {
      await bus.ensureTopics([topic], 1);
      const pub = bus.publisher();
      await pub.publish(topic, [{ key: 'k', value: 'm0' }]);
      const got: string[] = [];
      let pausedAt = 0;
      let resumeFn: (() => void) | null = null;
      const sub = await bus.subscribe({ groupId: fx.unique('g'), topics: [topic] }, async (batch, ctx) => {
        got.push(...batch.map((m) => m.value.toString()));
        if (pausedAt === 0) {
          pausedAt = Date.now();
          ctx.pause();
          resumeFn = () => ctx.resume();
        }
        await ctx.heartbeat();
      });
      await waitFor(() => got.length >= 1, fx.timeoutMs, 'first message');
      await pub.publish(topic, [{ key: 'k', value: 'm1' }]);
      await sleep(1500);
      assert.deepEqual(got, ['m0'], 'nothing delivered while paused');
      assert.ok(resumeFn);
      (resumeFn as () => void)();
      await waitFor(() => got.length >= 2, fx.timeoutMs, 'delivery after resume');
      await sub.close();
      assert.deepEqual(got, ['m0', 'm1']);
    } finally {
      await bus.close();
    }
  });
}
