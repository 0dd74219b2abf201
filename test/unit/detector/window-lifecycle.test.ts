import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import type { RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { buildFinding, findingId, type Detection } from '../../../services/detector/src/findings.ts';
import { activeRules, createEngine, parseDetectionConfig } from '../../../services/detector/src/config.ts';
import { analyzeInputs, newSummary } from '../../../services/detector/src/pipeline/analyze.ts';
import { DetectorEngine } from '../../../services/detector/src/engine.ts';
import { ev, engineWith, restart, rulesOf, type EvOpts } from './factory.ts';

/**
 * Lifecycle of sliding-window findings (auth.bruteforce_ip / _user, registry.enumeration,
 * access.denied_probing, delete.burst): evidence, escalation under the same id, resolution once
 * the burst is over (event time), restart safety and the end of a finite input.
 */

const T = Date.parse('2026-03-10T10:00:03Z');
const LATENESS = 120_000; // detector default allowedLatenessMs
const idOf = (d: Detection): string => findingId(d.rule, d.entity, d.windowStart);
const statusOf = (d: Detection): string => d.status ?? 'firing';

/** `n` events `stepMs` apart from `start`, built by `make(i, ts)`. */
function series(n: number, start: number, stepMs: number, make: (i: number, ts: number) => ReturnType<typeof ev>) {
  return Array.from({ length: n }, (_, i) => make(i, start + i * stepMs));
}

/** Processes events one by one, returning every detection (no flush). */
function feed(engine: DetectorEngine, evs: readonly ReturnType<typeof ev>[]): Detection[] {
  const out: Detection[] = [];
  for (const e of evs) out.push(...engine.process(e));
  return out;
}

/** An unrelated event (moves the watermark only). */
const tickEv = (ts: number) => ev(ts, 'manifest-pull', { user: 'bystander', repo: 'lib/x', ip: '10.9.9.9' });

describe('evidence', () => {
  test('auth.bruteforce_user lists the source IPs with their failure counts (top first)', () => {
    const ips = ['198.51.100.7', '198.51.100.7', '203.0.113.5', '198.51.100.7', '192.0.2.44'];
    const evs = series(20, T, 10_000, (i, ts) => ev(ts, 'login-failure', { ip: ips[i % 5]!, attemptedUser: 'admin' }));
    const e = engineWith();
    const fired = rulesOf(feed(e, evs), 'auth.bruteforce_user');
    assert.equal(fired.length, 1);
    // Fired at the 15th failure: 9 from .7, 3 each from the other two.
    assert.deepEqual(fired[0]!.evidence?.source_ips, [
      { ip: '198.51.100.7', count: 9 },
      { ip: '203.0.113.5', count: 3 },
      { ip: '192.0.2.44', count: 3 },
    ]);
    assert.deepEqual(fired[0]!.evidence?.extra?.['distinct'], ['198.51.100.7', '203.0.113.5', '192.0.2.44']);
    const [end] = rulesOf(e.flush(), 'auth.bruteforce_user');
    assert.equal(end?.status, 'resolved');
    assert.deepEqual(end?.evidence?.source_ips, [
      { ip: '198.51.100.7', count: 12 },
      { ip: '203.0.113.5', count: 4 },
      { ip: '192.0.2.44', count: 4 },
    ]);
    // The alerts service's `source_ip` label is the top evidence IP (services/alerts/src/labels.ts).
    const f = findingSchema.parse(buildFinding(end!, { detectedAt: T }));
    assert.equal(f.evidence.source_ips[0]?.ip, '198.51.100.7');
  });

  test('repository rules list repositories with counts; an IP-keyed rule counts the whole burst', () => {
    const e = engineWith();
    const dels = series(25, T, 2_000, (i, ts) =>
      ev(ts, 'manifest-delete', { user: 'mallory', repo: i < 15 ? 'ns/a' : 'ns/b' }),
    );
    const [d] = rulesOf(feed(e, dels), 'delete.burst');
    assert.deepEqual(d?.evidence?.repositories, [
      { name: 'ns/a', count: 15 },
      { name: 'ns/b', count: 5 },
    ]);
    const logins = series(30, T, 1_000, (i, ts) => ev(ts, 'login-failure', { ip: '203.0.113.9', attemptedUser: 'x' }));
    feed(e, logins);
    const ended = rulesOf(e.flush(), 'auth.bruteforce_ip');
    assert.deepEqual(ended[0]?.evidence?.source_ips, [{ ip: '203.0.113.9', count: 30 }]);
  });
});

describe('escalation: same id, once per severity level', () => {
  const cases: {
    name: string;
    rule: string;
    events: () => ReturnType<typeof ev>[];
    /** [severity, observed count] of each firing emission. */
    firing: [string, number][];
    total: number;
  }[] = [
    {
      name: '200 failed logins from one IP in 6.6 minutes: medium at 20, high at 100 in 5 minutes',
      rule: 'auth.bruteforce_ip',
      events: () =>
        series(200, T, 2_000, (i, ts) => ev(ts, 'login-failure', { ip: '203.0.113.77', attemptedUser: `u${i % 3}` })),
      firing: [
        ['medium', 20],
        ['high', 100],
      ],
      total: 200,
    },
    {
      name: 'one account from a growing set of IPs: medium at 15, high at the 5th IP',
      rule: 'auth.bruteforce_user',
      events: () =>
        series(30, T, 5_000, (i, ts) =>
          ev(ts, 'login-failure', {
            ip: i < 20 ? `198.51.100.${i % 2}` : `198.51.100.${i - 17}`,
            attemptedUser: 'root',
          }),
        ),
      firing: [
        ['medium', 15],
        ['high', 23],
      ],
      total: 30,
    },
    {
      name: 'tags-list walk: medium at 30, high at 150',
      rule: 'registry.enumeration',
      events: () => series(160, T, 2_000, (i, ts) => ev(ts, 'tags-list', { user: 'mallory', repo: `ns/r${i % 40}` })),
      firing: [
        ['medium', 30],
        ['high', 150],
      ],
      total: 160,
    },
    {
      name: 'deletions: high at 20, critical at 100',
      rule: 'delete.burst',
      events: () => series(120, T, 3_000, (i, ts) => ev(ts, 'manifest-delete', { user: 'm', repo: `ns/r${i % 7}` })),
      firing: [
        ['high', 20],
        ['critical', 100],
      ],
      total: 120,
    },
    {
      name: '403s over a growing set of repositories: medium at 10, high at 20 repositories',
      rule: 'access.denied_probing',
      events: () => series(30, T, 3_000, (i, ts) => ev(ts, 'access-denied', { user: 'probe', repo: `ns/r${i}` })),
      firing: [
        ['medium', 10],
        ['high', 20],
      ],
      total: 30,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const evs = c.events();
      const e = engineWith();
      const live = rulesOf(feed(e, evs), c.rule);
      assert.deepEqual(
        live.map((d) => [d.severity, d.observed.value]),
        c.firing,
      );
      assert.ok(live.every((d) => statusOf(d) === 'firing'));
      assert.equal(new Set(live.map(idOf)).size, 1, 'one finding id for the burst');
      // window.end is the newest event at each emission; the start never moves.
      for (const d of live) {
        assert.equal(d.windowStart, Math.floor(evs[0]!.ts / 1000) * 1000);
        assert.equal(d.windowEnd, evs[d.observed.value - 1]!.ts);
      }
      const end = rulesOf(e.flush(), c.rule);
      assert.equal(end.length, 1);
      assert.equal(end[0]!.status, 'resolved');
      assert.equal(idOf(end[0]!), idOf(live[0]!));
      assert.equal(end[0]!.severity, c.firing[c.firing.length - 1]![0]);
      assert.equal(end[0]!.observed.value, c.total);
      assert.equal(end[0]!.windowEnd, evs[evs.length - 1]!.ts);
    });
  }

  test('the finding message carries the current numbers', () => {
    const e = engineWith();
    const evs = series(200, T, 2_000, (i, ts) => ev(ts, 'login-failure', { ip: '203.0.113.77', attemptedUser: 'a' }));
    const ds = rulesOf(feed(e, evs), 'auth.bruteforce_ip');
    assert.equal(
      ds[1]!.message,
      '100 failed logins from 203.0.113.77 against 1 user name(s) within 5 minutes, 10:00:03–10:03:21 UTC on 2026-03-10 (alert at 20; typical 0).',
    );
    const [end] = rulesOf(e.flush(), 'auth.bruteforce_ip');
    assert.equal(
      end!.message,
      'Ended: 200 failed logins from 203.0.113.77 against 1 user name(s) between 10:00:03 and 10:06:41 UTC on 2026-03-10 (up to 150 within 5 minutes; alert at 20; typical 0); no more for 5 minutes.',
    );
  });
});

