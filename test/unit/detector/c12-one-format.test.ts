import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWith, ev, runAll } from './factory.ts';

const T = Date.parse('2026-03-10T10:00:00Z');

/**
 * Shared case C12: the registry writes an app-log line and an access-log line for the same
 * `_catalog` / tags-list request (the access line has no request id to join on). The request
 * counts once toward enumeration: access-log lines (`event.dataset: oci_registry.access`) never count.
 */
describe('C12: one format counts for registry.enumeration', () => {
  const appLog = (i: number) =>
    ev(T + i * 5_000, 'tags-list', { ip: '192.0.2.12', repo: `team/r${i}`, requestId: `rq-${i}` });
  const accessLine = (i: number) =>
    ev(T + i * 5_000, 'tags-list', { ip: '192.0.2.12', repo: `team/r${i}`, dataset: 'oci_registry.access' });

  test('20 requests seen in both formats stay below the threshold of 30 (not 40 counted)', () => {
    const evs = Array.from({ length: 20 }, (_, i) => [appLog(i), accessLine(i)]).flat();
    const found = runAll(engineWith(), evs).filter((d) => d.rule === 'registry.enumeration');
    assert.deepEqual(found, []);
  });

  test('40 requests in both formats fire once, with the count of the app log only', () => {
    const evs = Array.from({ length: 40 }, (_, i) => [appLog(i), accessLine(i)]).flat();
    const all = runAll(engineWith(), evs).filter((d) => d.rule === 'registry.enumeration');
    const found = all.filter((d) => d.status !== 'resolved');
    assert.equal(found.length, 1);
    assert.ok(found[0]!.observed.value <= 40, `observed ${found[0]!.observed.value}`);
    // Its resolution at the end of the input carries the burst's final count: the app log's 40.
    assert.deepEqual(
      all.filter((d) => d.status === 'resolved').map((d) => d.observed.value),
      [40],
    );
  });

  test('access-log lines alone never count', () => {
    const evs = Array.from({ length: 40 }, (_, i) => accessLine(i));
    assert.deepEqual(
      runAll(engineWith(), evs).filter((d) => d.rule === 'registry.enumeration'),
      [],
    );
  });

  test('repo.crawl: a crawl seen in both formats is the user’s only, not also the client address’s', () => {
    const engine = engineWith({ rules: { params: { 'repo.crawl': { populationFactor: 1 } } } });
    const evs = Array.from({ length: 30 }, (_, i) => [
      // App-log line joined with its notification: the user.
      ev(T + i * 2_000, 'manifest-pull', { user: 'mallory', ip: '192.0.2.12', repo: `team/r${i}`, requestId: `c${i}` }),
      // The access-log line of the same request: no user, no request id.
      ev(T + i * 2_000, 'manifest-pull', { ip: '192.0.2.12', repo: `team/r${i}`, dataset: 'oci_registry.access' }),
    ]).flat();
    const crawls = runAll(engine, evs).filter((d) => d.rule === 'repo.crawl');
    assert.ok(crawls.length >= 1);
    assert.deepEqual([...new Set(crawls.map((d) => `${d.entity.type}:${d.entity.id}`))], ['user:mallory']);
  });
});
