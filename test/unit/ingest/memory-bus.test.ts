import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus, partitionForKey } from '../../../shared/src/bus/memory.ts';
import { busContract } from './bus-contract.ts';

describe('memory bus: MessageBus contract (persistent data dir)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regwatch-membus-'));
  let n = 0;
  busContract({
    open: async () => createMemoryBus({ dataDir: dir, handlerRetryBaseMs: 20 }),
    unique: (prefix) => `${prefix}-${process.pid}-${n++}`,
    timeoutMs: 5000,
  });
  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

describe('memory bus specifics', () => {
  test('partitionForKey is stable and in range', () => {
    for (const k of ['a', 'user-1', 'ip:192.0.2.1']) {
      const p = partitionForKey(k, 6);
      assert.equal(p, partitionForKey(k, 6));
      assert.ok(p >= 0 && p < 6);
    }
  });

  test('a restarted bus resumes from the persisted log and committed offsets (uncommitted batch redelivered)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-membus-'));
    try {
      const bus1 = createMemoryBus({ dataDir: dir });
      await bus1.ensureTopics(['t'], 1);
      await bus1.publisher().publish('t', [{ value: 'a' }, { value: 'b' }]);
      const seen1: string[] = [];
      const sub = await bus1.subscribe({ groupId: 'g', topics: ['t'] }, async (batch) => {
        seen1.push(...batch.map((m) => m.value.toString()));
      });
      while (seen1.length < 2) await new Promise((r) => setTimeout(r, 10));
      await sub.close();
      // Publish one more, then "crash" before any consumer handled it.
      await bus1.publisher().publish('t', [{ value: 'c' }]);
      await bus1.close();

      const bus2 = createMemoryBus({ dataDir: dir });
      const seen2: string[] = [];
      const sub2 = await bus2.subscribe({ groupId: 'g', topics: ['t'] }, async (batch) => {
        seen2.push(...batch.map((m) => `${m.offset}:${m.value.toString()}`));
      });
      while (seen2.length < 1) await new Promise((r) => setTimeout(r, 10));
      await sub2.close();
      await bus2.close();
      assert.deepEqual(seen2, ['2:c']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('publishing to an unknown topic fails with KAFKA_UNAVAILABLE', async () => {
    const bus = createMemoryBus();
    await assert.rejects(bus.publisher().publish('nope', [{ value: 'x' }]), { code: 'KAFKA_UNAVAILABLE' });
    await bus.close();
  });
});