describe('resolution in event time', () => {
  // 25 failures in 2 minutes from one IP; the window is 5 minutes, the allowed lateness 2.
  const burst = () =>
    series(25, T, 5_000, (i, ts) => ev(ts, 'login-failure', { ip: '203.0.113.9', attemptedUser: 'u' }));
  const last = T + 24 * 5_000;
  const due = last + 300_000 + LATENESS; // watermark (newest − lateness) reaches last + window
  const cases: { name: string; move: (e: DetectorEngine, ts: number) => Detection[] }[] = [
    { name: 'by an unrelated event (analyze, live)', move: (e, ts) => e.process(tickEv(ts)).slice() },
    { name: 'by advance() (live: end of a batch, idle timer)', move: (e, ts) => e.advance(ts) },
  ];
  for (const c of cases) {
    test(`resolves once the watermark passes the quiet period, ${c.name}`, () => {
      const e = engineWith();
      const fired = rulesOf(feed(e, burst()), 'auth.bruteforce_ip');
      assert.equal(fired.length, 1);
      assert.deepEqual(rulesOf(c.move(e, due - 1_000), 'auth.bruteforce_ip'), [], 'not yet: one second short');
      const [r, ...more] = rulesOf(c.move(e, due + 1_000), 'auth.bruteforce_ip');
      assert.equal(more.length, 0);
      assert.equal(r?.status, 'resolved');
      assert.equal(idOf(r!), idOf(fired[0]!));
      assert.equal(r?.observed.value, 25);
      assert.equal(r?.windowEnd, last);
      assert.match(r!.message, /^Ended: 25 failed logins from 203\.0\.113\.9 .* no more for 5 minutes\.$/);
      assert.deepEqual(rulesOf(c.move(e, due + 3_600_000), 'auth.bruteforce_ip'), [], 'resolved only once');
      assert.deepEqual(rulesOf(e.flush(), 'auth.bruteforce_ip'), [], 'nothing left for the flush');
    });
  }

  test('no resolution while the burst goes on (30 minutes, one failure every 10 s)', () => {
    const e = engineWith();
    const evs = series(180, T, 10_000, (_, ts) => ev(ts, 'login-failure', { ip: '203.0.113.9', attemptedUser: 'u' }));
    const ds = rulesOf(feed(e, evs), 'auth.bruteforce_ip');
    assert.deepEqual(
      ds.map((d) => [statusOf(d), d.severity]),
      [['firing', 'medium']],
    );
    const stop = evs[evs.length - 1]!.ts;
    const [r] = rulesOf(e.advance(stop + 300_000 + LATENESS), 'auth.bruteforce_ip');
    assert.equal(r?.status, 'resolved');
    assert.equal(r?.observed.value, 180);
  });

  test('the key’s next burst resolves the last one first, then fires under a new id', () => {
    const e = engineWith({ settings: { allowedLatenessMs: 3_600_000 } });
    const first = rulesOf(feed(e, burst()), 'auth.bruteforce_ip');
    const later = series(25, last + 400_000, 5_000, (_, ts) =>
      ev(ts, 'login-failure', { ip: '203.0.113.9', attemptedUser: 'u' }),
    );
    const ds = rulesOf(feed(e, later), 'auth.bruteforce_ip');
    assert.deepEqual(
      ds.map((d) => statusOf(d)),
      ['resolved', 'firing'],
    );
    assert.equal(idOf(ds[0]!), idOf(first[0]!));
    assert.notEqual(idOf(ds[1]!), idOf(first[0]!));
    assert.equal(ds[0]!.observed.value, 25);
  });

  test('a burst that never reached the threshold resolves nothing', () => {
    const e = engineWith();
    feed(
      e,
      series(10, T, 5_000, (_, ts) => ev(ts, 'login-failure', { ip: '203.0.113.9' })),
    );
    assert.deepEqual(rulesOf(e.advance(T + 3_600_000), 'auth.bruteforce_ip'), []);
    assert.deepEqual(rulesOf(e.flush(), 'auth.bruteforce_ip'), []);
  });
});

