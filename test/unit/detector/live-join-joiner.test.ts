import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestJoiner } from '../../../services/detector/src/pipeline/request-join.ts';
import { ev } from './factory.ts';

const T = Date.parse('2026-03-10T10:00:30Z');
const NOTIF = 'oci_registry.notification' as const;
/**
 * These tests pin the join's own release rules (lanes, holdMs, quietMs, maxHoldMs) at exact
 * processing times, so they turn the live reorder buffer off; it has its own tests below.
 */
const LANES_ONLY = { reorderMs: 0 } as const;

/** Notification (user, no bytes) and log line (bytes, status, latency, no user) of one blob GET. */
function pair(requestId: string, at: number) {
  return {
    n: ev(at, 'blob-pull', { user: 'alice', ip: '10.0.0.9', requestId, dataset: NOTIF, repo: 'team-a/api' }),
    l: ev(at + 40, 'blob-pull', { ip: '10.0.0.9', requestId, bytes: 12_345, durationMs: 35, repo: 'team-a/api' }),
  };
}

describe('RequestJoiner (pure)', () => {
  for (const order of ['notification first', 'log line first'] as const) {
    test(`${order}: one merged event with the user of the notification and the bytes of the log`, () => {
      const { n, l } = pair('rq-1', T);
      const j = new RequestJoiner(5_000);
      const [a, b] = order === 'notification first' ? [n, l] : [l, n];
      assert.deepEqual(j.push(a), []);
      assert.deepEqual(j.push(b), []);
      assert.equal(j.size, 1);
      assert.equal(j.joined, 1);
      const out = j.flush();
      assert.equal(out.length, 1);
      const m = out[0]!;
      assert.equal(m.identity, 'alice');
      assert.equal(m.user, 'alice');
      assert.equal(m.anonymous, false);
      assert.equal(m.bytes, 12_345);
      assert.equal(m.status, 200);
      assert.equal(m.durationNs, 35_000_000);
      assert.equal(m.ts, T, 'earliest time of the two');
    });
  }

  test('two log events of one request with the same event.id merge (attempted user kept)', () => {
    // Distribution logs a rejected password twice: "error authenticating user" (names the user)
    // and "basic authentication challenge … authentication failure" (does not).
    const plain = ev(T, 'login-failure', { ip: '127.0.0.1', requestId: 'rq-x', id: 'same' });
    const named = ev(T, 'login-failure', {
      ip: '127.0.0.1',
      requestId: 'rq-x',
      id: 'same',
      user: 'bob',
      attemptedUser: 'bob',
    });
    const j = new RequestJoiner(5_000);
    j.push(plain);
    j.push(named);
    const out = j.flush();
    assert.equal(out.length, 1);
    assert.equal(out[0]!.attemptedUser, 'bob');
    assert.equal(out[0]!.identity, 'bob');
    assert.equal(out[0]!.status, 401);
  });

  test('two different events of one request from the same dataset are not merged', () => {
    const a = ev(T, 'manifest-pull', { user: 'u', requestId: 'rq-s', id: 'a' });
    const b = ev(T + 1, 'blob-pull', { user: 'u', requestId: 'rq-s', id: 'b' });
    const j = new RequestJoiner(5_000);
    j.push(a);
    j.push(b);
    assert.deepEqual(
      j.flush().map((e) => e.id),
      ['a', 'b'],
    );
    assert.equal(j.joined, 0);
  });

  test('event time releases what is older than the window behind the newest event, out of order too', () => {
    const j = new RequestJoiner(5_000);
    const a = ev(T, 'blob-pull', { user: 'u', requestId: 'a' });
    const b = ev(T + 3_000, 'blob-pull', { user: 'u', requestId: 'b' });
    const late = ev(T + 1_000, 'blob-pull', { user: 'u', requestId: 'late' });
    assert.deepEqual(j.push(a), []);
    assert.deepEqual(j.push(b), []);
    // An older event (another partition) does not move the watermark back.
    assert.deepEqual(j.push(late), []);
    const out = j.push(ev(T + 6_500, 'blob-pull', { user: 'u', requestId: 'c' }));
    assert.deepEqual(
      out.map((e) => e.requestId),
      ['a'],
      'a (older than 1 500) is released; b holds the queue (arrival order)',
    );
    assert.equal(j.size, 3);
  });

  test('processing time releases a held event after holdMs with no further events', () => {
    const j = new RequestJoiner(5_000, [], { ...LANES_ONLY, holdMs: 1_000 });
    const { l } = pair('rq-only-log', T);
    assert.deepEqual(j.push(l, 10_000), []);
    assert.equal(j.nextDeadline(), 11_000);
    assert.deepEqual(j.expire(10_999), [], 'not before its deadline');
    const out = j.expire(11_000);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.identity, 'ip:10.0.0.9', 'a log line alone: the source IP is the identity');
    assert.equal(j.size, 0);
    assert.equal(j.nextDeadline(), undefined);
  });

  test('newer arrivals do not postpone the deadline of the oldest held event', () => {
    const j = new RequestJoiner(60_000, [], { ...LANES_ONLY, holdMs: 1_000 });
    j.push(ev(T, 'blob-pull', { user: 'u', requestId: 'first' }), 0);
    for (let i = 1; i <= 9; i++) j.push(ev(T, 'blob-pull', { user: 'u', requestId: `n${i}` }), i * 90);
    assert.equal(j.nextDeadline(), 1_000);
    // At 1 500 ms the events that arrived up to 500 ms are due, the rest still wait.
    assert.deepEqual(
      j.expire(1_500).map((e) => e.requestId),
      ['first', 'n1', 'n2', 'n3', 'n4', 'n5'],
    );
    assert.equal(j.nextDeadline(), 1_540);
    // A push is also a release point.
    assert.deepEqual(
      j.push(ev(T, 'blob-pull', { user: 'u', requestId: 'n10' }), 1_600).map((e) => e.requestId),
      ['n6'],
    );
  });

  test('held events survive a restart (JSON round trip) and still merge with their partner', () => {
    const { n, l } = pair('rq-r', T);
    const before = new RequestJoiner(5_000, [], { ...LANES_ONLY, holdMs: 1_000 });
    before.push(n, 0);
    const saved = JSON.parse(JSON.stringify(before.held())) as ReturnType<RequestJoiner['held']>;
    const after = new RequestJoiner(5_000, saved, { ...LANES_ONLY, holdMs: 1_000, now: 50_000 });
    assert.equal(after.size, 1);
    assert.equal(after.nextDeadline(), 51_000, 'restored events wait holdMs from the restart');
    // Merged with its partner from the other source: nothing more to wait for, out at once.
    const out = after.push(l, 50_010);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.identity, 'alice');
    assert.equal(out[0]!.bytes, 12_345);
    assert.equal(after.joined, 1);
  });

  test('batch mode (no holdMs) never releases by processing time', () => {
    const j = new RequestJoiner(5_000);
    j.push(ev(T, 'blob-pull', { user: 'u', requestId: 'a' }));
    assert.equal(j.nextDeadline(), undefined);
    assert.deepEqual(j.expire(Number.MAX_SAFE_INTEGER), []);
    assert.equal(j.flush().length, 1);
  });

  describe('live mode: each event waits for the source its partner comes from', () => {
    const opts = { ...LANES_ONLY, holdMs: 1_000, maxHoldMs: 30_000 };
    const pull = (id: string, at: number, user?: string) =>
      ev(at, 'manifest-pull', {
        ip: '127.0.0.1',
        requestId: id,
        repo: 'team/app',
        ...(user ? { user, dataset: NOTIF } : {}),
      });

    test('notifications lagging the log by 9 s: a pull log line waits for its notification and gets the user', () => {
      const j = new RequestJoiner(5_000, [], opts);
      // Log lines arrive in real time; the notification stream is active but 9 s behind.
      assert.deepEqual(j.push(pull('old', T - 9_000, 'mallory'), 0), [], 'a notification for an earlier request');
      assert.deepEqual(
        j.push(pull('rq', T), 100).map((e) => e.requestId),
        ['old'],
        'the log is past that notification: its log line would have come',
      );
      const released: string[] = [];
      for (let k = 1; k <= 8; k++) {
        // More log lines (other requests) and lagging notifications keep arriving every second.
        for (const e of j.push(pull(`n-${k}`, T - 9_000 + k * 1_000, 'mallory'), k * 1_000 - 400))
          released.push(e.requestId!);
        for (const e of j.push(pull(`log-${k}`, T + k * 1_000), 100 + k * 1_000)) released.push(e.requestId!);
      }
      assert.ok(!released.includes('rq'), `still waiting after 8 s: ${released.join(',')}`);
      const out = j.push(pull('rq', T, 'mallory'), 9_200);
      const merged = out.find((e) => e.requestId === 'rq');
      assert.ok(merged, 'released once merged');
      assert.equal(merged.identity, 'mallory');
      assert.equal(merged.dataset, 'oci_registry.log');
    });

    test('no partner while notifications flow: released once the notification stream is a window past it', () => {
      const j = new RequestJoiner(5_000, [], opts);
      j.push(pull('n0', T - 1_000, 'mallory'), 0);
      assert.deepEqual(j.push(pull('lonely', T), 10), []);
      assert.deepEqual(
        j.push(pull('n1', T + 4_000, 'mallory'), 500).map((e) => e.requestId),
        [],
        'notification time T+4s: not yet a window past',
      );
      assert.deepEqual(
        j.push(pull('n2', T + 5_001, 'mallory'), 1_100).map((e) => e.requestId),
        ['lonely', 'n0'],
      );
    });

    test('logs only (no notification ever): a pull log line goes after holdMs, the source IP its identity', () => {
      const j = new RequestJoiner(5_000, [], opts);
      assert.deepEqual(j.push(pull('rq', T), 0), []);
      assert.equal(j.nextDeadline(), 1_000);
      const out = j.expire(1_000);
      assert.equal(out.length, 1);
      assert.equal(out[0]!.identity, 'ip:127.0.0.1');
    });

    test('a failed login does not wait for the (lagging) notifications', () => {
      const j = new RequestJoiner(5_000, [], opts);
      j.push(pull('n0', T - 9_000, 'mallory'), 0);
      j.expire(20_000);
      const fail = ev(T, 'login-failure', { ip: '127.0.0.1', requestId: 'lf', attemptedUser: 'bob', user: 'bob' });
      assert.deepEqual(j.push(fail, 20_000), []);
      // Notifications keep arriving, the log is quiet: released holdMs later.
      j.push(pull('n1', T - 8_000, 'mallory'), 20_500);
      assert.deepEqual(
        j.expire(21_000).map((e) => e.requestId),
        ['lf', 'n1'],
      );
    });

    test('maxHoldMs caps the wait when the partner source is active but never catches up', () => {
      const j = new RequestJoiner(5_000, [], { ...LANES_ONLY, holdMs: 1_000, quietMs: 10_000, maxHoldMs: 3_000 });
      j.push(pull('n0', T - 60_000, 'mallory'), 0);
      j.expire(5_000);
      j.push(pull('rq', T), 10_000);
      // Old notifications keep coming (each released at once: the log is far past them).
      for (let k = 1; k <= 2; k++) j.push(pull(`n${k}`, T - 60_000 + k, 'mallory'), 10_000 + k * 900);
      assert.equal(j.nextDeadline(), 13_000);
      assert.deepEqual(j.expire(12_900), []);
      assert.deepEqual(
        j.expire(13_000).map((e) => e.requestId),
        ['rq'],
      );
    });

    test('notifications silent for quietMs: a pull log line goes without its notification', () => {
      const j = new RequestJoiner(5_000, [], { ...LANES_ONLY, holdMs: 1_000, quietMs: 10_000 });
      j.push(pull('n0', T - 1_000, 'mallory'), 0);
      j.push(pull('rq', T), 100);
      assert.equal(j.nextDeadline(), 1_100, 'the notification waits holdMs for a quiet log');
      assert.deepEqual(
        j.expire(1_100).map((e) => e.requestId),
        ['n0'],
      );
      assert.equal(j.nextDeadline(), 10_000, 'the pull log line: quietMs after the last notification');
      assert.deepEqual(j.expire(9_999), []);
      assert.deepEqual(
        j.expire(10_000).map((e) => e.requestId),
        ['rq'],
      );
    });

    test('a failed login is not held back by pull log lines waiting for lagging notifications', () => {
      const j = new RequestJoiner(5_000, [], { ...LANES_ONLY, holdMs: 1_000, quietMs: 10_000, maxHoldMs: 120_000 });
      j.push(pull('n0', T - 20_000, 'mallory'), 0);
      j.push(pull('rq', T), 100);
      const fail = ev(T + 10, 'login-failure', { ip: '127.0.0.1', requestId: 'lf', user: 'bob', attemptedUser: 'bob' });
      assert.deepEqual(j.push(fail, 200), []);
      // Notifications (20 s behind) keep flowing; the log goes quiet.
      j.push(pull('n1', T - 19_000, 'mallory'), 900);
      assert.deepEqual(
        j.expire(1_300).map((e) => e.requestId),
        ['lf', 'n1'],
        'the login failure goes after holdMs (the old notification too), the pull keeps waiting',
      );
      assert.equal(j.size, 1);
    });
  });
});

