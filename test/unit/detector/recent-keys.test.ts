/**
 * RecentKeys (the detector's duplicate-id and request-join memory): exact answers against a Map
 * model with eviction, and a hash that spreads the id shapes registries really produce (hex ids,
 * UUIDs v4 and v1, sequential numbers, prefixed names) evenly over the chain table.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentKeys, smiHash } from '../../../services/detector/src/state/recent-keys.ts';
import { rng as mulberry32 } from '../forecast/traces.ts';

const hex = (r: () => number, n: number): string =>
  Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

describe('RecentKeys', () => {
  test('answers exactly like a Map that forgets the oldest keys beyond capacity', () => {
    const r = mulberry32(7);
    const cap = 500;
    const keys = new RecentKeys<string>(cap);
    const model = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      // Mostly new keys, some repeats of recent and of long-forgotten ones.
      const k = r() < 0.7 ? `k${i}` : `k${Math.floor(r() * i)}`;
      const v = `v${i}`;
      const got = keys.getOrAdd(k, v);
      const want = model.get(k);
      assert.equal(got, want, `key ${k} at step ${i}`);
      if (want === undefined) {
        model.set(k, v);
        if (model.size > cap) model.delete(model.keys().next().value!);
      }
      assert.equal(keys.size, model.size);
    }
    assert.deepEqual(keys.keysInOrder(), [...model.keys()]);
  });

  test('addIfAbsent: true once per held key', () => {
    const keys = new RecentKeys<never>(3);
    assert.equal(keys.addIfAbsent('a'), true);
    assert.equal(keys.addIfAbsent('a'), false);
    keys.addIfAbsent('b');
    keys.addIfAbsent('c');
    keys.addIfAbsent('d'); // forgets 'a'
    assert.equal(keys.has('a'), false);
    assert.equal(keys.addIfAbsent('a'), true);
  });

  test('the hash spreads real id shapes: no long chains in a table of the ring size', () => {
    const r = mulberry32(11);
    const n = 50_000;
    const shapes: Record<string, (i: number) => string> = {
      'hex id (32)': () => hex(r, 32),
      'uuid v4': () => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`,
      // v1: time fields change fastest, clock sequence and node (MAC) are constant.
      'uuid v1': (i) => `${(0x1e4a0000 + i).toString(16)}-9dd7-11ef-8b3a-0242ac120002`,
      sequential: (i) => String(1_000_000 + i),
      'prefixed name': (i) => `regwatch-event-${i}`,
    };
    const size = 65_536; // RecentKeys' table for a 50 000-key ring
    for (const [name, make] of Object.entries(shapes)) {
      const load = new Uint16Array(size);
      let max = 0;
      for (let i = 0; i < n; i++) {
        const b = smiHash(make(i)) & (size - 1);
        load[b]!++;
        if (load[b]! > max) max = load[b]!;
      }
      // A uniform hash puts at most ~8 of 50 000 keys in one of 65 536 buckets.
      assert.ok(max <= 10, `${name}: longest chain ${max}`);
      assert.ok(smiHash(make(0)) >= 0 && smiHash(make(0)) <= 0x3fffffff, `${name}: 30-bit value`);
    }
  });
});

describe('RecentKeys edge cases', () => {
  test('tiny rings over many keys stay exact', () => {
    // Rings of 1–13 keys over 3× as many distinct keys: every insert forgets one, chains unlink
    // in every position, and hits and misses alternate.
    const r = mulberry32(3);
    for (const cap of [1, 2, 5, 13]) {
      const keys = new RecentKeys<number>(cap);
      const model = new Map<string, number>();
      for (let i = 0; i < 30_000; i++) {
        const k = `x${Math.floor(r() * 3 * cap)}`;
        const got = keys.getOrAdd(k, i);
        assert.equal(got, model.get(k), `cap ${cap}, key ${k}, step ${i}`);
        if (got === undefined) {
          model.set(k, i);
          if (model.size > cap) model.delete(model.keys().next().value!);
        }
      }
      assert.deepEqual(keys.keysInOrder(), [...model.keys()]);
    }
  });

  test('add() of a held key: lookups see the newer entry, and forgetting the older one keeps it', () => {
    const keys = new RecentKeys<string>(3);
    keys.add('a', 'old');
    keys.add('a', 'new');
    assert.equal(keys.get('a'), 'new');
    keys.add('b', 'b');
    keys.add('c', 'c'); // forgets the older 'a'
    assert.equal(keys.get('a'), 'new');
    keys.add('d', 'd'); // forgets the newer 'a'
    assert.equal(keys.has('a'), false);
    assert.deepEqual(keys.keysInOrder(), ['b', 'c', 'd']);
  });
});
