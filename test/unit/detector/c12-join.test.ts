/**
 * Shared CASES C12 in the detector: a Distribution registry prints each request twice — its
 * app-log `response completed` line (`oci_registry.log`, request id, user, status, bytes) and its
 * access line (`oci_registry.access`, no request id, usually no user). The request join
 * (RequestJoiner) pairs them by the C12 key (shared/src/model/request-key.ts) so every rule sees
 * ONE request carrying the app-log copy's facts, in batch (`analyze`) and live (`run`) mode and
 * in any arrival order within the join window. Real registry output throughout
 * (test/fixtures/c12-join, test/fixtures/real-registry), run through the real normalizer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { createNormalizer } from '../../../shared/src/normalize/index.ts';
import { toDetectorEvent, type DetectorEvent } from '../../../services/detector/src/event.ts';
import { RequestJoiner, type RequestJoinOptions } from '../../../services/detector/src/pipeline/request-join.ts';
import { detectOrdered, newSummary } from '../../../services/detector/src/pipeline/analyze.ts';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { engineWith } from './factory.ts';

const fixture = (p: string): string => readFileSync(new URL(`../../fixtures/${p}`, import.meta.url), 'utf8');
const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim().length > 0);

const DELETES = lines(fixture('c12-join/deletes.log'));
const REAL_LOG = lines(fixture('real-registry/registry-output.log'));
const REAL_NOTIFICATIONS = lines(fixture('real-registry/notifications.ndjson'));

/** Normalizes registry output lines (offset = line index, as a collector gives) into detector events. */
function logEvents(ls: readonly string[], firstOffset = 0): DetectorEvent[] {
  const n = createNormalizer();
  const rs = [...ls.flatMap((l, i) => n.push(l, { origin: 'registry.log', offset: firstOffset + i })), ...n.flush()];
  return rs.flatMap((r) => (r.kind === 'event' ? [detector(r.event)] : []));
}

function detector(e: RegistryEvent): DetectorEvent {
  const d = toDetectorEvent(e);
  assert.ok(d);
  return d;
}

/** The pull of `team/app:v1` by bob in the real run: notification 5, app-log line 61, access line 62. */
function onePull(): { n: DetectorEvent; l: DetectorEvent; a: DetectorEvent } {
  const body = (JSON.parse(REAL_NOTIFICATIONS[4]!) as { body: string }).body;
  const [n] = createNormalizer({ dropDuplicates: false })
    .pushPayload(body, 'notification')
    .flatMap((r) => (r.kind === 'event' ? [detector(r.event)] : []));
  const [l, a] = logEvents([REAL_LOG[60]!, REAL_LOG[61]!], 60);
  assert.ok(n && l && a);
  assert.equal(n.dataset, 'oci_registry.notification');
  assert.equal(l.dataset, 'oci_registry.log');
  assert.equal(a.dataset, 'oci_registry.access');
  assert.equal(a.requestId, undefined, 'an access line has no request id');
  return { n, l, a };
}

/** One DELETE of the fixture: its app-log line and its access line. */
function oneDelete(i = 0): { l: DetectorEvent; a: DetectorEvent } {
  const [l, a] = logEvents([DELETES[2 * i]!, DELETES[2 * i + 1]!], 2 * i);
  assert.ok(l && a);
  assert.equal(l.dataset, 'oci_registry.log');
  assert.equal(a.dataset, 'oci_registry.access');
  return { l, a };
}

/** Batch mode (`analyze`): pushes in the given order, then flushes. */
function batch(evs: readonly DetectorEvent[]): { out: DetectorEvent[]; joined: number } {
  const j = new RequestJoiner(5_000);
  const out = evs.flatMap((e) => j.push(e));
  out.push(...j.flush());
  return { out, joined: j.joined };
}

const LIVE: Record<string, RequestJoinOptions> = {
  'live (reorder buffer)': { holdMs: 1_000 },
  'live (lanes only)': { holdMs: 1_000, reorderMs: 0 },
};

/**
 * Live mode (`run`): each event arrives `gapMs` of processing time after the previous one; then
 * processing time runs on until every deadline passed (no flush: nothing may stay stuck).
 */