describe('RequestJoiner live reorder buffer (reorderMs)', () => {
  /** A credential-stuffing burst: one IP, a failed login every 2.5 s for `n` events. */
  const burst = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      ev(T + i * 2_500, 'login-failure', { ip: '203.0.113.50', requestId: `rq-${i}`, attemptedUser: `u${i % 12}` }),
    );

  test('partitions delivered one after the other reach the engine in event-time order', () => {
    // What a 3-partition events topic delivers for one IP's burst keyed by user name: partition by partition.
    const events = burst(40);
    const byPartition = [0, 1, 2].flatMap((p) => events.filter((_, i) => i % 3 === p));
    const j = new RequestJoiner(5_000, [], { holdMs: 2_000 });
    const out: number[] = [];
    byPartition.forEach((e, i) => out.push(...j.push(e, 1_000 + i).map((x) => x.ts)));
    assert.equal(out.length, 0, 'nothing leaves before reorderMs (default holdMs) passed');
    assert.equal(j.size, 40);
    assert.equal(j.nextDeadline(), 3_000 + byPartition.findIndex((e) => e.ts === T), 'the earliest event time first');
    for (let now = 3_000; now <= 10_000; now += 500) out.push(...j.expire(now).map((x) => x.ts));
    out.push(...j.flush().map((x) => x.ts));
    assert.deepEqual(
      out,
      events.map((e) => e.ts),
      'released in event-time order, each once',
    );
    assert.equal(j.size, 0);
  });

  test('an event waits at most reorderMs in the buffer; later arrivals do not postpone it', () => {
    const j = new RequestJoiner(5_000, [], { holdMs: 1_000, reorderMs: 500 });
    const [a, b] = burst(2) as [ReturnType<typeof ev>, ReturnType<typeof ev>];
    j.push(b, 0);
    assert.equal(j.nextDeadline(), 500);
    j.push(a, 400);
    assert.equal(j.nextDeadline(), 900, 'the earlier event (arrived later) now leads: its own 500 ms');
    assert.equal(j.size, 2);
    // Both entered the join in event-time order; the lanes release them after holdMs of quiet log.
    const out = [...j.expire(900), ...j.expire(2_000)];
    assert.deepEqual(
      out.map((e) => e.requestId),
      ['rq-0', 'rq-1'],
    );
  });

  test('events in the reorder buffer are part of held() (saved state) and come back after a restart', () => {
    const j = new RequestJoiner(5_000, [], { holdMs: 1_000 });
    for (const e of burst(3).reverse()) j.push(e, 0);
    const saved = JSON.parse(JSON.stringify(j.held())) as ReturnType<RequestJoiner['held']>;
    assert.deepEqual(
      saved.map((e) => e.requestId),
      ['rq-0', 'rq-1', 'rq-2'],
    );
    const after = new RequestJoiner(5_000, saved, { holdMs: 1_000, now: 50_000 });
    assert.equal(after.size, 3);
    assert.deepEqual(
      after.flush().map((e) => e.requestId),
      ['rq-0', 'rq-1', 'rq-2'],
    );
  });

  test('a notification and its log line still merge when both wait in the reorder buffer', () => {
    const j = new RequestJoiner(5_000, [], { holdMs: 1_000 });
    const { n, l } = pair('rq-m', T);
    j.push(l, 0);
    j.push(n, 10);
    const out = [...j.expire(1_010), ...j.flush()];
    assert.equal(out.length, 1);
    assert.equal(out[0]!.identity, 'alice');
    assert.equal(out[0]!.bytes, 12_345);
    assert.equal(j.joined, 1);
  });

  test('maxHeld bounds the reorder buffer too', () => {
    const j = new RequestJoiner(5_000, [], { holdMs: 1_000, maxHeld: 10 });
    let released = 0;
    for (const e of burst(30)) released += j.push(e, 0).length;
    assert.ok(j.size <= 10, `held ${j.size}`);
    assert.equal(released + j.size, 30);
  });

  test('the partner of a held event merges at once, not after the buffer (restored notification, log line 40 ms later)', () => {
    // After a restart the held notification waits holdMs for its log line; had the log line
    // waited reorderMs in the buffer too, the notification would go alone at 50 ms and the log
    // line's bytes and status would be lost as a duplicate request.
    const { n, l } = pair('rq-r', T);
    const j = new RequestJoiner(5_000, [n], { holdMs: 50, reorderMs: 50, now: 0 });
    const out = j.push(l, 40);
    assert.equal(j.joined, 1, 'merged on arrival');
    out.push(...j.expire(60), ...j.expire(200), ...j.flush());
    assert.equal(out.length, 1);
    assert.equal(out[0]!.user, 'alice');
    assert.equal(out[0]!.bytes, 12_345);
  });
});
