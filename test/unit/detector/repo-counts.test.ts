import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countRepoPull,
  MAX_LISTED_REPOS,
  repoEntries,
  setRepoCount,
} from '../../../services/detector/src/state/repo-counts.ts';
import type { HourBucket } from '../../../services/detector/src/state/types.ts';
import { rng } from '../forecast/traces.ts';

const EMPTY = Object.freeze([]) as unknown as never[];
const bucket = (): HourBucket => ({
  hour: 0,
  pulls: 0,
  bytes: 0,
  events: 0,
  repos: 0,
  repoList: EMPTY,
  repoIndex: undefined,
  lastRepo: undefined,
  lastRepoAt: -1,
  ips: EMPTY,
  userAgents: EMPTY,
  samples: EMPTY,
  sampleCount: 0,
  late: false,
  early: undefined,
});

/**
 * The specification, as a plain Map: pulls per repository in first-pull order, `repos` = distinct
 * repositories; beyond MAX_LISTED_REPOS a new repository is counted in `repos` but not listed (so
 * an unlisted one counts as new again when it returns after another repository).
 */
class Reference {
  readonly counts = new Map<string, number>();
  repos = 0;
  private last: string | undefined;
  private lastListed = false;
  count(name: string): void {
    if (name === this.last) {
      if (this.lastListed) this.counts.set(name, this.counts.get(name)! + 1);
      return;
    }
    const c = this.counts.get(name);
    if (c !== undefined) this.counts.set(name, c + 1);
    else {
      this.repos++;
      if (this.counts.size < MAX_LISTED_REPOS) this.counts.set(name, 1);
    }
    this.last = name;
    this.lastListed = this.counts.has(name);
  }
}

test('repository pull counts match a Map model: runs, revisits, the name index (16+), the 4096 cap', () => {
  const r = rng(42);
  for (const universe of [3, 12, 17, 60, 6000]) {
    for (let round = 0; round < 10; round++) {
      const b = bucket();
      const ref = new Reference();
      // Restored counts first (snapshot / Elasticsearch aggregates), as fromSnapshot does.
      const restored = Math.floor(r() * 20);
      for (let k = 0; k < restored; k++) {
        const n = 1 + Math.floor(r() * 9);
        setRepoCount(b, `team-${k % 7}/svc-${k}`, n);
        ref.counts.set(`team-${k % 7}/svc-${k}`, n);
      }
      b.repos = ref.repos = ref.counts.size;
      let last = '';
      const steps = universe > 1000 ? 12_000 : 2_000;
      for (let s = 0; s < steps; s++) {
        // Fresh string objects (as JSON.parse gives them): equality by content, not identity.
        const name =
          r() < 0.3 && last
            ? `${last}`.slice(0)
            : JSON.parse(JSON.stringify(`team-${Math.floor(r() * 7)}/svc-${Math.floor(r() * universe)}`));
        countRepoPull(b, name);
        ref.count(name);
        last = name;
      }
      assert.deepEqual(repoEntries(b), [...ref.counts], `universe ${universe} round ${round}`);
      assert.equal(b.repos, ref.repos, `distinct count, universe ${universe} round ${round}`);
    }
  }
});

test('setRepoCount overwrites a listed count and lists a new repository', () => {
  const b = bucket();
  countRepoPull(b, 'a/x');
  countRepoPull(b, 'a/x');
  countRepoPull(b, 'b/y');
  setRepoCount(b, 'a/x', 10);
  setRepoCount(b, 'c/z', 3);
  assert.deepEqual(repoEntries(b), [
    ['a/x', 10],
    ['b/y', 1],
    ['c/z', 3],
  ]);
  assert.equal(b.repos, 2, 'setRepoCount leaves the distinct count to the caller');
});
