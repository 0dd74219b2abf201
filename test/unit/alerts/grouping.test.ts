import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, finding, harness, resolvedOf, T0 } from './fixtures.ts';

describe('grouping and timing (Alertmanager group_wait / group_interval / repeat_interval)', () => {
  test('findings of one rule wait group_wait and arrive as one notification', async () => {
    const h = harness(BASE());
    const f = ['alice', 'bob', 'carol'].map((id) => finding({ entity: { type: 'user', id } }));
    assert.deepEqual(await h.step(f), []);
    assert.deepEqual(await h.after(29_000), []);
    const [n, ...rest] = await h.after(1_000);
    assert.equal(rest.length, 0);
    assert.equal(n?.firing.length, 3);
    assert.equal(n?.status, 'firing');
    assert.deepEqual(n?.groupLabels, { rule: 'pull.volume_spike' });
    assert.equal(n?.createdAt, T0 + 30_000);
  });

  test('a new alert after the first notification waits group_interval', async () => {
    const h = harness(BASE());
    await h.step([finding()]);
    assert.equal((await h.after(30_000)).length, 1);
    assert.deepEqual(await h.step([finding({ entity: { type: 'user', id: 'bob' } })]), []);
    assert.deepEqual(await h.after(4 * 60_000), []);
    const [n] = await h.after(60_000);
    assert.equal(n?.firing.length, 2, 'Alertmanager resends all firing alerts of the group');
    assert.equal(n?.createdAt, T0 + 30_000 + 5 * 60_000);
  });

  test('unchanged firing alerts are repeated after repeat_interval, not before', async () => {
    const h = harness(BASE());
    await h.step([finding()]);
    await h.after(30_000);
    assert.deepEqual(await h.after(3 * 3_600_000), []);
    const again = await h.after(3_600_000);
    assert.equal(again.length, 1);
    assert.equal(again[0]?.key.endsWith(':2'), true);
  });

  test('resolved alerts are announced once; send_resolved: false suppresses them', async () => {
    const h = harness(BASE());
    const f = finding();
    await h.step([f]);
    await h.after(30_000);
    const [r, ...more] = await h.step([resolvedOf(f, T0 + 60_000)]);
    assert.equal(r, undefined, 'resolved waits for group_interval');
    assert.equal(more.length, 0);
    const [res] = await h.after(5 * 60_000);
    assert.equal(res?.status, 'resolved');
    assert.equal(res?.resolved[0]?.key, f.id);
    assert.deepEqual(await h.after(24 * 3_600_000), [], 'group is gone after the resolved notice');

    const q = harness(BASE().replace('repeat_interval: 4h', 'repeat_interval: 4h\n  send_resolved: false'));
    const g = finding();
    await q.step([g]);
    await q.after(30_000);
    await q.step([resolvedOf(g, T0 + 60_000)]);
    assert.deepEqual(await q.after(10 * 60_000), []);
  });

  test('redelivered and out-of-order findings change nothing (at-least-once bus)', async () => {
    const h = harness(BASE());
    const f = finding();
    await h.step([f, f, f]);
    const [n] = await h.after(30_000);
    assert.equal(n?.firing.length, 1);
    await h.step([resolvedOf(f, T0 + 60_000)]);
    await h.step([f]); // old firing copy arrives late
    const [res] = await h.after(5 * 60_000);
    assert.equal(res?.status, 'resolved');
  });

  test('a backlog after downtime gives one notification per group, not one per finding', async () => {
    const h = harness(BASE('').replace('group_by: [rule]', 'group_by: [rule, entity]'));
    const backlog = [];
    for (let i = 0; i < 200; i++)
      backlog.push(finding({ entity: { type: 'user', id: `u${i % 5}` }, at: T0 - 3_600_000 + i * 1000 }));
    await h.step(backlog);
    const sent = await h.after(30_000);
    assert.equal(sent.length, 5);
    assert.deepEqual(
      sent.map((n) => n.firing.length),
      [40, 40, 40, 40, 40],
    );
  });

  test('group_wait 0 notifies on the same tick', async () => {
    const h = harness(BASE().replace('group_wait: 30s', 'group_wait: 0s'));
    assert.equal((await h.step([finding()])).length, 1);
  });
});

describe('routing tree', () => {
  const cfg = `
route:
  receiver: default
  group_by: [rule]
  group_wait: 0s
  routes:
    - matchers: ['severity=~high|critical', 'entity_type=user']
      receiver: security
      continue: true
    - matchers: ['rule=~storage\\..*']
      receiver: platform
receivers:
  - name: default
    channels: [{ type: console }]
  - name: security
    channels: [{ type: console }]
  - name: platform
    channels: [{ type: console }]
`;
  test('first matching child wins; continue: true also tries the next siblings; unmatched alerts stay at the parent', async () => {
    const h = harness(cfg);
    const sent = await h.step([
      finding({ severity: 'critical' }),
      finding({ severity: 'low' }),
      finding({ rule: 'storage.exhaustion_forecast', entity: { type: 'storage', id: 'fs1' }, severity: 'critical' }),
    ]);
    const byReceiver = sent.map((n) => `${n.receiver}:${n.firing.map((a) => a.finding.severity).join(',')}`).sort();
    // critical user finding: security (continue) then no other sibling matches → not the parent.
    assert.deepEqual(byReceiver, ['default:low', 'platform:critical', 'security:critical']);
  });
});
