/**
 * One registry request counted once in the stored documents (shared CASES C12): its notification,
 * app-log line and access line are joined (request id; C12 key); every later copy is
 * `oci_registry.duplicate: true`, and a later copy whose bytes an earlier one carries is
 * `oci_registry.duplicate_bytes: true`. Real normalizer over real registry output
 * (test/fixtures/real-registry: Distribution 2.8.2 driven by skopeo) and the C12 input.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { createNormalizer } from '../../../shared/src/normalize/index.ts';
import { RequestCopies } from '../../../services/ingest/src/request-copies.ts';

const fixture = (p: string): string => readFileSync(new URL(`../../fixtures/${p}`, import.meta.url), 'utf8');
const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim().length > 0);

function logEvents(ls: readonly string[]): RegistryEvent[] {
  const n = createNormalizer();
  const rs = [...ls.flatMap((l) => n.push(l)), ...n.flush()];
  return rs.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
}

function notificationEvents(ls: readonly string[]): RegistryEvent[] {
  const n = createNormalizer({ dropDuplicates: false });
  return ls.flatMap((l) =>
    n
      .pushPayload((JSON.parse(l) as { body: string }).body, 'notification')
      .flatMap((r) => (r.kind === 'event' ? [r.event] : [])),
  );
}

const REAL_LOG = lines(fixture('real-registry/registry-output.log'));
const REAL_NOTIFICATIONS = lines(fixture('real-registry/notifications.ndjson'));

/** The pull of `team/app:v1` by bob: notification 5, app-log line 61, access line 62 of the real run. */
function onePull(): { n: RegistryEvent; l: RegistryEvent; a: RegistryEvent } {
  const [n] = notificationEvents([REAL_NOTIFICATIONS[4]!]);
  const [l, a] = logEvents([REAL_LOG[60]!, REAL_LOG[61]!]);
  assert.ok(n && l && a);
  assert.equal(n.event.dataset, 'oci_registry.notification');
  assert.equal(l.event.dataset, 'oci_registry.log');
  assert.equal(a.event.dataset, 'oci_registry.access');
  assert.equal(n.http?.request?.id, '768fa14f-c6e7-4620-aa29-aa1627d85515');
  assert.equal(l.http?.request?.id, n.http?.request?.id);
  assert.equal(a.http?.response?.body?.bytes, 557);
  return { n, l, a };
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

const bytesOf = (e: RegistryEvent): number => e.http?.response?.body?.bytes ?? 0;
const counted = (es: readonly RegistryEvent[]): RegistryEvent[] => es.filter((e) => e.oci_registry.duplicate !== true);
const sumBytes = (es: readonly RegistryEvent[]): number => es.reduce((s, e) => s + bytesOf(e), 0);
/** The copies whose bytes are summed (`not oci_registry.duplicate_bytes : true`). */
const bytesOnce = (es: readonly RegistryEvent[]): RegistryEvent[] =>
  es.filter((e) => e.oci_registry.duplicate_bytes !== true);

describe('RequestCopies: notification + app log (http.request.id)', () => {
  test('app log first: the notification is the duplicate and loses image_pull', () => {
    const { n, l } = onePull();
    const c = new RequestCopies(100);
    assert.equal(c.mark(l), l);
    const m = c.mark(n);
    assert.equal(m.oci_registry.duplicate, true);
    assert.equal(m.oci_registry.image_pull, false);
    assert.equal(n.oci_registry.image_pull, true, 'the input is not mutated');
    assert.equal(n.oci_registry.duplicate, undefined);
  });

  test('notification first: the app-log line is a duplicate whose bytes still count, but not its pull', () => {
    const { n, l } = onePull();
    const c = new RequestCopies(100);
    assert.equal(c.mark(n), n);
    const m = c.mark(l);
    assert.equal(m.oci_registry.duplicate, true, 'the notification counts the request');
    assert.equal(m.oci_registry.duplicate_bytes, undefined, 'a notification has no bytes: the log line brings them');
    assert.equal(m.oci_registry.image_pull, false, 'the pull is counted by the notification');
    assert.equal(bytesOf(m), 557);
  });

  test('a second line of the same source and request id is not a copy', () => {
    const { l } = onePull();
    const c = new RequestCopies(100);
    c.mark(l);
    const again = { ...l, event: { ...l.event, id: 'another-line' } };
    assert.equal(c.mark(again), again);
  });
});

describe('RequestCopies: app log + access line (C12 key)', () => {
  test('C12: the app-log line, the combined access line and the JSON access line count once, in every order', () => {
    const c12 = logEvents(lines(fixture('cases/inputs/C12.log')));
    assert.equal(c12.length, 3);
    for (const order of permutations(c12)) {
      const c = new RequestCopies(100);
      const out = order.map((e) => c.mark(e));
      assert.equal(counted(out).length, 1, order.map((e) => e.oci_registry.source_format).join(' → '));
      assert.equal(counted(out)[0], order[0], 'the first copy to arrive counts');
      assert.equal(sumBytes(bytesOnce(out)), 24);
    }
  });

  test('both orders of app log and access line of a manifest GET', () => {
    const { l, a } = onePull();
    let c = new RequestCopies(100);
    assert.equal(c.mark(l), l);
    const dupA = c.mark(a);
    assert.equal(dupA.oci_registry.duplicate, true);
    c = new RequestCopies(100);
    assert.equal(c.mark(a), a);
    const afterA = c.mark(l);
    // The access line counted the request and its bytes; it never carries the pull, so the
    // app-log line is a duplicate that still counts the one image pull.
    assert.equal(afterA.oci_registry.duplicate, true);
    assert.equal(afterA.oci_registry.image_pull, true);
  });

  test('same second, method, path, status and size but another client: not duplicates', () => {
    const { l, a } = onePull();
    const other: RegistryEvent = { ...a, source: { ip: '192.0.2.77', address: '192.0.2.77' } };
    const c = new RequestCopies(100);
    c.mark(l);
    assert.equal(c.mark(other), other);
    // …while the access line of the same client still pairs with the app-log line.
    assert.equal(c.mark(a).oci_registry.duplicate, true);
  });

  test('access line outside the time tolerance (1 s + request duration) is another request', () => {
    const { l, a } = onePull();
    const late: RegistryEvent = { ...a, '@timestamp': '2026-11-29T15:04:14.000Z' };
    const c = new RequestCopies(100);
    c.mark(l);
    assert.equal(c.mark(late), late);
  });

  test('two identical requests of one client in the same second: each access line pairs with one app-log line', () => {
    const { l, a } = onePull();
    const l2: RegistryEvent = {
      ...l,
      event: { ...l.event, id: 'l2' },
      http: { ...l.http, request: { id: 'rid-2', method: 'GET' } },
    };
    const a2: RegistryEvent = { ...a, event: { ...a.event, id: 'a2' } };
    const c = new RequestCopies(100);
    const out = [l, l2, a, a2].map((e) => c.mark(e));
    assert.deepEqual(
      out.map((e) => e.oci_registry.duplicate === true),
      [false, false, true, true],
    );
  });
});

describe('RequestCopies: notification + app log + access line of one pull', () => {
  test('every arrival order: exactly one image_pull, the bytes once, the request once (twice only when the access line comes between notification and app log)', () => {
    const { n, l, a } = onePull();
    for (const order of permutations([n, l, a])) {
      const c = new RequestCopies(100);
      const out = order.map((e) => c.mark(e));
      const label = order.map((e) => e.event.dataset).join(' → ');
      assert.equal(out.filter((e) => e.oci_registry.image_pull).length, 1, label);
      assert.equal(sumBytes(bytesOnce(out)), 557, label);
      // The access line has no request id: it joins the notification only through the app-log line.
      const apart = order.indexOf(l) === 2;
      assert.equal(counted(out).length, apart ? 2 : 1, label);
      assert.equal(counted(out)[0], order[0], `the first copy counts: ${label}`);
    }
  });
});

describe('RequestCopies: the whole real registry run (32 notification POSTs, 249 output lines)', () => {
  const notes = notificationEvents(REAL_NOTIFICATIONS);
  const logs = logEvents(REAL_LOG);
  const access = logs.filter((e) => e.event.dataset === 'oci_registry.access');
  const pulls = notes.filter((e) => e.oci_registry.image_pull).length;
  const byTime = [...notes, ...logs].sort((x, y) => x['@timestamp'].localeCompare(y['@timestamp']));
  for (const [name, order] of [
    ['notifications first', [...notes, ...logs]],
    ['output first', [...logs, ...notes]],
    ['event-time order', byTime],
  ] as const) {
    test(`${name}: image pulls as the notifications count them, bytes as the access log counts them`, () => {
      assert.equal(pulls, 5);
      const before = order.filter((e) => e.oci_registry.image_pull).length;
      assert.equal(before, 10, 'without marking each pull is counted twice (notification + app log)');
      const c = new RequestCopies(1000);
      const out = order.map((e) => c.mark(e));
      assert.equal(out.filter((e) => e.oci_registry.image_pull).length, pulls);
      assert.equal(sumBytes(bytesOnce(out)), sumBytes(access));
      const perRequest = new Map<string, number>();
      for (const e of out) {
        const rid = e.http?.request?.id;
        if (rid && e.oci_registry.image_pull) perRequest.set(rid, (perRequest.get(rid) ?? 0) + 1);
      }
      assert.ok([...perRequest.values()].every((v) => v === 1));
    });
  }
});

describe('RequestCopies: bounded memory', () => {
  test('remembers at most maxRequests request ids and C12 keys; a forgotten request is counted again', () => {
    const { n, l } = onePull();
    const c = new RequestCopies(2);
    c.mark(l);
    for (let i = 0; i < 5; i++) {
      c.mark({
        ...l,
        event: { ...l.event, id: `x${i}` },
        http: { ...l.http, request: { id: `rid-${i}`, method: 'GET' } },
        url: { path: `/v2/other/manifests/${i}` },
      });
      assert.ok(c.size <= 4, `size ${c.size}`);
    }
    assert.equal(c.mark(n), n, 'the app-log line of this request was forgotten');
  });
});