describe('restart between firing and resolution', () => {
  const opts: EvOpts = { ip: '203.0.113.9', attemptedUser: 'u' };
  const evs = series(25, T, 5_000, (i, ts) => ev(ts, 'login-failure', { ...opts, id: `bf-${i}` }));
  const due = T + 24 * 5_000 + 300_000 + LATENESS;
  const cases: {
    name: string;
    run: () => Detection[];
  }[] = [
    {
      name: 'snapshot after firing, restore, then the watermark passes: one resolution',
      run: () => {
        const e1 = engineWith();
        const out = feed(e1, evs);
        const e2 = restart(e1);
        out.push(...e2.advance(due + 1_000), ...e2.advance(due + 60_000), ...e2.flush());
        return out;
      },
    },
    {
      name: 'restart that redelivers the burst (C24): counted once, resolved once',
      run: () => {
        const e1 = engineWith();
        const out = feed(e1, evs);
        const e2 = restart(e1);
        out.push(...feed(e2, evs));
        assert.equal(e2.stats.duplicates, evs.length);
        out.push(...e2.advance(due + 1_000), ...e2.flush());
        return out;
      },
    },
    {
      name: 'snapshot after the resolution, restore: not resolved again',
      run: () => {
        const e1 = engineWith();
        const out = feed(e1, evs);
        out.push(...e1.advance(due + 1_000));
        const e2 = restart(e1);
        out.push(...e2.advance(due + 60_000), ...e2.flush());
        return out;
      },
    },
    {
      name: 'two restarts in between, the second one mid-flush: one resolution',
      run: () => {
        const e1 = engineWith();
        const out = feed(e1, evs.slice(0, 22));
        const e2 = restart(e1);
        out.push(...feed(e2, evs.slice(20)));
        const e3 = restart(e2);
        out.push(...e3.flush());
        return out;
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ds = rulesOf(c.run(), 'auth.bruteforce_ip');
      assert.deepEqual(
        ds.map((d) => [statusOf(d), d.observed.value]),
        [
          ['firing', 20],
          ['resolved', 25],
        ],
      );
      assert.equal(idOf(ds[0]!), idOf(ds[1]!));
    });
  }
});

