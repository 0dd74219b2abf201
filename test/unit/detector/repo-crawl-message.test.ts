import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWith, ev, runAll } from './factory.ts';

const T = Date.parse('2026-03-10T10:00:00Z');

describe('repo.crawl message', () => {
  test('a fresh install (no population yet) fires at exactly the 25-repository floor and says "at N or more"', () => {
    // Default populationFactor 3: the floor must not be multiplied by it (75 before) when there is
    // no population p99 to multiply.
    const engine = engineWith({});
    const events = Array.from({ length: 25 }, (_, i) =>
      ev(T + i * 1_000, 'manifest-pull', { user: 'newbie', repo: `team/r${i}` }),
    );
    const crawl = runAll(engine, events, false).filter((d) => d.rule === 'repo.crawl');
    assert.equal(crawl.length, 1);
    const d = crawl[0]!;
    assert.equal(d.observed.value, 25);
    assert.match(d.message, /\(alert at 25 or more\)/);
    assert.doesNotMatch(d.message, /alert above/);
    assert.match(d.message, /no history yet/);
    assert.equal(d.labels?.['basis'], 'minimum');
  });
});