function live(
  evs: readonly DetectorEvent[],
  opts: RequestJoinOptions,
  gapMs = 20,
): { out: DetectorEvent[]; joined: number } {
  const j = new RequestJoiner(5_000, [], opts);
  const out: DetectorEvent[] = [];
  let now = 1_000;
  for (const e of evs) {
    out.push(...j.push(e, now));
    now += gapMs;
  }
  for (let d = j.nextDeadline(); d !== undefined; d = j.nextDeadline()) out.push(...j.expire(d));
  assert.equal(j.size, 0, 'everything released by processing time');
  return { out, joined: j.joined };
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

const MODES: [string, (evs: readonly DetectorEvent[]) => { out: DetectorEvent[]; joined: number }][] = [
  ['batch', batch],
  ...Object.entries(LIVE).map(
    ([name, opts]) => [name, (evs: readonly DetectorEvent[]) => live(evs, opts)] as [string, typeof batch],
  ),
];

describe('C12 join: app-log line + access line = one request', () => {
  for (const [mode, run] of MODES) {
    for (const order of ['access first', 'app log first'] as const) {
      test(`${mode}, ${order}: one DELETE with the app-log copy's request id`, () => {
        const { l, a } = oneDelete();
        const { out, joined } = run(order === 'access first' ? [a, l] : [l, a]);
        assert.equal(out.length, 1);
        assert.equal(joined, 1);
        const m = out[0]!;
        assert.equal(m.dataset, 'oci_registry.log');
        assert.equal(m.id, l.id, "the app-log copy's event id");
        assert.equal(m.requestId, '6caf2e49-65ea-45a8-a89b-6fb9424b3ef8');
        assert.equal(m.action, 'manifest-delete');
        assert.equal(m.status, 202);
        assert.equal(m.durationNs, l.durationNs);
        assert.equal(m.repository, 'team-b/worker');
        assert.equal(m.ts, a.ts, 'the earlier time: the access line gives the request start');
      });
    }

    test(`${mode}: notification + app-log line + access line of bob's pull are one pull by bob, in all 6 orders`, () => {
      const { n, l, a } = onePull();
      for (const order of permutations([n, l, a])) {
        const label = order.map((e) => e.dataset).join(' → ');
        const { out, joined } = run(order);
        assert.equal(out.length, 1, label);
        assert.equal(joined, 2, label);
        const m = out[0]!;
        assert.equal(m.user, 'bob', label);
        assert.equal(m.identity, 'bob', label);
        assert.equal(m.anonymous, false, label);
        assert.equal(m.requestId, '768fa14f-c6e7-4620-aa29-aa1627d85515', label);
        assert.equal(m.imagePull, true, label);
        assert.equal(m.bytes, 557, label);
        assert.equal(m.status, 200, label);
        assert.equal(m.dataset, 'oci_registry.log', label);
      }
    });

    test(`${mode}: an access line alone (app log at level warn, or an nginx in front) still counts`, () => {
      const { a } = oneDelete(3);
      const { out, joined } = run([a]);
      assert.equal(out.length, 1);
      assert.equal(joined, 0);
      assert.equal(out[0]!.id, a.id);
      assert.equal(out[0]!.identity, 'ip:127.0.0.1');
    });

    test(`${mode}: two requests with the same C12 key in the same second stay two, each joined once`, () => {
      // Two identical DELETEs of one client in the same second: same method, path, status, bytes.
      const appB = DELETES[0]!
        .replace('6caf2e49-65ea-45a8-a89b-6fb9424b3ef8', '0b7bcb0e-4a0c-4d5e-9a77-8e3f9b1f2c01')
        .replace('127.0.0.1:39568', '127.0.0.1:39570')
        .replace('10:15:19.05775626Z', '10:15:19.61230000Z');
      const [l1, a1, l2, a2] = logEvents([DELETES[0]!, DELETES[1]!, appB, DELETES[1]!]);
      assert.ok(l1 && a1 && l2 && a2);
      assert.notEqual(a1.id, a2.id, 'two access lines (another file offset)');
      for (const order of [
        [a1, a2, l1, l2],
        [l1, a1, l2, a2],
        [l1, l2, a1, a2],
        [a1, l1, a2, l2],
      ]) {
        const { out, joined } = run(order);
        assert.equal(out.length, 2);
        assert.equal(joined, 2);
        assert.deepEqual(out.map((e) => e.requestId).sort(), [l1.requestId, l2.requestId].sort());
        assert.ok(out.every((e) => e.dataset === 'oci_registry.log'));
      }
    });

    test(`${mode}: same key but another client is another request`, () => {
      const { l } = oneDelete();
      const [other] = logEvents([DELETES[1]!.replace(/^127\.0\.0\.1 /, '192.0.2.7 ')], 1);
      assert.ok(other);
      const { out, joined } = run([other, l]);
      assert.equal(out.length, 2);
      assert.equal(joined, 0);
    });

    test(`${mode}: an app-log line further than 1 s + its duration from the access line is another request`, () => {
      const { a } = oneDelete();
      const [late] = logEvents([DELETES[0]!.replace('10:15:19.05775626Z', '10:15:21.05775626Z')]);
      assert.ok(late);
      const { out, joined } = run([a, late]);
      assert.equal(out.length, 2);
      assert.equal(joined, 0);
    });
  }

  test('batch: a partner beyond the join window (event time) is not waited for; each counts', () => {
    const { l, a } = oneDelete();
    const j = new RequestJoiner(5_000);
    assert.deepEqual(j.push(a), []);
    // A later request moves the event time 6 s on: the access line goes alone.
    const next = oneDelete(1);
    const out = j.push({ ...next.a, ts: a.ts + 6_000 });
    assert.deepEqual(
      out.map((e) => e.id),
      [a.id],
    );
    out.push(...j.push(l), ...j.flush());
    assert.equal(out.filter((e) => e.repository === 'team-b/worker').length, 2);
    assert.equal(j.joined, 0);
  });

  for (const [name, opts] of Object.entries(LIVE)) {
    test(`${name}: a partner arriving after the hold (processing time) finds the access line gone; both count`, () => {
      const { l, a } = oneDelete();
      const j = new RequestJoiner(5_000, [], opts);
      const out = j.push(a, 0);
      out.push(...j.expire(10_000));
      assert.deepEqual(
        out.map((e) => e.id),
        [a.id],
        'the access line went alone after holdMs of log silence',
      );
      out.push(...j.push(l, 10_000), ...j.expire(30_000));
      assert.equal(out.length, 2);
      assert.equal(j.joined, 0);
      assert.equal(j.size, 0);
    });

    test(`${name}: the app-log line and its notification joined first still wait for the access line`, () => {
      const { n, l, a } = onePull();
      const j = new RequestJoiner(5_000, [], opts);
      const out = [...j.push(l, 0), ...j.push(n, 10)];
      // The access line arrives later (another partition), within the hold.
      out.push(...j.expire(500), ...j.push(a, 600));
      for (let d = j.nextDeadline(); d !== undefined; d = j.nextDeadline()) out.push(...j.expire(d));
      assert.equal(out.length, 1);
      assert.equal(out[0]!.user, 'bob');
      assert.equal(j.joined, 2);
    });

    test(`${name}: an access line held at a restart still joins its app-log line`, () => {
      const { l, a } = oneDelete();
      const before = new RequestJoiner(5_000, [], opts);
      assert.deepEqual(before.push(a, 0), []);
      const saved = JSON.parse(JSON.stringify(before.held())) as DetectorEvent[];
      const after = new RequestJoiner(5_000, saved, { ...opts, now: 100 });
      const out = after.push(l, 150);
      for (let d = after.nextDeadline(); d !== undefined; d = after.nextDeadline()) out.push(...after.expire(d));
      assert.equal(out.length, 1);
      assert.equal(out[0]!.requestId, l.requestId);
    });
  }
});

describe('C12 join end to end: the 13 DELETEs printed twice', () => {
  async function detect(evs: readonly DetectorEvent[], params: Record<string, unknown> = {}) {
    const engine = engineWith({ rules: { params: { 'delete.burst': params } } });
    const summary = newSummary();
    const sorted = [...evs].sort((x, y) => x.ts - y.ts);
    const findings: Finding[] = [];
    for await (const f of detectOrdered(
      (async function* () {
        yield* sorted;
      })(),
      engine,
      summary,
    ))
      findings.push(f);
    return { findings, summary };
  }

  test('26 lines = 13 requests: 13 joins, no delete.burst (threshold 20)', async () => {
    const evs = logEvents(DELETES);
    assert.equal(evs.length, 26);
    const { findings, summary } = await detect(evs);
    assert.equal(summary.joined, 13);
    assert.deepEqual(
      findings.filter((f) => f.rule === 'delete.burst'),
      [],
    );
  });

  test('with the threshold at 10, delete.burst counts 13 deletions in 13 repositories', async () => {
    const { findings } = await detect(logEvents(DELETES), { threshold: 10 });
    const burst = findings.filter((f) => f.rule === 'delete.burst');
    assert.ok(burst.length >= 1);
    const last = burst.at(-1)!;
    assert.equal(last.observed.value, 13);
    assert.match(last.message, /deleted 13 objects in 13 repositories/);
  });

  test('the access lines alone (no app log) still count: 13 deletions', async () => {
    const access = logEvents(DELETES).filter((e) => e.dataset === 'oci_registry.access');
    assert.equal(access.length, 13);
    const { findings, summary } = await detect(access, { threshold: 10 });
    assert.equal(summary.joined, 0);
    assert.equal(findings.filter((f) => f.rule === 'delete.burst').at(-1)?.observed.value, 13);
  });
});