describe('regwatch analyze over a file', () => {
  /** A normalized RegistryEvent line (analyze accepts them as input). */
  const line = (ts: number, i: number): string => {
    const e: RegistryEvent = {
      '@timestamp': new Date(ts).toISOString(),
      event: {
        kind: 'event',
        category: ['authentication'],
        type: ['start'],
        action: 'login-failure',
        outcome: 'failure',
        id: `lf-${i}`,
        dataset: 'oci_registry.log',
      },
      source: { ip: '203.0.113.77' },
      user_agent: { original: 'docker/27.0.3' },
      http: { request: { method: 'GET' }, response: { status_code: 401 } },
      oci_registry: {
        image_pull: false,
        actor: { kind: 'anonymous', anonymous: true },
        source_format: 'test',
        attempted_user: `admin${i % 4}`,
      },
    };
    return JSON.stringify(e);
  };

  test('a burst still open at the end of the input resolves at the flush; one that ended mid-file resolves in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regwatch-window-'));
    try {
      const lines = [
        ...Array.from({ length: 60 }, (_, i) => line(T + i * 3_000, i)),
        // A second burst 30 minutes later, the input ends during it.
        ...Array.from({ length: 40 }, (_, i) => line(T + 1_800_000 + i * 2_000, 100 + i)),
      ];
      const file = join(dir, 'logins.ndjson');
      writeFileSync(file, lines.join('\n') + '\n');
      const summary = newSummary();
      const out: Finding[] = [];
      for await (const f of analyzeInputs(
        [{ name: file, stream: createReadStream(file) }],
        createEngine(parseDetectionConfig({})),
        summary,
      ))
        out.push(findingSchema.parse(f));
      const mine = out.filter((f) => f.rule === 'auth.bruteforce_ip');
      assert.deepEqual(
        mine.map((f) => [f.status, f.observed.value, f.window.end]),
        [
          ['firing', 20, new Date(T + 19 * 3_000).toISOString()],
          // The first burst ends before the second begins (the second one's events move the watermark).
          ['resolved', 60, new Date(T + 59 * 3_000).toISOString()],
          ['firing', 20, new Date(T + 1_800_000 + 19 * 2_000).toISOString()],
          // End of input: the open burst resolves at the flush, with its final count.
          ['resolved', 40, new Date(T + 1_800_000 + 39 * 2_000).toISOString()],
        ],
      );
      assert.equal(mine[0]!.id, mine[1]!.id);
      assert.equal(mine[2]!.id, mine[3]!.id);
      assert.notEqual(mine[0]!.id, mine[2]!.id);
      const bySeverity = [...(summary.byRule.get('auth.bruteforce_ip') ?? new Map<string, number>()).entries()];
      assert.deepEqual(bySeverity, [['medium', 2]], 'two unique finding ids, counted once each');
      // The first resolution is stamped with the watermark that saw it (event time), not the end.
      assert.ok(Date.parse(mine[1]!.detected_at) < T + 1_800_000 + 60_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('snapshots from before burst tracking', () => {
  test('a window without total/peak/level (older snapshot) keeps counting; its old burst neither re-fires nor resolves', () => {
    const mk = (n: number, start: number, tag: string) =>
      series(n, start, 5_000, (i, ts) =>
        ev(ts, 'login-failure', { ip: '203.0.113.9', attemptedUser: 'u', id: `${tag}${i}` }),
      );
    const e1 = engineWith();
    assert.equal(rulesOf(feed(e1, mk(22, T, 'a')), 'auth.bruteforce_ip').length, 1);
    const snap = JSON.parse(JSON.stringify(e1.snapshot())) as ReturnType<DetectorEngine['snapshot']>;
    // As the previous version wrote it: no burst fields, no open list.
    snap.keyed = snap.keyed.filter(([k]) => !k.endsWith('\u0000\u0000open'));
    for (const [, entry] of snap.keyed) {
      const w = entry.v as Record<string, unknown>;
      if (!('slotMs' in w)) continue;
      for (const f of ['distinctCounts', 'total', 'peak', 'idStart', 'level', 'closed', 'lastIp', 'lastUserAgent'])
        delete w[f];
    }
    const cfg = parseDetectionConfig({});
    const e2 = DetectorEngine.fromSnapshot(snap, e1.settings, activeRules(cfg));
    const more = rulesOf(feed(e2, mk(10, T + 22 * 5_000, 'b')), 'auth.bruteforce_ip');
    assert.deepEqual(more, [], 'same burst: no second firing');
    assert.deepEqual(rulesOf(e2.advance(T + 3_600_000), 'auth.bruteforce_ip'), []);
    // The next burst is tracked in full.
    const next = rulesOf([...feed(e2, mk(25, T + 7_200_000, 'c')), ...e2.flush()], 'auth.bruteforce_ip');
    assert.deepEqual(
      next.map((d) => [statusOf(d), d.observed.value]),
      [
        ['firing', 20],
        ['resolved', 25],
      ],
    );
  });
});
