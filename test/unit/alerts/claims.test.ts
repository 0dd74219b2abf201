import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ok } from '../../../shared/src/outcome.ts';
import { silentLogger } from '../../../shared/src/logger.ts';
import type { AlertChannel } from '../../../services/alerts/src/channels/types.ts';
import { channels as realChannels } from '../../../services/alerts/src/channels/index.ts';
import { createFakeClock, flushAsync } from '../../../services/alerts/src/clock.ts';
import { parseAlertsConfig } from '../../../services/alerts/src/config.ts';
import { createMemoryDeliveriesSink } from '../../../services/alerts/src/deliveries.ts';
import { createDeliverer } from '../../../services/alerts/src/delivery.ts';
import { createEngine } from '../../../services/alerts/src/engine.ts';
import type { Notification } from '../../../services/alerts/src/model.ts';
import { createMemoryStore } from '../../../services/alerts/src/store/memory.ts';
import { BASE, finding, T0 } from './fixtures.ts';

describe('notification claims between instances (compare-and-set + lease)', () => {
  test('two instances flushing the same group: one claim wins, one notification', async () => {
    const config = parseAlertsConfig(BASE().replace('group_wait: 30s', 'group_wait: 0s'));
    const store = createMemoryStore();
    const clock = createFakeClock(T0);
    const sent: Notification[] = [];
    const ch: AlertChannel = { ...realChannels.get('console')!, send: async (n) => (sent.push(n), ok()) };
    const mk = (id: string) =>
      createEngine({
        config,
        store,
        clock,
        logger: silentLogger(),
        instanceId: id,
        deliverer: createDeliverer({
          config,
          channels: new Map([['console', ch]]),
          http: null as never,
          clock,
          logger: silentLogger(),
          sink: createMemoryDeliveriesSink(),
          render: {},
          instanceId: id,
        }),
      });
    const a = mk('a');
    const b = mk('b');
    await Promise.all([a.ingest([finding()]), b.ingest([finding({ entity: { type: 'user', id: 'bob' } })])]);
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    await Promise.all([a.idle(), b.idle()]);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.firing.length, 2, 'both instances’ alerts are in the one notification');
  });

  test('a slow delivery keeps its claim alive (renewal); the other instance does not take over', async () => {
    const config = parseAlertsConfig(
      BASE('delivery: { deadline: 30s, lease: 60s }').replace('group_wait: 30s', 'group_wait: 0s'),
    );
    const store = createMemoryStore();
    const clock = createFakeClock(T0);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const sent: string[] = [];
    const slow: AlertChannel = {
      id: 'console',
      description: 'blocks until released',
      configSchema: z.object({ type: z.literal('console') }) as never,
      example: { type: 'console' },
      destination: () => 'console:test',
      render: () => ({ channel: 'console', target: '', body: null }),
      async send(n) {
        sent.push(n.key);
        await gate;
        return ok();
      },
    };
    const mk = (id: string) =>
      createEngine({
        config,
        store,
        clock,
        logger: silentLogger(),
        instanceId: id,
        deliverer: createDeliverer({
          config,
          channels: new Map([['console', slow]]),
          http: null as never,
          clock,
          logger: silentLogger(),
          sink: createMemoryDeliveriesSink(),
          render: {},
          instanceId: id,
        }),
      });
    const a = mk('a');
    const b = mk('b');
    await a.ingest([finding()]);
    await a.tick();
    for (let i = 0; i < 10; i++) {
      await clock.advance(30_000); // 5 minutes = 5 leases in total
      await b.tick();
    }
    await flushAsync();
    assert.deepEqual(sent.length, 1, 'b never took over a claim that a keeps renewing');
    release();
    await a.idle();
    await b.idle();
    assert.deepEqual(
      await store.dueGroups(Number.MAX_SAFE_INTEGER, 10).then((k) => k.length),
      1,
      'group stays (firing), no pending',
    );
    const [key] = await store.dueGroups(Number.MAX_SAFE_INTEGER, 10);
    assert.equal((await store.getGroup(key!))?.value.pending, undefined);
  });
});
