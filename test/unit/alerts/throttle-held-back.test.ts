import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, finding, harness, T0 } from './fixtures.ts';
import { plainText } from '../../../services/alerts/src/render.ts';
import { createKeyLock } from '../../../services/alerts/src/key-lock.ts';

const bruteForce = (ip: string, at: number) =>
  finding({
    rule: 'auth.bruteforce_ip',
    entity: { type: 'ip', id: ip },
    at,
    message: `${ip} failed 30 logins`,
  });

describe('throttle: the held-back count lives with the throttle key (it spans groups)', () => {
  test("group_by ['...'], key [rule]: the next message of the key says how many were held back", async () => {
    const h = harness(BASE('throttle: { realert: 1m, key: [rule] }').replace('group_by: [rule]', "group_by: ['...']"));
    const arrivals = new Map([0, 10_000, 15_000, 83_000].map((dt, i) => [T0 + dt, `198.51.100.${i + 1}`]));
    const all = [];
    // The service ticks every 250 ms; a 1 s tick is enough here.
    for (let t = T0; t <= T0 + 10 * 60_000; t += 1000) {
      await h.clock.advanceTo(t);
      const ip = arrivals.get(t);
      all.push(...(await h.step(ip ? [bruteForce(ip, t)] : [])));
    }
    assert.deepEqual(
      all.map((n) => [n.firing.map((a) => a.finding.entity.id), n.throttled]),
      [
        [['198.51.100.1'], 0],
        [['198.51.100.4'], 2],
      ],
      'first and fourth delivered; the fourth carries the two held back in other groups',
    );
    assert.match(plainText(all[1]!, {}), /2 similar alert\(s\) held back by the per-key throttle/);
  });

  test('groups of one key due in the same tick: one passes, the rest are counted (no lost count)', async () => {
    const h = harness(BASE('throttle: { realert: 1m, key: [rule] }').replace('group_by: [rule]', "group_by: ['...']"));
    await h.step([1, 2, 3, 4].map((i) => bruteForce(`198.51.100.${i}`, T0)));
    const first = await h.after(30_000); // every group_wait ends in this one tick
    assert.equal(first.length, 1, 'the throttle holds back the other three groups of the key');
    assert.equal(first[0]?.throttled, 0);
    await h.clock.advanceTo(T0 + 100_000);
    const [next] = await h.step([bruteForce('198.51.100.5', T0 + 100_000)]);
    const later = next ? [next] : await h.after(30_000);
    assert.equal(later.length, 1);
    assert.equal(later[0]?.throttled, 3, 'all three held back are reported, none lost to a race');
    const after = await h.after(5 * 60_000);
    assert.deepEqual(after, [], 'nothing re-sent; the count was reported once');
  });
});

describe('createKeyLock', () => {
  test('runs holders of the same key one at a time, different keys in parallel, no deadlock on overlap', async () => {
    const lock = createKeyLock();
    const log: string[] = [];
    const job = (name: string, keys: string[], ms: number) =>
      lock.run(keys, async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([job('a', ['k1'], 20), job('b', ['k2'], 5), job('c', ['k2', 'k1'], 1)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log.slice(0, 2), ['a+', 'b+'], 'a and b hold different keys at once');
    assert.ok(log.indexOf('c+') > log.indexOf('a-') && log.indexOf('c+') > log.indexOf('b-'), log.join(' '));
    await assert.rejects(
      lock.run(['k1'], async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await lock.run(['k1'], async () => 'free again'), 'free again', 'released after a throw');
  });
});
